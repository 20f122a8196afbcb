import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DecodeError, type DecodeFailure } from '../../../src/core/errors.js';
import { hexPreview, rejectionFrom } from '../../../src/core/rejection.js';
import { validateTrigger, type TriggerLimits } from '../../../src/operators/decode-trigger.js';
import { encodeTriggerMessage } from '../../../src/protocol/trigger-message-codec.js';
import type { TriggerMessage } from '../../../src/protocol/messages.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const NOW = 1_546_300_800_000;
const DAY = 24 * 3600 * 1000;
const limits: TriggerLimits = { maxFrameBytes: 4096, maxClockSkewMs: 7 * DAY, nowMs: NOW };
const good: TriggerMessage = { id: 1003, time: NOW - 250, frequency: 60, rms: 120, thd: 0.25, flags: 1 };
const framesOf = (m: TriggerMessage, id = String(m.id)): Uint8Array[] => [ascii(id), encodeTriggerMessage(m)];

function refusedFor(result: TriggerMessage | DecodeError, reason: DecodeFailure, field?: string): void {
  assert.ok(result instanceof DecodeError, `accepted ${JSON.stringify(result)}`);
  assert.equal(result.reason, reason, result.message);
  if (field !== undefined) assert.equal(result.field, field);
}

describe('validateTrigger', () => {
  it('should return a valid message unchanged', () => {
    assert.deepStrictEqual(validateTrigger(framesOf(good), limits), good);
    // A Node Buffer (what zeromq delivers) works the same.
    assert.deepStrictEqual(validateTrigger(framesOf(good).map((f) => Buffer.from(f)), limits), good);
  });

  it('should refuse anything but exactly two frames', () => {
    const [id, body] = framesOf(good) as [Uint8Array, Uint8Array];
    refusedFor(validateTrigger([], limits), 'frame-count');
    refusedFor(validateTrigger([body], limits), 'frame-count');
    refusedFor(validateTrigger([id, body, new Uint8Array(0)], limits), 'frame-count');
  });

  it('should refuse a frame above maxFrameBytes before decoding it', () => {
    const small = { ...limits, maxFrameBytes: 8 };
    refusedFor(validateTrigger(framesOf(good), small), 'frame-too-large');
    refusedFor(validateTrigger([ascii('1'.repeat(9)), new Uint8Array(1)], small), 'frame-too-large');
    const exact = encodeTriggerMessage(good);
    assert.deepStrictEqual(validateTrigger(framesOf(good), { ...limits, maxFrameBytes: exact.length }), good);
  });

  it('should pass the codec reason through', () => {
    refusedFor(validateTrigger([ascii('1003'), Uint8Array.of(0x08)], limits), 'truncated', 'id');
    refusedFor(validateTrigger([ascii('1003'), Uint8Array.of(0x08, 0x01)], limits), 'missing-field', 'time');
  });

  it('should refuse a box id frame that is not the decimal id of the message', () => {
    for (const id of ['1004', '01003', '1003 ', '', '+1003', '1003\0']) {
      refusedFor(validateTrigger(framesOf(good, id), limits), 'box-id-mismatch', 'id');
    }
  });

  it('should accept a box id frame exactly when it is the decimal id, for any valid box id', () => {
    const idAndFrame = fc.integer({ min: 0, max: 2 ** 31 - 1 }).chain((id) =>
      fc.tuple(
        fc.constant(id),
        fc.oneof(
          fc.constant(String(id)),
          fc.constant(`0${id}`),
          fc.constant(String(id + 1)),
          fc.constant(String(id).slice(1)),
          fc.constant(String(-id)),
          fc.stringMatching(/^-?[0-9]{0,11}$/),
        ),
      ),
    );
    fc.assert(
      fc.property(idAndFrame, ([id, text]) => {
        const result = validateTrigger(framesOf({ ...good, id }, text), limits);
        assert.equal(!(result instanceof DecodeError), text === String(id), `id ${id}, frame "${text}"`);
      }),
    );
  });

  it('should refuse NaN, infinite or negative rms and frequency, and NaN, infinite or negative thd', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1]) {
      refusedFor(validateTrigger(framesOf({ ...good, rms: bad }), limits), 'out-of-range', 'rms');
      refusedFor(validateTrigger(framesOf({ ...good, frequency: bad }), limits), 'out-of-range', 'frequency');
      refusedFor(validateTrigger(framesOf({ ...good, thd: bad }), limits), 'out-of-range', 'thd');
    }
    // Zero volts is a real reading (an interruption), and thd may be absent.
    const { thd: _thd, ...noThd } = good;
    assert.deepStrictEqual(validateTrigger(framesOf({ ...noThd, rms: 0 }), limits), { ...noThd, rms: 0 });
  });

  it('should refuse negative box ids and ids above 2^31 - 1 as invalid-box-id, whatever frame 0 says', () => {
    refusedFor(validateTrigger(framesOf({ ...good, id: -5 }), limits), 'invalid-box-id', 'id');
    refusedFor(validateTrigger(framesOf({ ...good, id: -(2 ** 31) }), limits), 'invalid-box-id', 'id');
    refusedFor(validateTrigger(framesOf({ ...good, id: -5 }, '1003'), limits), 'invalid-box-id', 'id');
    const refusal = validateTrigger(framesOf({ ...good, id: -5 }), limits) as DecodeError;
    assert.match(refusal.message, /box id -5 is not a whole number from 0 to 2147483647/);
    for (const id of [0, 1, 2 ** 31 - 1]) assert.equal((validateTrigger(framesOf({ ...good, id }), limits) as TriggerMessage).id, id);
  });

  it('should refuse finite values outside the plausibility bounds as implausible, naming field and value', () => {
    const cases: Array<[Partial<TriggerMessage>, string]> = [
      [{ frequency: 1e30 }, 'frequency'],
      [{ frequency: 0 }, 'frequency'],
      [{ frequency: 39.99 }, 'frequency'],
      [{ frequency: 70.01 }, 'frequency'],
      [{ rms: 1000.5 }, 'rms'],
      [{ rms: 3e9 }, 'rms'],
      [{ thd: 3 }, 'thd'],
    ];
    for (const [change, field] of cases) {
      const result = validateTrigger(framesOf({ ...good, ...change }), limits);
      refusedFor(result, 'implausible', field);
      assert.ok((result as DecodeError).message.includes(`TriggerMessage.${field}: ${Math.fround(change[field as keyof TriggerMessage] as number)}`), (result as DecodeError).message);
    }
    // Both grids and the edges of the default ranges pass.
    for (const change of [{ frequency: 50 }, { frequency: 60 }, { frequency: 40 }, { frequency: 70 }, { rms: 230 }, { rms: 1000 }, { thd: 1 }, { thd: 0 }]) {
      assert.ok(!(validateTrigger(framesOf({ ...good, ...change }), limits) instanceof DecodeError), JSON.stringify(change));
    }
    // Bounds given by the topology replace the defaults.
    const narrow = { ...limits, plausibility: { frequencyHz: [59, 61], rmsVolts: [100, 140], thdRatio: [0, 0.5] } as const };
    refusedFor(validateTrigger(framesOf({ ...good, frequency: 50 }), narrow), 'implausible', 'frequency');
    refusedFor(validateTrigger(framesOf({ ...good, rms: 230 }), narrow), 'implausible', 'rms');
    assert.deepStrictEqual(validateTrigger(framesOf(good), narrow), good);
  });

  it('should refuse box times further than maxClockSkewMs from now, either way', () => {
    refusedFor(validateTrigger(framesOf({ ...good, time: NOW + 7 * DAY + 1 }), limits), 'out-of-range', 'time');
    refusedFor(validateTrigger(framesOf({ ...good, time: NOW - 7 * DAY - 1 }), limits), 'out-of-range', 'time');
    assert.equal((validateTrigger(framesOf({ ...good, time: NOW - 7 * DAY }), limits) as TriggerMessage).time, NOW - 7 * DAY);
    assert.equal((validateTrigger(framesOf({ ...good, time: 0 }), { ...limits, maxClockSkewMs: Infinity }) as TriggerMessage).time, 0);
  });

  it('should never throw, whatever the frames', () => {
    const frames = fc.array(fc.uint8Array({ maxLength: 48 }), { maxLength: 3 });
    fc.assert(
      fc.property(frames, (f) => {
        const result = validateTrigger(f, limits);
        assert.ok(result instanceof DecodeError || typeof result.id === 'number');
      }),
      { numRuns: 500 },
    );
  });
});

describe('rejectionFrom', () => {
  it('should carry source, reason, detail, a bounded hex preview and the time', () => {
    const error = new DecodeError('truncated', 'TriggerMessage', 'message ends inside a field', 'rms');
    const frame = Uint8Array.from({ length: 40 }, (_, i) => i);
    assert.deepStrictEqual(rejectionFrom('trigger', error, frame, 42), {
      source: 'trigger',
      reason: 'truncated',
      detail: 'TriggerMessage.rms: message ends inside a field',
      preview: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
      atMs: 42,
    });
    assert.equal(rejectionFrom('trigger', error, undefined, 0).preview, '');
    assert.equal(hexPreview(Uint8Array.of(0xab, 0x01), 1), 'ab');
  });
});
