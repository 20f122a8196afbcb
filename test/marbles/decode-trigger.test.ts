import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map, Subject } from 'rxjs';
import type { Rejection } from '../../src/core/rejection.js';
import { decodeTrigger } from '../../src/operators/decode-trigger.js';
import { encodeTriggerMessage } from '../../src/protocol/trigger-message-codec.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { createTestScheduler } from '../helpers/test-scheduler.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const framesOf = (m: TriggerMessage): readonly Uint8Array[] => [ascii(String(m.id)), encodeTriggerMessage(m)];

// Box times are near the virtual clock (which starts at 0), within the default 7-day skew.
const messages: Record<string, TriggerMessage> = {
  a: { id: 1001, time: 1000, frequency: 60, rms: 120, thd: 0.5 },
  b: { id: 1002, time: 1017, frequency: 59.5, rms: 119.5 },
  c: { id: 1001, time: 1034, frequency: 60.25, rms: 121 },
  d: { id: 1002, time: 1051, frequency: 60, rms: 118 },
};
const valid: Record<string, readonly Uint8Array[]> = Object.fromEntries(
  Object.entries(messages).map(([key, m]) => [key, framesOf(m)]),
);

// Garbage, each refused for one reason; `preview` is the hex of the frame that was refused.
const TRUNCATED = Uint8Array.of(0x08, 0xe9); // id varint cut after its first byte
const garbage: Record<string, readonly Uint8Array[]> = {
  t: [ascii('1001'), TRUNCATED],
  n: [ascii('1001')], // one frame only
  x: [...framesOf(messages.a!), ascii('extra')], // three frames
  m: [ascii('1002'), encodeTriggerMessage(messages.a!)], // topic of another box
  r: framesOf({ ...messages.a!, rms: Number.NaN }),
  l: [ascii('1001'), new Uint8Array(5000)],
};
type Seen = Pick<Rejection, 'source' | 'reason' | 'preview' | 'atMs'>;
const seen = (rejection: Rejection): Seen => ({
  source: rejection.source,
  reason: rejection.reason,
  preview: rejection.preview,
  atMs: rejection.atMs,
});
const hex = (bytes: Uint8Array): string => Buffer.from(bytes.subarray(0, 32)).toString('hex');

describe('decodeTrigger', () => {
  it('should decode valid frames to TriggerMessages unchanged', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const rejected = new Subject<Rejection>();
      const source = hot('   -a-b--c-d-|', valid);
      const sourceSubs = '   ^---------!';
      const expected = '     -a-b--c-d-|';
      expectObservable(source.pipe(decodeTrigger({ rejected, scheduler: ts }))).toBe(expected, messages);
      expectObservable(rejected).toBe('-');
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should send interleaved garbage to rejected, in order and with its reason, without disturbing valid traffic', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const rejected = new Subject<Rejection>();
      const source = hot('   -a-t-n-b-x-m-c-r-l-d-|', { ...valid, ...garbage });
      const sourceSubs = '   ^--------------------!';
      const expected = '     -a-----b-----c-----d-|';
      const refused = '      ---t-n---x-m---r-l----';
      const rejections: Record<string, Seen> = {
        t: { source: 'box-stream', reason: 'truncated', preview: '08e9', atMs: 3 },
        n: { source: 'box-stream', reason: 'frame-count', preview: hex(ascii('1001')), atMs: 5 },
        x: { source: 'box-stream', reason: 'frame-count', preview: hex(ascii('1001')), atMs: 9 },
        m: { source: 'box-stream', reason: 'box-id-mismatch', preview: hex(ascii('1002')), atMs: 11 },
        r: { source: 'box-stream', reason: 'out-of-range', preview: hex(garbage.r![1]!), atMs: 15 },
        l: { source: 'box-stream', reason: 'frame-too-large', preview: '00'.repeat(32), atMs: 17 },
      };
      const output = source.pipe(decodeTrigger({ rejected, scheduler: ts, source: 'box-stream' }));
      expectObservable(output).toBe(expected, messages);
      expectObservable(rejected.pipe(map(seen))).toBe(refused, rejections);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should refuse implausible readings and invalid box ids without disturbing the valid traffic around them', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const rejected = new Subject<Rejection>();
      const suspicious = {
        f: framesOf({ ...messages.a!, frequency: 1e30 }),
        v: framesOf({ ...messages.b!, rms: 5000 }),
        n: framesOf({ ...messages.a!, id: -5 }),
        h: framesOf({ ...messages.a!, thd: 3 }),
      };
      const source = hot('   -a-f-b-v-n-c-h-d-|', { ...valid, ...suspicious });
      const sourceSubs = '   ^----------------!';
      const expected = '     -a---b-----c---d-|';
      const refused = '      ---f---v-n---h----';
      const reasons = { f: 'implausible:frequency', v: 'implausible:rms', n: 'invalid-box-id', h: 'implausible:thd' };
      const described = (r: Rejection) => (r.reason === 'implausible' ? `${r.reason}:${/TriggerMessage\.(\w+)/.exec(r.detail)?.[1]}` : r.reason);
      expectObservable(source.pipe(decodeTrigger({ rejected, scheduler: ts }))).toBe(expected, messages);
      expectObservable(rejected.pipe(map(described))).toBe(refused, reasons);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should take plausibility bounds from its options', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable }) => {
      // A 50 Hz-only deployment narrows the frequency range: 60 Hz is then refused.
      const rejected = new Subject<Rejection>();
      const fifty = { ...messages.a!, frequency: 50 };
      const source = hot('   -a-e-|', { a: valid.a!, e: framesOf(fifty) });
      const output = source.pipe(decodeTrigger({ rejected, scheduler: ts, plausibility: { frequencyHz: [45, 55] } }));
      expectObservable(output).toBe('---e-|', { e: fifty });
      expectObservable(rejected.pipe(map((r) => r.detail))).toBe('-r---', { r: 'TriggerMessage.frequency: 60 Hz is outside the plausible range [45, 55]' });
    });
  });

  it('should compare box time with the injected scheduler clock', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable }) => {
      const eightDays = 8 * 24 * 3600 * 1000;
      const far = { ...messages.a!, time: eightDays };
      const frames = { f: framesOf(far) };
      const rejected = new Subject<Rejection>();
      const source = hot('   -f-|', frames);
      expectObservable(source.pipe(decodeTrigger({ rejected, scheduler: ts }))).toBe('---|');
      expectObservable(rejected.pipe(map((r) => r.reason))).toBe('-o-', { o: 'out-of-range' });
      expectObservable(source.pipe(decodeTrigger({ rejected: new Subject(), scheduler: ts, maxClockSkewMs: Infinity }))).toBe('-f-|', { f: far });
    });
  });

  it('should forward a source error', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('   -a-t-#', { ...valid, ...garbage }, new Error('socket closed'));
      const sourceSubs = '   ^----!';
      const expected = '     -a---#';
      expectObservable(source.pipe(decodeTrigger({ rejected: new Subject(), scheduler: ts }))).toBe(expected, messages, new Error('socket closed'));
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should error with the exception of a throwing rejected observer and unsubscribe the source', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const boom = new Error('dead-letter sink broke');
      const rejected = { next: (): void => { throw boom; } };
      const source = hot('   -a-t-b-|', { ...valid, ...garbage });
      const sourceSubs = '   ^--!';
      const expected = '     -a-#';
      expectObservable(source.pipe(decodeTrigger({ rejected, scheduler: ts }))).toBe(expected, messages, boom);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should complete at once on an empty source and stay silent on a never source', () => {
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold<readonly Uint8Array[]>('|');
      const never = cold<readonly Uint8Array[]>('-');
      expectObservable(empty.pipe(decodeTrigger({ rejected: new Subject(), scheduler: ts }))).toBe('|');
      expectObservable(never.pipe(decodeTrigger({ rejected: new Subject(), scheduler: ts }))).toBe('-');
      expectSubscriptions(empty.subscriptions).toBe('(^!)');
      expectSubscriptions(never.subscriptions).toBe('^');
    });
  });

  it('should stop on early unsubscribe and unsubscribe the source', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const rejected = new Subject<Rejection>();
      const source = hot('   -a-t-b-c-d-|', { ...valid, ...garbage });
      const unsub = '        ^------!';
      const sourceSubs = '   ^------!';
      const expected = '     -a---b--';
      expectObservable(source.pipe(decodeTrigger({ rejected, scheduler: ts })), unsub).toBe(expected, messages);
      expectObservable(rejected.pipe(map((r) => r.reason))).toBe('---t---', { t: 'truncated' });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should keep no state between subscriptions', () => {
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable }) => {
      const operator = decodeTrigger({ rejected: new Subject(), scheduler: ts });
      const source = cold('  -a-t-b|', { ...valid, ...garbage });
      expectObservable(source.pipe(operator)).toBe('-a---b|', messages);
      expectObservable(source.pipe(operator)).toBe('-a---b|', messages);
    });
  });

  it('should refuse bad options when the operator is built', () => {
    const rejected = new Subject<Rejection>();
    assert.throws(() => decodeTrigger({ rejected, maxFrameBytes: 0 }), /maxFrameBytes/);
    assert.throws(() => decodeTrigger({ rejected, maxFrameBytes: 1.5 }), /maxFrameBytes/);
    assert.throws(() => decodeTrigger({ rejected, maxClockSkewMs: Number.NaN }), /maxClockSkewMs/);
    assert.throws(() => decodeTrigger({ rejected, source: '' }), /source/);
    assert.throws(() => decodeTrigger({ rejected, plausibility: { frequencyHz: [70, 40] } }), /plausibility\.frequencyHz/);
    assert.throws(() => decodeTrigger({ rejected, plausibility: { rmsVolts: [0, Number.NaN] } }), /plausibility\.rmsVolts/);
    assert.throws(() => decodeTrigger({ rejected, plausibility: { thdRatio: [0] as unknown as [number, number] } }), /plausibility\.thdRatio/);
    assert.throws(() => decodeTrigger({ rejected, plausibility: { voltage: [0, 1] } as never }), /plausibility\.voltage/);
  });
});
