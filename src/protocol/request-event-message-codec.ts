import { TRIGGER_TYPE, type RequestEventMessage, type TriggerType } from './messages.js';
import { EncodeError } from '../core/errors.js';
import {
  I64,
  LEN,
  VARINT,
  checkBool,
  checkDouble,
  checkEnum,
  checkInt32,
  checkRequired,
  checkString,
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
  tagOf,
  toDecodeError,
  type FieldTable,
} from './wire-internals.js';

const MESSAGE = 'RequestEventMessage';

/** Field layout of `opq.proto.RequestEventMessage` as this codec reads and writes it. */
export const REQUEST_EVENT_MESSAGE_FIELDS = {
  start_timestamp_ms_utc: { number: 1, type: 'uint64', rule: 'required', wire: VARINT },
  end_timestamp_ms_utc: { number: 2, type: 'uint64', rule: 'required', wire: VARINT },
  trigger_type: { number: 3, type: 'TriggerType', rule: 'required', wire: VARINT },
  percent_magnitude: { number: 4, type: 'double', rule: 'required', wire: I64 },
  box_ids: { number: 5, type: 'int32', rule: 'repeated', wire: VARINT },
  requestee: { number: 6, type: 'string', rule: 'required', wire: LEN },
  description: { number: 7, type: 'string', rule: 'required', wire: LEN },
  request_data: { number: 8, type: 'bool', rule: 'required', wire: VARINT },
} as const satisfies FieldTable;

const F = REQUEST_EVENT_MESSAGE_FIELDS;
const NAMES = fieldNames(F);
const REQUIRED = requiredNames(F);
const TRIGGER_TYPE_NAMES = enumNames(TRIGGER_TYPE);
const START = tagFor(F.start_timestamp_ms_utc);
const END = tagFor(F.end_timestamp_ms_utc);
const TRIGGER = tagFor(F.trigger_type);
const PERCENT = tagFor(F.percent_magnitude);
const BOX_IDS = tagFor(F.box_ids);
/** Written unpacked (proto2 default); a packed run is valid input too. */
const BOX_IDS_PACKED = tagOf(F.box_ids.number, LEN);
const REQUESTEE = tagFor(F.requestee);
const DESCRIPTION = tagFor(F.description);
const REQUEST_DATA = tagFor(F.request_data);

/** Bits of the `seen` mask, in field-number order of the required fields. */
const SEEN_START = 1;
const SEEN_END = 2;
const SEEN_TRIGGER = 4;
const SEEN_PERCENT = 8;
const SEEN_REQUESTEE = 16;
const SEEN_DESCRIPTION = 32;
const SEEN_REQUEST_DATA = 64;

/**
 * Decodes one `RequestEventMessage` (an event request to the acquisition broker, M2).
 * Strings are read as UTF-8; invalid sequences are replaced, not refused.
 *
 * @throws {DecodeError} `truncated`, `missing-field`, `wrong-wire-type`, or `invalid-value` for an
 *   unknown `trigger_type` or a timestamp above `Number.MAX_SAFE_INTEGER`; never anything else.
 */
export function decodeRequestEventMessage(bytes: Uint8Array): RequestEventMessage {
  let tag = 0;
  let seen = 0;
  let startTimestampMsUtc = 0;
  let endTimestampMsUtc = 0;
  let triggerType: TriggerType = 'OTHER';
  let percentMagnitude = 0;
  const boxIds: number[] = [];
  let requestee = '';
  let description = '';
  let requestData = false;
  try {
    const reader = createReader(bytes);
    while (reader.pos < reader.len) {
      tag = 0; // so a failure inside the tag itself is not blamed on the previous field
      tag = reader.tag();
      switch (tag) {
        case START: startTimestampMsUtc = readUint64(reader); seen |= SEEN_START; break;
        case END: endTimestampMsUtc = readUint64(reader); seen |= SEEN_END; break;
        case TRIGGER: triggerType = readEnum(reader, TRIGGER_TYPE_NAMES); seen |= SEEN_TRIGGER; break;
        case PERCENT: percentMagnitude = reader.double(); seen |= SEEN_PERCENT; break;
        case BOX_IDS: boxIds.push(reader.int32()); break;
        case BOX_IDS_PACKED: reader.int32s(boxIds); break;
        case REQUESTEE: requestee = reader.string(); seen |= SEEN_REQUESTEE; break;
        case DESCRIPTION: description = reader.string(); seen |= SEEN_DESCRIPTION; break;
        case REQUEST_DATA: requestData = reader.bool(); seen |= SEEN_REQUEST_DATA; break;
        default: skipUnknown(reader, tag, NAMES);
      }
    }
  } catch (error) {
    throw toDecodeError(error, MESSAGE, NAMES[tag >>> 3]);
  }
  checkRequired(seen, REQUIRED, MESSAGE);
  return {
    startTimestampMsUtc,
    endTimestampMsUtc,
    triggerType,
    percentMagnitude,
    boxIds,
    requestee,
    description,
    requestData,
  };
}

/**
 * Encodes one `RequestEventMessage` in field-number order; `box_ids` unpacked, as the original
 * Python and Rust senders do.
 *
 * @throws {EncodeError} when a required field is missing, `triggerType` is not a TriggerType name,
 *   or a value does not fit its wire type.
 */
export function encodeRequestEventMessage(message: RequestEventMessage): Uint8Array {
  const start = checkUint64(message.startTimestampMsUtc, MESSAGE, 'start_timestamp_ms_utc');
  const end = checkUint64(message.endTimestampMsUtc, MESSAGE, 'end_timestamp_ms_utc');
  const triggerType = checkEnum(message.triggerType, TRIGGER_TYPE, MESSAGE, 'trigger_type');
  const percentMagnitude = checkDouble(message.percentMagnitude, MESSAGE, 'percent_magnitude');
  const boxIds: unknown = message.boxIds;
  if (!Array.isArray(boxIds)) throw new EncodeError(MESSAGE, 'box_ids', 'not an array');
  for (let i = 0; i < boxIds.length; i++) checkInt32(boxIds[i], MESSAGE, `box_ids[${i}]`);
  const requestee = checkString(message.requestee, MESSAGE, 'requestee');
  const description = checkString(message.description, MESSAGE, 'description');
  const requestData = checkBool(message.requestData, MESSAGE, 'request_data');

  const writer = createWriter();
  writer.uint32(START).uint64(start);
  writer.uint32(END).uint64(end);
  writer.uint32(TRIGGER).int32(triggerType);
  writer.uint32(PERCENT).double(percentMagnitude);
  for (let i = 0; i < boxIds.length; i++) writer.uint32(BOX_IDS).int32(boxIds[i] as number);
  writer.uint32(REQUESTEE).string(requestee);
  writer.uint32(DESCRIPTION).string(description);
  writer.uint32(REQUEST_DATA).bool(requestData);
  return writer.finish();
}
