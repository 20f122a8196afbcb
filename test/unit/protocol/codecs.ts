/** The five message codecs with their arbitraries, so property tests can run over all of them. */
import type fc from 'fast-check';
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
  CYCLE_FIELDS,
  DATA_MESSAGE_FIELDS,
  REQUEST_DATA_MESSAGE_FIELDS,
  REQUEST_EVENT_MESSAGE_FIELDS,
  TRIGGER_MESSAGE_FIELDS,
  type FieldTable,
} from '../../../src/protocol/codec.js';
import * as arb from './message-arbitraries.js';

export interface CodecCase<T> {
  /** Message name in `opq.proto`. */
  readonly name: string;
  readonly fields: FieldTable;
  readonly decode: (bytes: Uint8Array) => T;
  readonly encode: (message: T) => Uint8Array;
  readonly arbitrary: fc.Arbitrary<T>;
}

const codec = <T>(c: CodecCase<T>): CodecCase<unknown> => c as CodecCase<unknown>;

export const CODECS: readonly CodecCase<unknown>[] = [
  codec({ name: 'Cycle', fields: CYCLE_FIELDS, decode: decodeCycle, encode: encodeCycle, arbitrary: arb.cycle }),
  codec({ name: 'DataMessage', fields: DATA_MESSAGE_FIELDS, decode: decodeDataMessage, encode: encodeDataMessage, arbitrary: arb.dataMessage }),
  codec({ name: 'TriggerMessage', fields: TRIGGER_MESSAGE_FIELDS, decode: decodeTriggerMessage, encode: encodeTriggerMessage, arbitrary: arb.triggerMessage }),
  codec({
    name: 'RequestDataMessage',
    fields: REQUEST_DATA_MESSAGE_FIELDS,
    decode: decodeRequestDataMessage,
    encode: encodeRequestDataMessage,
    arbitrary: arb.requestDataMessage,
  }),
  codec({
    name: 'RequestEventMessage',
    fields: REQUEST_EVENT_MESSAGE_FIELDS,
    decode: decodeRequestEventMessage,
    encode: encodeRequestEventMessage,
    arbitrary: arb.requestEventMessage,
  }),
];
