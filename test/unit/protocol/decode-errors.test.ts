/**
 * How the codec refuses bad bytes (always a DecodeError with a stable reason, message and field)
 * and bad values to encode (always an EncodeError). Inputs are assembled field by field with
 * protobufjs's Writer or as literal bytes, independently of our encoder.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs/minimal.js';
import { DecodeError, EncodeError, StreamError, type DecodeFailure } from '../../../src/core/errors.js';
import {
  decodeCycle,
  decodeDataMessage,
  decodeRequestDataMessage,
  decodeRequestEventMessage,
  decodeTriggerMessage,
  encodeCycle,
  encodeDataMessage,
  encodeRequestDataMessage,
  encodeRequestEventMessage,
  encodeTriggerMessage,
} from '../../../src/protocol/codec.js';
import type { Cycle, RequestEventMessage, TriggerMessage } from '../../../src/protocol/messages.js';

type Field = readonly [name: string, chunk: Uint8Array];
const w = (): protobuf.Writer => new protobuf.Writer();
const concat = (...parts: readonly Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => Array.from(p)));
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** Asserts that `fn` throws a DecodeError with exactly this reason, message type and field. */
function refuses(fn: () => unknown, reason: DecodeFailure, messageType: string, field: string | undefined): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DecodeError, `expected DecodeError, got ${String(error)}`);
    assert.equal(error.reason, reason, error.message);
    assert.equal(error.messageType, messageType);
    assert.equal(error.field, field);
    return true;
  });
}

const triggerFields: readonly Field[] = [
  ['id', w().uint32(0x08).int32(1003).finish()],
  ['time', w().uint32(0x10).uint64(1000).finish()],
  ['frequency', w().uint32(0x1d).float(60).finish()],
  ['rms', w().uint32(0x25).float(120).finish()],
  ['thd', w().uint32(0x2d).float(0.5).finish()],
];
const requestDataFields: readonly Field[] = [
  ['type', w().uint32(0x08).int32(1).finish()],
  ['sequence_number', w().uint32(0x10).uint32(7).finish()],
  ['boxId', w().uint32(0x18).uint32(1003).finish()],
];
const requestEventFields: readonly Field[] = [
  ['start_timestamp_ms_utc', w().uint32(0x08).uint64(1).finish()],
  ['end_timestamp_ms_utc', w().uint32(0x10).uint64(2).finish()],
  ['trigger_type', w().uint32(0x18).int32(3).finish()],
  ['percent_magnitude', w().uint32(0x21).double(1.5).finish()],
  ['box_ids', w().uint32(0x28).int32(1).finish()],
  ['requestee', w().uint32(0x32).string('m').finish()],
  ['description', w().uint32(0x3a).string('d').finish()],
  ['request_data', w().uint32(0x40).bool(true).finish()],
];
const optional = new Set(['thd', 'boxId', 'box_ids']);

describe('codec: refusing bad bytes', () => {
  const cases = [
    ['TriggerMessage', triggerFields, decodeTriggerMessage],
    ['RequestDataMessage', requestDataFields, decodeRequestDataMessage],
    ['RequestEventMessage', requestEventFields, decodeRequestEventMessage],
  ] as const;
  for (const [messageType, fields, decode] of cases) {
    it(`should accept a complete ${messageType} assembled field by field`, () => {
      assert.doesNotThrow(() => decode(concat(...fields.map(([, chunk]) => chunk))));
    });
    for (const [name] of fields.filter(([n]) => !optional.has(n))) {
      it(`should refuse a ${messageType} without ${name}, naming it`, () => {
        const without = concat(...fields.filter(([n]) => n !== name).map(([, chunk]) => chunk));
        refuses(() => decode(without), 'missing-field', messageType, name);
      });
    }
  }

  it('should refuse a Cycle without time and a DataMessage without id', () => {
    refuses(() => decodeCycle(bytes(0x10, 0x01)), 'missing-field', 'Cycle', 'time');
    refuses(() => decodeDataMessage(bytes(0x1a, 0x02, 0x08, 0x01)), 'missing-field', 'DataMessage', 'id');
  });

  it('should name a nested cycle field by its path within the DataMessage', () => {
    const wire = bytes(
      0x08, 0x01, //             id 1
      0x1a, 0x02, 0x08, 0x05, // cycles[0] = { time: 5 }
      0x1a, 0x02, 0x10, 0x05, // cycles[1] = { data: [5] }: no time
    );
    refuses(() => decodeDataMessage(wire), 'missing-field', 'DataMessage', 'cycles[1].time');
  });

  it('should refuse a known field with the wrong wire type', () => {
    const rmsAsVarint = concat(...triggerFields.slice(0, 3).map(([, c]) => c), bytes(0x20, 0x01));
    refuses(() => decodeTriggerMessage(rmsAsVarint), 'wrong-wire-type', 'TriggerMessage', 'rms');
    refuses(() => decodeCycle(bytes(0x08, 0x01, 0x15, 0, 0, 0, 0)), 'wrong-wire-type', 'Cycle', 'data');
    refuses(() => decodeDataMessage(bytes(0x08, 0x01, 0x18, 0x01)), 'wrong-wire-type', 'DataMessage', 'cycles');
    refuses(() => decodeRequestEventMessage(bytes(0x35, 0, 0, 0, 0)), 'wrong-wire-type', 'RequestEventMessage', 'requestee');
  });

  it('should refuse wire types that cannot be skipped and field number 0', () => {
    refuses(() => decodeTriggerMessage(bytes(0x4e)), 'wrong-wire-type', 'TriggerMessage', undefined); // field 9, type 6
    refuses(() => decodeTriggerMessage(bytes(0x4f)), 'wrong-wire-type', 'TriggerMessage', undefined); // field 9, type 7
    refuses(() => decodeTriggerMessage(bytes(0x4c)), 'wrong-wire-type', 'TriggerMessage', undefined); // end group, no start
    refuses(() => decodeTriggerMessage(bytes(0x00, 0x01)), 'invalid-value', 'TriggerMessage', undefined);
    refuses(() => decodeTriggerMessage(bytes(0x4b, 0x54)), 'invalid-value', 'TriggerMessage', undefined); // group 9 ended as 10
  });

  it('should refuse unknown enum numbers', () => {
    for (const n of [0, 6, -1]) {
      const wire = concat(w().uint32(0x08).int32(n).finish(), requestDataFields[1]![1]);
      refuses(() => decodeRequestDataMessage(wire), 'invalid-value', 'RequestDataMessage', 'type');
    }
    const event = concat(...requestEventFields.map(([name, chunk]) => (name === 'trigger_type' ? bytes(0x18, 0x09) : chunk)));
    refuses(() => decodeRequestEventMessage(event), 'invalid-value', 'RequestEventMessage', 'trigger_type');
  });

  it('should refuse a uint64 above Number.MAX_SAFE_INTEGER and keep the largest safe one exactly', () => {
    const withTime = (time: protobuf.Writer): Uint8Array =>
      concat(triggerFields[0]![1], time.finish(), triggerFields[2]![1], triggerFields[3]![1]);
    // 2^53 - 1 = 0x1F_FFFF_FFFF_FFFF: seven 0x7F groups and a final 0x0F.
    const safe = bytes(0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f);
    assert.equal(decodeTriggerMessage(withTime(w().raw(safe))).time, Number.MAX_SAFE_INTEGER);
    // 2^53: seven 0x00 groups (with continuation) and a final 0x10.
    const unsafe = bytes(0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10);
    refuses(() => decodeTriggerMessage(withTime(w().raw(unsafe))), 'invalid-value', 'TriggerMessage', 'time');
    refuses(
      () => decodeRequestDataMessage(bytes(0x08, 0x01, 0x10, 0x01, 0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)),
      'invalid-value',
      'RequestDataMessage',
      'back',
    );
  });

  it('should refuse a varint longer than 10 bytes', () => {
    const eleven = bytes(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
    refuses(() => decodeTriggerMessage(eleven), 'invalid-value', 'TriggerMessage', 'id');
    refuses(() => decodeCycle(concat(bytes(0x10), eleven.subarray(1))), 'invalid-value', 'Cycle', 'data');
  });

  it('should refuse fields that run past the end of the buffer or of an embedded message', () => {
    refuses(() => decodeTriggerMessage(bytes(0x1d, 0x00, 0x00)), 'truncated', 'TriggerMessage', 'frequency');
    refuses(() => decodeTriggerMessage(bytes(0x08, 0x80)), 'truncated', 'TriggerMessage', 'id');
    refuses(() => decodeTriggerMessage(bytes(0x80)), 'truncated', 'TriggerMessage', undefined); // inside a tag
    refuses(() => decodeDataMessage(bytes(0x08, 0x01, 0x1a, 0x05, 0x08, 0x01)), 'truncated', 'DataMessage', 'cycles[0]');
    // The cycle claims 2 bytes but its time varint needs 3: it must not read into the next field.
    refuses(() => decodeDataMessage(bytes(0x1a, 0x02, 0x08, 0x80, 0x01, 0x08, 0x01)), 'truncated', 'DataMessage', 'cycles[0].time');
    // A packed run whose last varint is cut by the run's own length.
    refuses(() => decodeCycle(bytes(0x08, 0x01, 0x12, 0x02, 0x01, 0xff, 0x01)), 'truncated', 'Cycle', 'data');
    refuses(() => decodeRequestEventMessage(bytes(0x32, 0x05, 0x61)), 'truncated', 'RequestEventMessage', 'requestee');
  });

  it('should skip unknown fields of every skippable wire type (proto2)', () => {
    const unknown = concat(
      w().uint32((99 << 3) | 0).uint64(123456789).finish(),
      w().uint32((100 << 3) | 1).fixed64(1).finish(),
      w().uint32((101 << 3) | 2).string('future').finish(),
      w().uint32((102 << 3) | 5).fixed32(7).finish(),
      w().uint32((103 << 3) | 3).uint32(0x08).uint32(1).uint32((103 << 3) | 4).finish(), // group 103 { field 1 = 1 }
    );
    const fields = triggerFields.slice(0, 4).map(([, c]) => c);
    const plain = decodeTriggerMessage(concat(...fields));
    assert.deepStrictEqual(decodeTriggerMessage(concat(fields[0]!, unknown, ...fields.slice(1))), plain);
    // DataMessage field 2 is unused: skipped like any unknown field.
    assert.deepStrictEqual(decodeDataMessage(bytes(0x08, 0x01, 0x10, 0x07)), { id: 1, cycles: [] });
  });

  it('should keep the last value of a scalar field that appears twice', () => {
    const twice = concat(...triggerFields.slice(0, 4).map(([, c]) => c), w().uint32(0x08).int32(7).finish());
    assert.equal(decodeTriggerMessage(twice).id, 7);
  });

  it('should pass invalid UTF-8 through instead of refusing it', () => {
    const wire = concat(...requestEventFields.map(([name, chunk]) => (name === 'description' ? bytes(0x3a, 0x02, 0xff, 0xfe) : chunk)));
    assert.equal(typeof decodeRequestEventMessage(wire).description, 'string');
  });

  it('should decode a Node Buffer (as sockets deliver) like a Uint8Array', () => {
    const wire = concat(...triggerFields.map(([, c]) => c));
    assert.deepStrictEqual(decodeTriggerMessage(Buffer.from(wire)), decodeTriggerMessage(wire));
  });
});

/** Asserts that `fn` throws an EncodeError (a StreamError, not a DecodeError) for this field. */
function cannotEncode(fn: () => unknown, messageType: string, field: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof EncodeError && error instanceof StreamError && !(error instanceof DecodeError), String(error));
    assert.equal(error.messageType, messageType);
    assert.equal(error.field, field);
    return true;
  });
}

describe('codec: refusing bad values to encode', () => {
  const trigger: TriggerMessage = { id: 1, time: 2, frequency: 60, rms: 120 };
  const event: RequestEventMessage = {
    startTimestampMsUtc: 1,
    endTimestampMsUtc: 2,
    triggerType: 'OTHER',
    percentMagnitude: 0,
    boxIds: [],
    requestee: '',
    description: '',
    requestData: false,
  };
  const loose = <T>(value: T, patch: Record<string, unknown>): T => ({ ...value, ...patch }) as T;

  it('should refuse missing required fields', () => {
    for (const key of ['id', 'time', 'frequency', 'rms'] as const) {
      cannotEncode(() => encodeTriggerMessage(loose(trigger, { [key]: undefined })), 'TriggerMessage', key);
    }
    cannotEncode(() => encodeRequestDataMessage(loose({ type: 'PING', sequenceNumber: 1 }, { sequenceNumber: undefined })), 'RequestDataMessage', 'sequence_number');
    cannotEncode(() => encodeRequestEventMessage(loose(event, { description: undefined })), 'RequestEventMessage', 'description');
    cannotEncode(() => encodeRequestEventMessage(loose(event, { requestData: undefined })), 'RequestEventMessage', 'request_data');
    cannotEncode(() => encodeCycle(loose<Cycle>({ time: 1, data: new Int32Array() }, { time: undefined })), 'Cycle', 'time');
  });

  it('should refuse values outside their wire type', () => {
    cannotEncode(() => encodeTriggerMessage({ ...trigger, id: 2 ** 31 }), 'TriggerMessage', 'id');
    cannotEncode(() => encodeTriggerMessage({ ...trigger, id: 1.5 }), 'TriggerMessage', 'id');
    cannotEncode(() => encodeTriggerMessage({ ...trigger, time: -1 }), 'TriggerMessage', 'time');
    cannotEncode(() => encodeTriggerMessage({ ...trigger, time: 2 ** 53 }), 'TriggerMessage', 'time');
    cannotEncode(() => encodeTriggerMessage({ ...trigger, rms: 1e39 }), 'TriggerMessage', 'rms');
    cannotEncode(() => encodeTriggerMessage({ ...trigger, flags: -(2 ** 31) - 1 }), 'TriggerMessage', 'flags');
    cannotEncode(() => encodeRequestDataMessage({ type: 'PING', sequenceNumber: -1 }), 'RequestDataMessage', 'sequence_number');
    cannotEncode(() => encodeRequestDataMessage({ type: 'PING', sequenceNumber: 2 ** 32 }), 'RequestDataMessage', 'sequence_number');
    cannotEncode(() => encodeRequestDataMessage(loose({ type: 'PING', sequenceNumber: 1 }, { type: 'PANG' })), 'RequestDataMessage', 'type');
    cannotEncode(() => encodeRequestEventMessage(loose(event, { triggerType: 'toString' })), 'RequestEventMessage', 'trigger_type');
    cannotEncode(() => encodeRequestEventMessage({ ...event, boxIds: [1, 2.5] }), 'RequestEventMessage', 'box_ids[1]');
    cannotEncode(() => encodeCycle(loose<Cycle>({ time: 1, data: new Int32Array() }, { data: [1, 2 ** 40] })), 'Cycle', 'data[1]');
    cannotEncode(
      () => encodeDataMessage({ id: 1, cycles: [{ time: 1, data: new Int32Array() }, loose<Cycle>({ time: 1, data: new Int32Array() }, { time: 0.5 })] }),
      'DataMessage',
      'cycles[1].time',
    );
  });

  it('should carry NaN and infinities as valid float values (stages judge them)', () => {
    const back = decodeTriggerMessage(encodeTriggerMessage({ ...trigger, frequency: Number.NaN, rms: Number.POSITIVE_INFINITY }));
    assert.ok(Number.isNaN(back.frequency));
    assert.equal(back.rms, Number.POSITIVE_INFINITY);
  });
});
