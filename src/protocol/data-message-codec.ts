import type { Cycle, DataMessage } from './messages.js';
import { readCycle, writeCycle } from './cycle-codec.js';
import {
  LEN,
  VARINT,
  SampleBuffer,
  checkInt32,
  checkRequired,
  createReader,
  createWriter,
  fieldNames,
  readEmbedded,
  requiredNames,
  skipUnknown,
  tagFor,
  toDecodeError,
} from './wire-internals.js';
import { EncodeError } from '../core/errors.js';
import type { FieldTable } from './wire-internals.js';

const MESSAGE = 'DataMessage';

/** Field layout of `opq.proto.DataMessage` as this codec reads and writes it (field 2 is unused). */
export const DATA_MESSAGE_FIELDS = {
  id: { number: 1, type: 'int32', rule: 'required', wire: VARINT },
  cycles: { number: 3, type: 'Cycle', rule: 'repeated', wire: LEN },
} as const satisfies FieldTable;

const F = DATA_MESSAGE_FIELDS;
const NAMES = fieldNames(F);
const REQUIRED = requiredNames(F);
const ID = tagFor(F.id);
const CYCLES = tagFor(F.cycles);

/**
 * Decodes one `DataMessage` (frames 1..N of a box's reply to READ, spec M6): a box id and its
 * cycles, each with its samples in an `Int32Array`. Samples are accepted packed and unpacked.
 *
 * @throws {DecodeError} with message type `DataMessage`; a bad cycle is named by path, e.g.
 *   field `cycles[3].time`. Never anything else.
 */
export function decodeDataMessage(bytes: Uint8Array): DataMessage {
  let tag = 0;
  let seen = 0;
  let id = 0;
  const cycles: Cycle[] = [];
  try {
    const reader = createReader(bytes);
    // One scratch buffer for the samples of all cycles: at most one sample per 2 bytes unpacked.
    const samples = new SampleBuffer(bytes.length >>> 1);
    const readOne = (r: typeof reader, end: number): Cycle => readCycle(r, end, samples);
    while (reader.pos < reader.len) {
      tag = 0; // so a failure inside the tag itself is not blamed on the previous field
      tag = reader.tag();
      switch (tag) {
        case CYCLES: cycles.push(readEmbedded(reader, readOne)); break;
        case ID: id = reader.int32(); seen |= 1; break;
        default: skipUnknown(reader, tag, NAMES);
      }
    }
  } catch (error) {
    const field = tag === CYCLES ? `cycles[${cycles.length}]` : NAMES[tag >>> 3];
    throw toDecodeError(error, MESSAGE, field);
  }
  checkRequired(seen, REQUIRED, MESSAGE);
  return { id, cycles };
}

/**
 * Encodes one `DataMessage`; each cycle's samples are written unpacked, as a real box does.
 *
 * @throws {EncodeError} naming the field, e.g. `cycles[2].time`.
 */
export function encodeDataMessage(message: DataMessage): Uint8Array {
  const id = checkInt32(message.id, MESSAGE, 'id');
  const cycles: unknown = message.cycles;
  if (!Array.isArray(cycles)) throw new EncodeError(MESSAGE, 'cycles', 'not an array');
  const writer = createWriter();
  writer.uint32(ID).int32(id);
  for (let i = 0; i < cycles.length; i++) {
    const cycle: unknown = cycles[i];
    if (typeof cycle !== 'object' || cycle === null) throw new EncodeError(MESSAGE, `cycles[${i}]`, 'not a Cycle');
    writer.uint32(CYCLES).fork();
    writeCycle(writer, cycle as Cycle, MESSAGE, `cycles[${i}].`);
    writer.ldelim();
  }
  return writer.finish();
}
