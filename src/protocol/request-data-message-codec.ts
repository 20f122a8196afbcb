import { REQUEST_TYPE, type RequestDataMessage, type RequestType } from './messages.js';
import {
  VARINT,
  checkEnum,
  checkRequired,
  checkUint32,
  checkUint64,
  createReader,
  createWriter,
  enumNames,
  fieldNames,
  readEnum,
  readUint64,
  requiredNames,
  skipUnknown,
  tagFor,
  toDecodeError,
  type FieldTable,
  type Mutable,
} from './wire-internals.js';

const MESSAGE = 'RequestDataMessage';

/** Field layout of `opq.proto.RequestDataMessage` as this codec reads and writes it. */
export const REQUEST_DATA_MESSAGE_FIELDS = {
  type: { number: 1, type: 'RequestType', rule: 'required', wire: VARINT },
  sequence_number: { number: 2, type: 'uint32', rule: 'required', wire: VARINT },
  boxId: { number: 3, type: 'uint32', rule: 'optional', wire: VARINT },
  time: { number: 4, type: 'uint64', rule: 'optional', wire: VARINT },
  back: { number: 5, type: 'uint64', rule: 'optional', wire: VARINT },
  forward: { number: 6, type: 'uint64', rule: 'optional', wire: VARINT },
  num_cycles: { number: 7, type: 'uint32', rule: 'optional', wire: VARINT },
} as const satisfies FieldTable;

const F = REQUEST_DATA_MESSAGE_FIELDS;
const NAMES = fieldNames(F);
const REQUIRED = requiredNames(F);
const TYPE_NAMES = enumNames(REQUEST_TYPE);
const TYPE = tagFor(F.type);
const SEQUENCE_NUMBER = tagFor(F.sequence_number);
const BOX_ID = tagFor(F.boxId);
const TIME = tagFor(F.time);
const BACK = tagFor(F.back);
const FORWARD = tagFor(F.forward);
const NUM_CYCLES = tagFor(F.num_cycles);

/**
 * Decodes one `RequestDataMessage` (a data request or ping, M4/M5, or a box reply, M6–M8).
 *
 * @throws {DecodeError} `truncated`, `missing-field`, `wrong-wire-type`, or `invalid-value` for an
 *   unknown `type` number or a uint64 above `Number.MAX_SAFE_INTEGER`; never anything else.
 */
export function decodeRequestDataMessage(bytes: Uint8Array): RequestDataMessage {
  let tag = 0;
  let seen = 0;
  let type: RequestType = 'PING';
  let sequenceNumber = 0;
  let boxId: number | undefined;
  let time: number | undefined;
  let back: number | undefined;
  let forward: number | undefined;
  let numCycles: number | undefined;
  try {
    const reader = createReader(bytes);
    while (reader.pos < reader.len) {
      tag = 0; // so a failure inside the tag itself is not blamed on the previous field
      tag = reader.tag();
      switch (tag) {
        case TYPE: type = readEnum(reader, TYPE_NAMES); seen |= 1; break;
        case SEQUENCE_NUMBER: sequenceNumber = reader.uint32(); seen |= 2; break;
        case BOX_ID: boxId = reader.uint32(); break;
        case TIME: time = readUint64(reader); break;
        case BACK: back = readUint64(reader); break;
        case FORWARD: forward = readUint64(reader); break;
        case NUM_CYCLES: numCycles = reader.uint32(); break;
        default: skipUnknown(reader, tag, NAMES);
      }
    }
  } catch (error) {
    throw toDecodeError(error, MESSAGE, NAMES[tag >>> 3]);
  }
  checkRequired(seen, REQUIRED, MESSAGE);
  const message: Mutable<RequestDataMessage> = { type, sequenceNumber };
  if (boxId !== undefined) message.boxId = boxId;
  if (time !== undefined) message.time = time;
  if (back !== undefined) message.back = back;
  if (forward !== undefined) message.forward = forward;
  if (numCycles !== undefined) message.numCycles = numCycles;
  return message;
}

/**
 * Encodes one `RequestDataMessage` in field-number order.
 *
 * @throws {EncodeError} when a required field is missing, `type` is not a RequestType name, or a
 *   value does not fit its wire type.
 */
export function encodeRequestDataMessage(message: RequestDataMessage): Uint8Array {
  const type = checkEnum(message.type, REQUEST_TYPE, MESSAGE, 'type');
  const sequenceNumber = checkUint32(message.sequenceNumber, MESSAGE, 'sequence_number');
  const boxId = message.boxId === undefined ? undefined : checkUint32(message.boxId, MESSAGE, 'boxId');
  const time = message.time === undefined ? undefined : checkUint64(message.time, MESSAGE, 'time');
  const back = message.back === undefined ? undefined : checkUint64(message.back, MESSAGE, 'back');
  const forward = message.forward === undefined ? undefined : checkUint64(message.forward, MESSAGE, 'forward');
  const numCycles = message.numCycles === undefined ? undefined : checkUint32(message.numCycles, MESSAGE, 'num_cycles');

  const writer = createWriter();
  writer.uint32(TYPE).int32(type);
  writer.uint32(SEQUENCE_NUMBER).uint32(sequenceNumber);
  if (boxId !== undefined) writer.uint32(BOX_ID).uint32(boxId);
  if (time !== undefined) writer.uint32(TIME).uint64(time);
  if (back !== undefined) writer.uint32(BACK).uint64(back);
  if (forward !== undefined) writer.uint32(FORWARD).uint64(forward);
  if (numCycles !== undefined) writer.uint32(NUM_CYCLES).uint32(numCycles);
  return writer.finish();
}
