/** fast-check arbitraries for valid OPQ messages (every field within its wire type). */
import fc from 'fast-check';
import { REQUEST_TYPE, TRIGGER_TYPE } from '../../../src/protocol/messages.js';
import type {
  Cycle,
  DataMessage,
  RequestDataMessage,
  RequestEventMessage,
  RequestType,
  TriggerMessage,
  TriggerType,
} from '../../../src/protocol/messages.js';

export const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
export const uint32 = fc.integer({ min: 0, max: 0xffffffff });
export const uint64 = fc.maxSafeNat();
/** Any float32 value, NaN, ±0 and ±Infinity included (the codec carries them; stages judge them). */
export const float32 = fc.float();

export const triggerMessage: fc.Arbitrary<TriggerMessage> = fc.record(
  {
    id: int32,
    time: uint64,
    frequency: float32,
    rms: float32,
    thd: float32,
    lastGps: int32,
    currentCount: int32,
    flags: int32,
  },
  { requiredKeys: ['id', 'time', 'frequency', 'rms'], noNullPrototype: true },
);

/** ADC samples are 16-bit, but the field is int32: use the whole range. */
const samples = fc.array(fc.oneof(fc.integer({ min: -32768, max: 32767 }), int32), { maxLength: 40 }).map((a) => Int32Array.from(a));

export const cycle: fc.Arbitrary<Cycle> = fc.record(
  { time: uint64, data: samples, lastGps: int32, currentCount: int32, flags: int32 },
  { requiredKeys: ['time', 'data'], noNullPrototype: true },
);

export const dataMessage: fc.Arbitrary<DataMessage> = fc.record({ id: int32, cycles: fc.array(cycle, { maxLength: 4 }) }, { noNullPrototype: true });

export const requestType = fc.constantFrom(...(Object.keys(REQUEST_TYPE) as RequestType[]));
export const triggerType = fc.constantFrom(...(Object.keys(TRIGGER_TYPE) as TriggerType[]));

export const requestDataMessage: fc.Arbitrary<RequestDataMessage> = fc.record(
  {
    type: requestType,
    sequenceNumber: uint32,
    boxId: uint32,
    time: uint64,
    back: uint64,
    forward: uint64,
    numCycles: uint32,
  },
  { requiredKeys: ['type', 'sequenceNumber'], noNullPrototype: true },
);

export const requestEventMessage: fc.Arbitrary<RequestEventMessage> = fc.record({
  startTimestampMsUtc: uint64,
  endTimestampMsUtc: uint64,
  triggerType,
  percentMagnitude: fc.double(),
  boxIds: fc.array(int32, { maxLength: 8 }),
  // Whole code points (no lone surrogates), so the UTF-8 round trip is exact.
  requestee: fc.string({ unit: 'binary', maxLength: 20 }),
  description: fc.string({ unit: 'binary', maxLength: 20 }),
  requestData: fc.boolean(),
}, { noNullPrototype: true });
