/**
 * The OPQ protobuf codec (`proto/opq.proto`): one decode/encode pair per message.
 * Decoders throw only `DecodeError`; encoders throw only `EncodeError`. Re-exports only.
 */
export { decodeCycle, encodeCycle, CYCLE_FIELDS } from './cycle-codec.js';
export { decodeDataMessage, encodeDataMessage, DATA_MESSAGE_FIELDS } from './data-message-codec.js';
export { decodeTriggerMessage, encodeTriggerMessage, TRIGGER_MESSAGE_FIELDS } from './trigger-message-codec.js';
export {
  decodeRequestDataMessage,
  encodeRequestDataMessage,
  REQUEST_DATA_MESSAGE_FIELDS,
} from './request-data-message-codec.js';
export {
  decodeRequestEventMessage,
  encodeRequestEventMessage,
  REQUEST_EVENT_MESSAGE_FIELDS,
} from './request-event-message-codec.js';
export type { FieldSpec, FieldTable } from './wire-internals.js';
