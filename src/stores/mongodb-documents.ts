import { Double, Int32, Long, type Document } from 'mongodb';
import { StoreError } from '../core/errors.js';
import type { TriggerType } from '../protocol/messages.js';
import type { BoxEventDoc, BoxRecord, BoxStatus, EventDoc, MeasurementDoc, TrendDoc, TrendStats } from '../protocol/documents.js';

/**
 * The OPQ documents (spec §4) as BSON, with the BSON types the original wrote, so OPQ View and
 * Mauka read our data as they read Makai's:
 *
 * - `timestamp_ms` and every other ms timestamp: int64 (`Long`). A plain JS number would be
 *   written as int32 or double depending on its value.
 * - `event_id`: int32.
 * - voltages, frequencies, thd, trend stats: double, even when the value is whole (`Double`).
 * - `expireAt`: date. Box ids: decimal strings.
 *
 * Writing validates: a value that would change on the way (a fractional timestamp silently
 * truncated by `Long.fromNumber`, NaN, an event id beyond int32) is refused with a
 * non-retryable {@link StoreError}. Reading accepts whatever numeric BSON type another writer
 * used and returns plain numbers.
 *
 * @internal
 */

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function refuse(operation: string, field: string, value: unknown, want: string): never {
  throw new StoreError(operation, `${field} must be ${want}, got ${describe(value)}`, false);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) return `Date(${String(value.getTime())})`;
  return String(value);
}

/** int64 from an integral number of ms (or any safe integer). */
export function int64(operation: string, field: string, value: unknown): Long {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) refuse(operation, field, value, 'a safe integer');
  return Long.fromNumber(value);
}

export function int32(operation: string, field: string, value: unknown): Int32 {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    refuse(operation, field, value, 'an int32');
  }
  return new Int32(value);
}

export function double(operation: string, field: string, value: unknown): Double {
  if (typeof value !== 'number' || !Number.isFinite(value)) refuse(operation, field, value, 'a finite number');
  return new Double(value);
}

function text(operation: string, field: string, value: unknown): string {
  if (typeof value !== 'string') refuse(operation, field, value, 'a string');
  return value;
}

export function date(operation: string, field: string, value: unknown): Date {
  if (!(value instanceof Date) || !Number.isFinite(value.getTime())) refuse(operation, field, value, 'a valid Date');
  return value;
}

function array<T>(operation: string, field: string, value: unknown, item: (op: string, f: string, v: unknown) => T): T[] {
  if (!Array.isArray(value)) refuse(operation, field, value, 'an array');
  return value.map((v: unknown, i) => item(operation, `${field}[${i}]`, v));
}

function stats(operation: string, field: string, value: TrendStats): Document {
  return {
    min: double(operation, `${field}.min`, value.min),
    max: double(operation, `${field}.max`, value.max),
    average: double(operation, `${field}.average`, value.average),
  };
}

// --- to BSON (field order as the original writers) -------------------------------------------

/** `measurements` (spec §4.1): box_id, timestamp_ms, voltage, frequency, expireAt, thd. */
export function measurementToBson(doc: MeasurementDoc, operation = 'insertMeasurements'): Document {
  return {
    box_id: text(operation, 'box_id', doc.box_id),
    timestamp_ms: int64(operation, 'timestamp_ms', doc.timestamp_ms),
    voltage: double(operation, 'voltage', doc.voltage),
    frequency: double(operation, 'frequency', doc.frequency),
    expireAt: date(operation, 'expireAt', doc.expireAt),
    ...(doc.thd === undefined ? {} : { thd: double(operation, 'thd', doc.thd) }),
  };
}

/** `trends` (spec §4.2): voltage, frequency, thd, box_id, timestamp_ms, location; then our window_start_ms, count. */
export function trendToBson(doc: TrendDoc, operation = 'insertTrends'): Document {
  return {
    ...(doc.voltage === undefined ? {} : { voltage: stats(operation, 'voltage', doc.voltage) }),
    ...(doc.frequency === undefined ? {} : { frequency: stats(operation, 'frequency', doc.frequency) }),
    ...(doc.thd === undefined ? {} : { thd: stats(operation, 'thd', doc.thd) }),
    box_id: text(operation, 'box_id', doc.box_id),
    timestamp_ms: int64(operation, 'timestamp_ms', doc.timestamp_ms),
    ...(doc.location === undefined ? {} : { location: doc.location }),
    window_start_ms: int64(operation, 'window_start_ms', doc.window_start_ms),
    count: int32(operation, 'count', doc.count),
  };
}

/** `events` (spec §4.3), plus our `reply_latencies_ms` when the document has it. */
export function eventToBson(doc: EventDoc, operation = 'insertEvent'): Document {
  return {
    type: text(operation, 'type', doc.type),
    event_id: int32(operation, 'event_id', doc.event_id),
    description: text(operation, 'description', doc.description),
    boxes_triggered: array(operation, 'boxes_triggered', doc.boxes_triggered, text),
    boxes_received: array(operation, 'boxes_received', doc.boxes_received, text),
    latencies_ms: array(operation, 'latencies_ms', doc.latencies_ms, int64),
    target_event_start_timestamp_ms: int64(operation, 'target_event_start_timestamp_ms', doc.target_event_start_timestamp_ms),
    target_event_end_timestamp_ms: int64(operation, 'target_event_end_timestamp_ms', doc.target_event_end_timestamp_ms),
    ...(doc.reply_latencies_ms === undefined
      ? {}
      : { reply_latencies_ms: array(operation, 'reply_latencies_ms', doc.reply_latencies_ms, double) }),
  };
}

/** `box_events` (spec §4.4); `location` omitted when the document has none, as the original. */
export function boxEventToBson(doc: BoxEventDoc, operation = 'recordBoxReply'): Document {
  return {
    box_id: text(operation, 'box_id', doc.box_id),
    event_start_timestamp_ms: int64(operation, 'event_start_timestamp_ms', doc.event_start_timestamp_ms),
    event_end_timestamp_ms: int64(operation, 'event_end_timestamp_ms', doc.event_end_timestamp_ms),
    event_id: int32(operation, 'event_id', doc.event_id),
    window_timestamps_ms: array(operation, 'window_timestamps_ms', doc.window_timestamps_ms, int64),
    data_fs_filename: text(operation, 'data_fs_filename', doc.data_fs_filename),
    ...(doc.location === undefined ? {} : { location: doc.location }),
  };
}

// --- from BSON ---------------------------------------------------------------------------

/** A plain number from any numeric BSON value (int32, int64, double) another writer may have used. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Long) return value.toNumber();
  if (value instanceof Int32 || value instanceof Double) return value.valueOf();
  return Number.NaN;
}

function numbers(value: unknown): number[] {
  return Array.isArray(value) ? value.map(toNumber) : [];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function statsFrom(value: unknown): TrendStats | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const s = value as Record<string, unknown>;
  return { min: toNumber(s['min']), max: toNumber(s['max']), average: toNumber(s['average']) };
}

export function measurementFromBson(doc: Document): MeasurementDoc {
  return {
    box_id: String(doc['box_id']),
    timestamp_ms: toNumber(doc['timestamp_ms']),
    voltage: toNumber(doc['voltage']),
    frequency: toNumber(doc['frequency']),
    ...(doc['thd'] === undefined ? {} : { thd: toNumber(doc['thd']) }),
    expireAt: doc['expireAt'] instanceof Date ? doc['expireAt'] : new Date(Number.NaN),
  };
}

/** Trends written by the original Makai lack `window_start_ms` and `count`: they read as the window end and 0. */
export function trendFromBson(doc: Document): TrendDoc {
  const voltage = statsFrom(doc['voltage']);
  const frequency = statsFrom(doc['frequency']);
  const thd = statsFrom(doc['thd']);
  const timestamp = toNumber(doc['timestamp_ms']);
  return {
    box_id: String(doc['box_id']),
    timestamp_ms: timestamp,
    window_start_ms: doc['window_start_ms'] === undefined ? timestamp : toNumber(doc['window_start_ms']),
    count: doc['count'] === undefined ? 0 : toNumber(doc['count']),
    ...(voltage === undefined ? {} : { voltage }),
    ...(frequency === undefined ? {} : { frequency }),
    ...(thd === undefined ? {} : { thd }),
    location: doc['location'],
  };
}

export function eventFromBson(doc: Document): EventDoc {
  return {
    event_id: toNumber(doc['event_id']),
    type: String(doc['type']) as TriggerType,
    description: String(doc['description'] ?? ''),
    boxes_triggered: strings(doc['boxes_triggered']),
    boxes_received: strings(doc['boxes_received']),
    latencies_ms: numbers(doc['latencies_ms']),
    ...(doc['reply_latencies_ms'] === undefined ? {} : { reply_latencies_ms: numbers(doc['reply_latencies_ms']) }),
    target_event_start_timestamp_ms: toNumber(doc['target_event_start_timestamp_ms']),
    target_event_end_timestamp_ms: toNumber(doc['target_event_end_timestamp_ms']),
  };
}

export function boxEventFromBson(doc: Document): BoxEventDoc {
  return {
    event_id: toNumber(doc['event_id']),
    box_id: String(doc['box_id']),
    event_start_timestamp_ms: toNumber(doc['event_start_timestamp_ms']),
    event_end_timestamp_ms: toNumber(doc['event_end_timestamp_ms']),
    window_timestamps_ms: numbers(doc['window_timestamps_ms']),
    data_fs_filename: String(doc['data_fs_filename']),
    ...('location' in doc ? { location: doc['location'] } : {}),
  };
}

/** `opq_boxes`: only the fields Makai reads; View's other fields are left out. */
export function boxFromBson(doc: Document): BoxRecord {
  return {
    box_id: String(doc['box_id']),
    ...('location' in doc ? { location: doc['location'] } : {}),
    ...(typeof doc['public_key'] === 'string' ? { public_key: doc['public_key'] } : {}),
    ...(typeof doc['calibration_constant'] === 'number' ? { calibration_constant: doc['calibration_constant'] } : {}),
  };
}

export function boxStatusFromBson(doc: Document): BoxStatus {
  return {
    box_id: String(doc['box_id']),
    ...(doc['last_measurement_ms'] === undefined ? {} : { last_measurement_ms: toNumber(doc['last_measurement_ms']) }),
    ...(doc['last_pong_ms'] === undefined ? {} : { last_pong_ms: toNumber(doc['last_pong_ms']) }),
  };
}
