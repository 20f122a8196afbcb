import { EncodeError } from '../core/errors.js';
import type { Cycle } from './messages.js';
import {
  LEN,
  VARINT,
  SampleBuffer,
  checkInt32,
  checkRequired,
  checkUint64,
  createReader,
  createWriter,
  fieldNames,
  readPackedInt32,
  readUnpackedInt32Run,
  readUint64,
  requiredNames,
  skipUnknown,
  tagFor,
  tagOf,
  toDecodeError,
  type FieldTable,
  type Mutable,
  type Reader,
  type Writer,
} from './wire-internals.js';

const MESSAGE = 'Cycle';

/** Field layout of `opq.proto.Cycle` as this codec reads and writes it. */
export const CYCLE_FIELDS = {
  time: { number: 1, type: 'uint64', rule: 'required', wire: VARINT },
  data: { number: 2, type: 'int32', rule: 'repeated', wire: VARINT },
  last_gps: { number: 3, type: 'int32', rule: 'optional', wire: VARINT },
  current_count: { number: 4, type: 'int32', rule: 'optional', wire: VARINT },
  flags: { number: 5, type: 'int32', rule: 'optional', wire: VARINT },
} as const satisfies FieldTable;

const F = CYCLE_FIELDS;
const NAMES = fieldNames(F);
const REQUIRED = requiredNames(F);
const TIME = tagFor(F.time);
const DATA = tagFor(F.data);
/** proto2 writers emit `data` unpacked, but a packed run is valid input too. */
const DATA_PACKED = tagOf(F.data.number, LEN);
const LAST_GPS = tagFor(F.last_gps);
const CURRENT_COUNT = tagFor(F.current_count);
const FLAGS = tagFor(F.flags);

/**
 * Decodes one serialized `Cycle`.
 *
 * @throws {DecodeError} naming `Cycle` and the field; never anything else.
 */
export function decodeCycle(bytes: Uint8Array): Cycle {
  let reader: Reader;
  try {
    reader = createReader(bytes);
  } catch (error) {
    throw toDecodeError(error, MESSAGE, undefined);
  }
  // Unpacked samples take at least 2 bytes each; packed runs reserve their exact count.
  return readCycle(reader, reader.len, new SampleBuffer(bytes.length >>> 1));
}

/**
 * Reads the fields of a Cycle from the reader's position to `end` (the reader is bounded there).
 * `samples` is scratch space reused across the cycles of one DataMessage.
 *
 * @throws {DecodeError} with message type `Cycle`.
 * @internal
 */
export function readCycle(reader: Reader, end: number, samples: SampleBuffer): Cycle {
  let tag = 0;
  let seen = 0;
  let time = 0;
  let lastGps: number | undefined;
  let currentCount: number | undefined;
  let flags: number | undefined;
  samples.reset();
  try {
    while (reader.pos < end) {
      tag = 0; // so a failure inside the tag itself is not blamed on the previous field
      tag = reader.tag();
      switch (tag) {
        case DATA: readUnpackedInt32Run(reader, DATA, samples); break;
        case TIME: time = readUint64(reader); seen |= 1; break;
        case DATA_PACKED: readPackedInt32(reader, samples); break;
        case LAST_GPS: lastGps = reader.int32(); break;
        case CURRENT_COUNT: currentCount = reader.int32(); break;
        case FLAGS: flags = reader.int32(); break;
        default: skipUnknown(reader, tag, NAMES);
      }
    }
  } catch (error) {
    throw toDecodeError(error, MESSAGE, NAMES[tag >>> 3]);
  }
  checkRequired(seen, REQUIRED, MESSAGE);
  const cycle: Mutable<Cycle> = { time, data: samples.take() };
  if (lastGps !== undefined) cycle.lastGps = lastGps;
  if (currentCount !== undefined) cycle.currentCount = currentCount;
  if (flags !== undefined) cycle.flags = flags;
  return cycle;
}

/**
 * Encodes one `Cycle`. `data` is written unpacked (one tag 0x10 per sample) like the original
 * C++ and Rust libraries, so a negative sample costs a 10-byte varint.
 *
 * @throws {EncodeError} when `time` is missing or a value does not fit its wire type.
 */
export function encodeCycle(cycle: Cycle): Uint8Array {
  const writer = createWriter();
  writeCycle(writer, cycle, MESSAGE, '');
  return writer.finish();
}

/**
 * Checks and writes the fields of `cycle` (without a length prefix).
 *
 * @param messageType Message named in an {@link EncodeError} (`DataMessage` when nested).
 * @param path Field-name prefix for errors, e.g. `cycles[2].`.
 * @internal
 */
export function writeCycle(writer: Writer, cycle: Cycle, messageType: string, path: string): void {
  const time = checkUint64(cycle.time, messageType, `${path}time`);
  const data = checkSamples(cycle.data, messageType, `${path}data`);
  const lastGps = cycle.lastGps === undefined ? undefined : checkInt32(cycle.lastGps, messageType, `${path}last_gps`);
  const currentCount =
    cycle.currentCount === undefined ? undefined : checkInt32(cycle.currentCount, messageType, `${path}current_count`);
  const flags = cycle.flags === undefined ? undefined : checkInt32(cycle.flags, messageType, `${path}flags`);

  writer.uint32(TIME).uint64(time);
  for (let i = 0; i < data.length; i++) writer.uint32(DATA).int32(data[i] as number);
  if (lastGps !== undefined) writer.uint32(LAST_GPS).int32(lastGps);
  if (currentCount !== undefined) writer.uint32(CURRENT_COUNT).int32(currentCount);
  if (flags !== undefined) writer.uint32(FLAGS).int32(flags);
}

/** An Int32Array holds only int32 values; anything else that reaches us at run time is checked sample by sample. */
function checkSamples(data: unknown, messageType: string, field: string): ArrayLike<number> {
  if (data instanceof Int32Array) return data;
  if (!Array.isArray(data)) throw new EncodeError(messageType, field, 'not an Int32Array');
  for (let i = 0; i < data.length; i++) checkInt32(data[i], messageType, `${field}[${i}]`);
  return data as number[];
}
