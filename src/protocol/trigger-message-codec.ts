import type { TriggerMessage } from './messages.js';
import {
  I32,
  VARINT,
  checkFloat,
  checkInt32,
  checkRequired,
  checkUint64,
  createReader,
  createWriter,
  fieldNames,
  readUint64,
  requiredNames,
  skipUnknown,
  tagFor,
  toDecodeError,
  type FieldTable,
  type Mutable,
} from './wire-internals.js';

const MESSAGE = 'TriggerMessage';

/** Field layout of `opq.proto.TriggerMessage` as this codec reads and writes it. */
export const TRIGGER_MESSAGE_FIELDS = {
  id: { number: 1, type: 'int32', rule: 'required', wire: VARINT },
  time: { number: 2, type: 'uint64', rule: 'required', wire: VARINT },
  frequency: { number: 3, type: 'float', rule: 'required', wire: I32 },
  rms: { number: 4, type: 'float', rule: 'required', wire: I32 },
  thd: { number: 5, type: 'float', rule: 'optional', wire: I32 },
  last_gps: { number: 6, type: 'int32', rule: 'optional', wire: VARINT },
  current_count: { number: 7, type: 'int32', rule: 'optional', wire: VARINT },
  flags: { number: 8, type: 'int32', rule: 'optional', wire: VARINT },
} as const satisfies FieldTable;

const F = TRIGGER_MESSAGE_FIELDS;
const NAMES = fieldNames(F);
const REQUIRED = requiredNames(F);
const ID = tagFor(F.id);
const TIME = tagFor(F.time);
const FREQUENCY = tagFor(F.frequency);
const RMS = tagFor(F.rms);
const THD = tagFor(F.thd);
const LAST_GPS = tagFor(F.last_gps);
const CURRENT_COUNT = tagFor(F.current_count);
const FLAGS = tagFor(F.flags);

/**
 * Decodes one `TriggerMessage` (frame 1 of a box measurement, spec M1).
 *
 * Strict proto2: all required fields must be present, a known field with the wrong wire type is
 * refused, unknown fields are skipped, a repeated scalar field keeps its last value.
 *
 * @param bytes The serialized message.
 * @returns A complete message; `thd`, `lastGps`, `currentCount`, `flags` only when on the wire.
 * @throws {DecodeError} `truncated`, `missing-field`, `wrong-wire-type` or `invalid-value`
 *   (uint64 `time` above `Number.MAX_SAFE_INTEGER`, malformed varint); never anything else.
 */
export function decodeTriggerMessage(bytes: Uint8Array): TriggerMessage {
  let tag = 0;
  let seen = 0;
  let id = 0;
  let time = 0;
  let frequency = 0;
  let rms = 0;
  let thd: number | undefined;
  let lastGps: number | undefined;
  let currentCount: number | undefined;
  let flags: number | undefined;
  try {
    const reader = createReader(bytes);
    while (reader.pos < reader.len) {
      tag = 0; // so a failure inside the tag itself is not blamed on the previous field
      tag = reader.tag();
      switch (tag) {
        case ID: id = reader.int32(); seen |= 1; break;
        case TIME: time = readUint64(reader); seen |= 2; break;
        case FREQUENCY: frequency = reader.float(); seen |= 4; break;
        case RMS: rms = reader.float(); seen |= 8; break;
        case THD: thd = reader.float(); break;
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
  const message: Mutable<TriggerMessage> = { id, time, frequency, rms };
  if (thd !== undefined) message.thd = thd;
  if (lastGps !== undefined) message.lastGps = lastGps;
  if (currentCount !== undefined) message.currentCount = currentCount;
  if (flags !== undefined) message.flags = flags;
  return message;
}

/**
 * Encodes one `TriggerMessage` in field-number order, as the box firmware's protobuf library does.
 * Floats are written as float32: `frequency`, `rms` and `thd` come back rounded by `Math.fround`.
 *
 * @throws {EncodeError} when a required field is missing or a value does not fit its wire type.
 */
export function encodeTriggerMessage(message: TriggerMessage): Uint8Array {
  const id = checkInt32(message.id, MESSAGE, 'id');
  const time = checkUint64(message.time, MESSAGE, 'time');
  const frequency = checkFloat(message.frequency, MESSAGE, 'frequency');
  const rms = checkFloat(message.rms, MESSAGE, 'rms');
  const thd = message.thd === undefined ? undefined : checkFloat(message.thd, MESSAGE, 'thd');
  const lastGps = message.lastGps === undefined ? undefined : checkInt32(message.lastGps, MESSAGE, 'last_gps');
  const currentCount =
    message.currentCount === undefined ? undefined : checkInt32(message.currentCount, MESSAGE, 'current_count');
  const flags = message.flags === undefined ? undefined : checkInt32(message.flags, MESSAGE, 'flags');

  const writer = createWriter();
  writer.uint32(ID).int32(id);
  writer.uint32(TIME).uint64(time);
  writer.uint32(FREQUENCY).float(frequency);
  writer.uint32(RMS).float(rms);
  if (thd !== undefined) writer.uint32(THD).float(thd);
  if (lastGps !== undefined) writer.uint32(LAST_GPS).int32(lastGps);
  if (currentCount !== undefined) writer.uint32(CURRENT_COUNT).int32(currentCount);
  if (flags !== undefined) writer.uint32(FLAGS).int32(flags);
  return writer.finish();
}
