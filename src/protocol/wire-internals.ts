/**
 * Field-walking logic shared by the message codecs of this folder, on the protobufjs wire
 * primitives (`protobufjs/minimal` Reader and Writer). Not part of the public API.
 *
 * Decoding contract: a decoder either returns a complete message or throws a {@link DecodeError};
 * whatever protobufjs throws (RangeError at the end of the buffer, Error on a malformed varint)
 * is turned into one by {@link toDecodeError}. Encoding contract: every value is checked before
 * the first byte is written, and a bad one throws an {@link EncodeError}.
 *
 * @internal
 */
import protobuf from 'protobufjs/minimal.js';
import { DecodeError, EncodeError, type DecodeFailure } from '../core/errors.js';

export type Reader = protobuf.Reader;
export type Writer = protobuf.Writer;

/** A reader over `bytes` (a Node Buffer from a socket gets protobufjs's faster BufferReader). */
export function createReader(bytes: Uint8Array): Reader {
  return protobuf.Reader.create(bytes);
}

/** A writer whose `finish()` returns a plain Uint8Array (not a pooled Node Buffer). */
export function createWriter(): Writer {
  return new protobuf.Writer();
}

/** Wire types (the low 3 bits of a tag). */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
const SGROUP = 3;
export const I32 = 5;

/** Builds a tag from a field number and a wire type. */
export function tagOf(fieldNumber: number, wireType: number): number {
  return ((fieldNumber << 3) | wireType) >>> 0;
}

/**
 * One field as a codec reads and writes it. The tables built from these are exported by each codec
 * and checked against `proto/opq.proto` by a test, so the codec cannot drift from the schema.
 */
export interface FieldSpec {
  /** Field number on the wire. */
  readonly number: number;
  /** Proto type as written in the .proto file (scalar name, or the enum/message name). */
  readonly type: string;
  readonly rule: 'required' | 'optional' | 'repeated';
  /** Wire type the codec writes (and expects, besides packed LEN for repeated scalars). */
  readonly wire: number;
}

/** Field specs of one message, keyed by proto field name. */
export type FieldTable = Readonly<Record<string, FieldSpec>>;

/** The tag a codec writes for `spec`. */
export function tagFor(spec: FieldSpec): number {
  return tagOf(spec.number, spec.wire);
}

/** Proto field names indexed by field number (holes for unused numbers), for error messages. */
export function fieldNames(table: FieldTable): readonly (string | undefined)[] {
  const names: (string | undefined)[] = [];
  for (const [name, spec] of Object.entries(table)) names[spec.number] = name;
  return names;
}

/** Names of the required fields, in field-number order (bit i of a `seen` mask = entry i). */
export function requiredNames(table: FieldTable): readonly string[] {
  return Object.entries(table)
    .filter(([, spec]) => spec.rule === 'required')
    .sort(([, a], [, b]) => a.number - b.number)
    .map(([name]) => name);
}

/** A message type with its `readonly` modifiers removed, for building a decoded value. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Thrown by the primitives below when bytes are well-framed but the value is not acceptable; the
 * message reader that catches it adds the message and field names. Never escapes this folder.
 */
export class WireFault extends Error {
  constructor(
    readonly reason: DecodeFailure,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/**
 * Turns anything thrown while reading `field` of `messageType` into a {@link DecodeError}.
 * A DecodeError from a nested message is re-labelled with this message and a field path
 * (`cycles[3].time`) so the outermost message type is what callers see.
 */
export function toDecodeError(error: unknown, messageType: string, field: string | undefined): DecodeError {
  if (error instanceof DecodeError) {
    if (error.messageType === messageType) return error;
    const path = field === undefined ? error.field : error.field === undefined ? field : `${field}.${error.field}`;
    return new DecodeError(error.reason, messageType, stripPrefix(error), path, { cause: error });
  }
  if (error instanceof WireFault) return new DecodeError(error.reason, messageType, error.detail, field);
  // protobufjs signals reading past the end (of the buffer or of an embedded message) with RangeError.
  if (error instanceof RangeError) return new DecodeError('truncated', messageType, 'message ends inside a field', field, { cause: error });
  const detail = error instanceof Error ? error.message : String(error);
  return new DecodeError('invalid-value', messageType, `malformed wire data: ${detail}`, field, { cause: error });
}

/** The detail of a nested error without its `Type.field: ` prefix. */
function stripPrefix(error: DecodeError): string {
  const prefix = `${error.messageType}${error.field ? `.${error.field}` : ''}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/**
 * Handles a tag that the message reader did not recognise: a known field with a wire type it
 * cannot have is refused (`wrong-wire-type`); an unknown field is skipped (proto2 semantics).
 *
 * @param names Proto field names indexed by field number (holes for unused numbers).
 */
export function skipUnknown(reader: Reader, tag: number, names: readonly (string | undefined)[]): void {
  const fieldNumber = tag >>> 3;
  const wireType = tag & 7;
  if (fieldNumber === 0) throw new WireFault('invalid-value', 'field number 0 is not allowed');
  if (names[fieldNumber] !== undefined) {
    throw new WireFault('wrong-wire-type', `wire type ${wireType} is not valid for this field`);
  }
  // 4 (end group) without a start, and 6/7 (undefined), cannot be skipped: the framing is lost.
  if (wireType === 4 || wireType === 6 || wireType === 7) {
    throw new WireFault('wrong-wire-type', `wire type ${wireType} of unknown field ${fieldNumber} cannot be skipped`);
  }
  reader.skipType(wireType, 0, wireType === SGROUP ? fieldNumber : undefined);
}

/**
 * Reads a uint64 varint as a number, refusing values above `Number.MAX_SAFE_INTEGER` instead of
 * rounding them. Does not allocate (protobufjs's own `uint64()` builds a Long per call).
 */
export function readUint64(reader: Reader): number {
  const buf = reader.buf;
  const len = reader.len;
  let pos = reader.pos;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= len) {
      reader.pos = pos;
      throw new RangeError('index out of range');
    }
    const byte = buf[pos++] as number;
    // Exact while the sum stays ≤ 2^53; once the true value passes it, the rounded sum does too.
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      reader.pos = pos;
      if (value > Number.MAX_SAFE_INTEGER) throw new WireFault('invalid-value', 'uint64 value above Number.MAX_SAFE_INTEGER');
      return value;
    }
    scale *= 128;
  }
  reader.pos = pos;
  throw new WireFault('invalid-value', 'varint longer than 10 bytes');
}

/** Reads an enum value (int32 varint) and maps it to its name; unknown numbers are refused. */
export function readEnum<Name extends string>(reader: Reader, names: readonly (Name | undefined)[]): Name {
  const number = reader.int32();
  const name = number >= 0 ? names[number] : undefined;
  if (name === undefined) throw new WireFault('invalid-value', `unknown enum value ${number}`);
  return name;
}

/**
 * Runs `read` over an embedded message of `size` bytes at the reader's position, with the reader
 * bounded to it, so a field running past the embedded message is refused as `truncated`.
 */
export function readEmbedded<T>(reader: Reader, read: (reader: Reader, end: number) => T): T {
  const size = reader.size();
  const end = reader.pos + size;
  const outer = reader.len;
  if (end > outer) throw new RangeError('index out of range');
  reader.len = end;
  const value = read(reader, end);
  reader.len = outer;
  return value;
}

/** Names the first required field whose bit is missing from `seen` (bit i = `required[i]`). */
export function checkRequired(seen: number, required: readonly string[], messageType: string): void {
  const all = (1 << required.length) - 1;
  if ((seen & all) === all) return;
  for (let i = 0; i < required.length; i++) {
    if ((seen & (1 << i)) === 0) {
      throw new DecodeError('missing-field', messageType, 'missing required field', required[i]);
    }
  }
}

/** Enum name → number lookup table, indexed by number. */
export function enumNames<Name extends string>(values: Readonly<Record<Name, number>>): readonly (Name | undefined)[] {
  const names: (Name | undefined)[] = [];
  for (const [name, number] of Object.entries(values) as [Name, number][]) names[number] = name;
  return names;
}

/**
 * A growable Int32Array for the samples of `Cycle.data`, shared by all cycles of one decode so
 * that a DataMessage of 2000 samples costs one scratch array plus one exact copy per cycle,
 * never an allocation per sample.
 */
export class SampleBuffer {
  private data: Int32Array;
  private length = 0;

  constructor(capacity: number) {
    this.data = new Int32Array(Math.max(16, capacity));
  }

  /** Starts a new cycle. */
  reset(): void {
    this.length = 0;
  }

  push(value: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = value;
  }

  /** Makes room for `extra` more samples (a packed run whose count is known up front). */
  reserve(extra: number): void {
    if (this.length + extra > this.data.length) this.grow(this.length + extra);
  }

  /** The samples pushed since the last reset, as an array of exactly that length. */
  take(): Int32Array {
    return this.data.slice(0, this.length);
  }

  private grow(minimum: number): void {
    const next = new Int32Array(Math.max(minimum, this.data.length * 2));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
}

/**
 * Reads an unpacked int32 (the reader is just past its tag) and every directly following element
 * of the same field, so a run of samples costs one varint read each, not a tag read and a field
 * dispatch each. `tag` must fit one byte (field numbers 1–15).
 */
export function readUnpackedInt32Run(reader: Reader, tag: number, out: SampleBuffer): void {
  out.push(reader.int32());
  const buf = reader.buf;
  while (reader.pos < reader.len && buf[reader.pos] === tag) {
    reader.pos++;
    out.push(reader.int32());
  }
}

/** Reads a packed run of int32 varints into `out`. The reader must be at its length prefix. */
export function readPackedInt32(reader: Reader, out: SampleBuffer): void {
  const size = reader.size();
  const start = reader.pos;
  const end = start + size;
  const outer = reader.len;
  if (end > outer) throw new RangeError('index out of range');
  // Every varint ends in exactly one byte below 0x80, so this is the exact count when well formed.
  const buf = reader.buf;
  let count = 0;
  for (let i = start; i < end; i++) if ((buf[i] as number) < 0x80) count++;
  out.reserve(count);
  reader.len = end;
  while (reader.pos < end) out.push(reader.int32());
  reader.len = outer;
}

// ----- encoding checks -----------------------------------------------------------------------

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

/** Throws unless `value` is an int32. */
export function checkInt32(value: unknown, messageType: string, field: string): number {
  if (value == null) throw missing(messageType, field);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw new EncodeError(messageType, field, `${String(value)} is not an int32`);
  }
  return value;
}

/** Throws unless `value` is a uint32. */
export function checkUint32(value: unknown, messageType: string, field: string): number {
  if (value == null) throw missing(messageType, field);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
    throw new EncodeError(messageType, field, `${String(value)} is not a uint32`);
  }
  return value;
}

/** Throws unless `value` is a uint64 that a number holds exactly. */
export function checkUint64(value: unknown, messageType: string, field: string): number {
  if (value == null) throw missing(messageType, field);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new EncodeError(messageType, field, `${String(value)} is not a uint64 within Number.MAX_SAFE_INTEGER`);
  }
  return value;
}

/**
 * Throws unless `value` is a number a float32 can carry: NaN and ±Infinity are valid wire values
 * (semantic checks belong to the stages), but a finite value beyond float32 would silently become
 * Infinity.
 */
export function checkFloat(value: unknown, messageType: string, field: string): number {
  if (value == null) throw missing(messageType, field);
  if (typeof value !== 'number' || (Number.isFinite(value) && !Number.isFinite(Math.fround(value)))) {
    throw new EncodeError(messageType, field, `${String(value)} does not fit a float32`);
  }
  return value;
}

/** Throws unless `value` is a number (any double, NaN included). */
export function checkDouble(value: unknown, messageType: string, field: string): number {
  if (value == null) throw missing(messageType, field);
  if (typeof value !== 'number') throw new EncodeError(messageType, field, `${String(value)} is not a number`);
  return value;
}

/** Throws unless `value` is a string. */
export function checkString(value: unknown, messageType: string, field: string): string {
  if (value == null) throw missing(messageType, field);
  if (typeof value !== 'string') throw new EncodeError(messageType, field, 'not a string');
  return value;
}

/** Throws unless `value` is a boolean. */
export function checkBool(value: unknown, messageType: string, field: string): boolean {
  if (value == null) throw missing(messageType, field);
  if (typeof value !== 'boolean') throw new EncodeError(messageType, field, 'not a boolean');
  return value;
}

/** Throws unless `value` names a member of `values`; returns its number. */
export function checkEnum(value: unknown, values: Readonly<Record<string, number>>, messageType: string, field: string): number {
  if (value == null) throw missing(messageType, field);
  if (typeof value !== 'string' || !Object.hasOwn(values, value)) {
    throw new EncodeError(messageType, field, `${String(value)} is not one of ${Object.keys(values).join(', ')}`);
  }
  return values[value] as number;
}

function missing(messageType: string, field: string): EncodeError {
  return new EncodeError(messageType, field, 'missing required field');
}
