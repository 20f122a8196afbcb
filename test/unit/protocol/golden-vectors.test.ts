/**
 * Exact bytes, written out by hand from the protobuf wire rules (tag = field << 3 | wire type;
 * varints little-endian base-128 with the high bit as continuation; floats/doubles little-endian
 * IEEE 754), never produced by our own encoder. Each vector is checked both ways.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
import type { Cycle, DataMessage, RequestDataMessage, RequestEventMessage, TriggerMessage } from '../../../src/protocol/messages.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
/** Compare as plain byte arrays (an encoder may return a Buffer subclass). */
const same = (actual: Uint8Array, expected: Uint8Array): void =>
  assert.deepStrictEqual(Array.from(actual), Array.from(expected));

// 1546300800000 ms = 0x0000_0168_06B5_BC00; its 7-bit groups, lowest first, are
// 0x00 0x78 0x56 0x35 0x00 0x2D: continuation bit on all but the last.
const T0 = 1546300800000;
const T0_VARINT = [0x80, 0xf8, 0xd6, 0xb5, 0x80, 0x2d];
// 1546300800500 = 0x168_06B5_BDF4 → groups 0x74 0x77 0x56 0x35 0x00 0x2D.
const T_MID_VARINT = [0xf4, 0xfb, 0xd6, 0xb5, 0x80, 0x2d];
// 1546300801000 = 0x168_06B5_BFE8 → groups 0x68 0x7F 0x56 0x35 0x00 0x2D.
const T_END_VARINT = [0xe8, 0xff, 0xd6, 0xb5, 0x80, 0x2d];

describe('golden vectors', () => {
  it('should encode and decode a TriggerMessage without thd', () => {
    const message: TriggerMessage = { id: 1003, time: T0, frequency: 60, rms: 120 };
    const wire = bytes(
      0x08, 0xeb, 0x07, //             field 1 id, varint: 1003 = 0x3EB → 0x6B|0x80, 0x07
      0x10, ...T0_VARINT, //           field 2 time, varint
      0x1d, 0x00, 0x00, 0x70, 0x42, // field 3 frequency, fixed32: 60.0f = 0x42700000 LE
      0x25, 0x00, 0x00, 0xf0, 0x42, // field 4 rms, fixed32: 120.0f = 0x42F00000 LE
    );
    same(encodeTriggerMessage(message), wire);
    assert.deepStrictEqual(decodeTriggerMessage(wire), message);
  });

  it('should encode and decode a TriggerMessage with thd and the optional counters', () => {
    const message: TriggerMessage = {
      id: 1003,
      time: T0,
      frequency: 60,
      rms: 120,
      thd: Math.fround(0.03),
      lastGps: 300,
      currentCount: -1,
      flags: 1,
    };
    const wire = bytes(
      0x08, 0xeb, 0x07,
      0x10, ...T0_VARINT,
      0x1d, 0x00, 0x00, 0x70, 0x42,
      0x25, 0x00, 0x00, 0xf0, 0x42,
      0x2d, 0x8f, 0xc2, 0xf5, 0x3c, // field 5 thd, fixed32: 0.03f = 0x3CF5C28F LE
      0x30, 0xac, 0x02, //             field 6 last_gps: 300 = 0x12C → 0x2C|0x80, 0x02
      0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // field 7: -1 sign-extended to 64 bits, 10 bytes
      0x40, 0x01, //                   field 8 flags
    );
    same(encodeTriggerMessage(message), wire);
    assert.deepStrictEqual(decodeTriggerMessage(wire), message);
  });

  it('should encode and decode a RequestDataMessage READ as the acquisition broker sends it', () => {
    const message: RequestDataMessage = {
      type: 'READ',
      sequenceNumber: 4711,
      time: T0 + 500,
      back: T0,
      forward: T0 + 1000,
    };
    const wire = bytes(
      0x08, 0x03, //              field 1 type, varint: READ = 3
      0x10, 0xe7, 0x24, //        field 2 sequence_number: 4711 = 0x1267 → 0x67|0x80, 0x24
      0x20, ...T_MID_VARINT, //   field 4 time (field 3 boxId absent)
      0x28, ...T0_VARINT, //      field 5 back
      0x30, ...T_END_VARINT, //   field 6 forward
    );
    same(encodeRequestDataMessage(message), wire);
    assert.deepStrictEqual(decodeRequestDataMessage(wire), message);
  });

  it('should encode and decode a RequestEventMessage', () => {
    const message: RequestEventMessage = {
      startTimestampMsUtc: 1000,
      endTimestampMsUtc: 2000,
      triggerType: 'VOLTAGE_SAG',
      percentMagnitude: 12.5,
      boxIds: [1003, 1004],
      requestee: 'makai',
      description: 'sag',
      requestData: true,
    };
    const wire = bytes(
      0x08, 0xe8, 0x07, //   field 1 start: 1000 = 0x3E8 → 0x68|0x80, 0x07
      0x10, 0xd0, 0x0f, //   field 2 end: 2000 = 0x7D0 → 0x50|0x80, 0x0F
      0x18, 0x03, //         field 3 trigger_type: VOLTAGE_SAG = 3
      0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x29, 0x40, // field 4, fixed64: 12.5 = 0x4029000000000000 LE
      0x28, 0xeb, 0x07, //   field 5 box_ids, unpacked: 1003
      0x28, 0xec, 0x07, //   field 5 box_ids: 1004
      0x32, 0x05, 0x6d, 0x61, 0x6b, 0x61, 0x69, // field 6 requestee, length 5: "makai"
      0x3a, 0x03, 0x73, 0x61, 0x67, //             field 7 description, length 3: "sag"
      0x40, 0x01, //         field 8 request_data: true
    );
    same(encodeRequestEventMessage(message), wire);
    assert.deepStrictEqual(decodeRequestEventMessage(wire), message);
  });

  // A cycle with samples 1, -1, 300: data unpacked, one tag 0x10 per sample.
  const cycle: Cycle = { time: 1, data: Int32Array.of(1, -1, 300), flags: 1 };
  const cycleWire = [
    0x08, 0x01, //  field 1 time = 1
    0x10, 0x01, //  field 2 data: 1
    0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // data: -1 as a 10-byte varint
    0x10, 0xac, 0x02, // data: 300
    0x28, 0x01, //  field 5 flags = 1
  ]; // 2 + 2 + 11 + 3 + 2 = 20 bytes

  it('should write Cycle.data unpacked with a 10-byte varint for a negative sample', () => {
    same(encodeCycle(cycle), bytes(...cycleWire));
    assert.deepStrictEqual(decodeCycle(bytes(...cycleWire)), cycle);
  });

  it('should encode and decode a DataMessage holding that cycle', () => {
    const message: DataMessage = { id: 1003, cycles: [cycle] };
    const wire = bytes(
      0x08, 0xeb, 0x07, // field 1 id = 1003
      0x1a, 0x14, //       field 3 cycles, length-delimited, 20 bytes
      ...cycleWire,
    );
    same(encodeDataMessage(message), wire);
    assert.deepStrictEqual(decodeDataMessage(wire), message);
  });

  it('should decode packed Cycle.data', () => {
    const wire = bytes(
      0x08, 0x01, //       field 1 time = 1
      0x12, 0x0d, //       field 2 data, wire type 2 (packed), 13 bytes follow
      0x01, //             1
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // -1
      0xac, 0x02, //       300
    );
    assert.deepStrictEqual(decodeCycle(wire), { time: 1, data: Int32Array.of(1, -1, 300) });
  });

  it('should append packed and unpacked runs of Cycle.data in wire order', () => {
    const wire = bytes(
      0x10, 0x05, //             unpacked 5
      0x12, 0x02, 0x06, 0x07, // packed [6, 7]
      0x08, 0x02, //             time = 2 (field order on the wire does not matter)
      0x10, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // unpacked -2
    );
    assert.deepStrictEqual(decodeCycle(wire), { time: 2, data: Int32Array.of(5, 6, 7, -2) });
  });

  it('should decode packed RequestEventMessage.box_ids', () => {
    const wire = bytes(
      0x08, 0x01, 0x10, 0x02, 0x18, 0x05, //       start 1, end 2, OTHER
      0x21, 0, 0, 0, 0, 0, 0, 0, 0, //             percent_magnitude 0.0
      0x2a, 0x04, 0xeb, 0x07, 0xec, 0x07, //       box_ids packed: [1003, 1004]
      0x32, 0x00, 0x3a, 0x00, 0x40, 0x00, //       requestee "", description "", request_data false
    );
    assert.deepStrictEqual(decodeRequestEventMessage(wire).boxIds, [1003, 1004]);
  });
});
