import { asyncScheduler, map } from 'rxjs';
import type { OperatorFunction, SchedulerLike } from 'rxjs';
import { ConfigError } from '../core/errors.js';
import type { TriggerMessage } from '../protocol/messages.js';
import type { MeasurementDoc } from '../protocol/documents.js';

/** The original `mongo_measurement_expiration_seconds` (86 400 s), in ms. */
export const DEFAULT_MEASUREMENT_TTL_MS = 86_400_000;

/**
 * Longest TTL: 3650 days, the schema's `mongo_measurement_expiration_seconds` maximum. Beyond
 * a few hundred thousand years `expireAt` is no valid Date and every document would be refused.
 */
export const MAX_MEASUREMENT_TTL_MS = 3650 * 86_400_000;

/**
 * Builds the `measurements` document of one trigger message (spec §4.1).
 *
 * Fields are created in the original's order (box_id, timestamp_ms, voltage, frequency,
 * expireAt, then thd only when the message carried it; never `thd: undefined`).
 *
 * @param message A decoded trigger message.
 * @param receivedAtMs When Makai received it (processing time, ms): the TTL counts from here,
 *   as in the original, not from the box's own clock.
 * @param ttlMs How long the measurement is kept.
 * @returns The document; `timestamp_ms` is the box time of the message.
 */
export function toMeasurementDoc(message: TriggerMessage, receivedAtMs: number, ttlMs: number): MeasurementDoc {
  const box_id = String(message.id);
  const expireAt = new Date(receivedAtMs + ttlMs);
  // Two literals rather than a conditional spread: this runs for every message.
  return message.thd === undefined
    ? { box_id, timestamp_ms: message.time, voltage: message.rms, frequency: message.frequency, expireAt }
    : { box_id, timestamp_ms: message.time, voltage: message.rms, frequency: message.frequency, expireAt, thd: message.thd };
}

/** Options of {@link toMeasurementDocs}. */
export interface ToMeasurementDocsOptions {
  /** How long measurements are kept (ms after receipt). Default 86 400 000 (one day). */
  readonly ttlMs?: number;
  /** Clock that stamps receipt time; defaults to `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Maps each trigger message to its `measurements` document, stamping receipt time from the
 * scheduler's clock.
 *
 * ```
 * ttlMs = 100
 * source:   --a---b--|
 * output:   --x---y--|      x.expireAt = new Date(2 + 100), y.expireAt = new Date(6 + 100)
 * ```
 *
 * @param options TTL and scheduler.
 * @returns An operator from trigger messages to measurement documents.
 * @throws ConfigError (synchronously) when `ttlMs` is out of range.
 */
export function toMeasurementDocs(options: ToMeasurementDocsOptions = {}): OperatorFunction<TriggerMessage, MeasurementDoc> {
  const ttlMs = options.ttlMs ?? DEFAULT_MEASUREMENT_TTL_MS;
  const scheduler = options.scheduler ?? asyncScheduler;
  if (!Number.isFinite(ttlMs) || ttlMs < 0 || ttlMs > MAX_MEASUREMENT_TTL_MS) {
    throw new ConfigError(`must be from 0 to ${MAX_MEASUREMENT_TTL_MS} ms (3650 days), got ${ttlMs}`, { path: 'ttlMs' });
  }
  return function toMeasurementDocsOperatorFunction(source) {
    return source.pipe(map((message) => toMeasurementDoc(message, scheduler.now(), ttlMs)));
  };
}
