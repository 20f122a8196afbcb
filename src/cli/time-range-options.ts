import { DateTime } from 'luxon';
import { UsageError } from './command.js';

/**
 * An ISO 8601 time (UTC unless it names a zone, e.g. `2024-05-01T10:00Z`) or epoch ms, as
 * `--from` / `--to` take it.
 *
 * @throws UsageError naming `option` for anything else.
 */
export function timeOption(text: string, option: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const time = DateTime.fromISO(text, { zone: 'utc' });
  if (!time.isValid) throw new UsageError(`${option} "${text}" is not an ISO 8601 time like 2024-05-01T10:00Z (${time.invalidExplanation ?? time.invalidReason})`);
  return time.toMillis();
}

/** `--from` and `--to` as ms, each optional; `--to` must be after `--from`. */
export function timeRangeOptions(values: { readonly from?: string | undefined; readonly to?: string | undefined }): { fromMs?: number; toMs?: number } {
  const fromMs = values.from === undefined ? undefined : timeOption(values.from, '--from');
  const toMs = values.to === undefined ? undefined : timeOption(values.to, '--to');
  if (fromMs !== undefined && toMs !== undefined && !(toMs > fromMs)) throw new UsageError('--to must be after --from');
  return { ...(fromMs === undefined ? {} : { fromMs }), ...(toMs === undefined ? {} : { toMs }) };
}

/** A `--limit`: a whole number ≥ 1. */
export function limitOption(text: string, option = '--limit'): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new UsageError(`${option} must be a whole number ≥ 1 (got "${text}")`);
  return value;
}

/** `2024-05-01T10:00:00Z` (milliseconds only when there are some); `-` for a time that is not finite. */
export function isoTime(ms: number): string {
  return Number.isFinite(ms) ? (DateTime.fromMillis(ms, { zone: 'utc' }).toISO({ suppressMilliseconds: true }) ?? String(ms)) : '-';
}

/** `between 2024-… and now` for messages about an empty range; empty without a range. */
export function describeRange(range: { readonly fromMs?: number; readonly toMs?: number }): string {
  if (range.fromMs === undefined && range.toMs === undefined) return '';
  return ` between ${range.fromMs === undefined ? 'the start' : isoTime(range.fromMs)} and ${range.toMs === undefined ? 'now' : isoTime(range.toMs)}`;
}
