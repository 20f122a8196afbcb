import { Duration } from 'luxon';

/**
 * Durations as people write them in topologies and configs: a number of milliseconds, an
 * ISO-8601 duration (`PT1M`, `P1D`), or a short form (`200ms`, `1s`, `1m`, `24h`, `1h30m`).
 */
export type DurationInput = number | string;

const SHORT_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SHORT_FORM = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d))+$/;
const SHORT_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Parses a {@link DurationInput} to whole milliseconds, or returns an explanation of why it
 * cannot. Callers wrap the explanation in a `ConfigError` that names the file and field.
 */
export function parseDuration(input: DurationInput): { ms: number } | { error: string } {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? { ms: Math.round(input) } : { error: `expected a non-negative number of ms, got ${input}` };
  }
  const text = input.trim();
  if (SHORT_FORM.test(text)) {
    let ms = 0;
    for (const [, amount, unit] of text.matchAll(SHORT_PART)) ms += Number(amount) * SHORT_UNITS[unit as string]!;
    return { ms: Math.round(ms) };
  }
  const iso = Duration.fromISO(text);
  if (iso.isValid) return { ms: Math.round(iso.as('milliseconds')) };
  return { error: `"${input}" is not a duration (use e.g. "200ms", "1m", "24h" or ISO-8601 "PT1M")` };
}

/** A human-readable form of a duration in ms, for logs (`1 minute`, `24 hours`). */
export function formatDuration(ms: number): string {
  return Duration.fromMillis(ms).shiftTo('days', 'hours', 'minutes', 'seconds', 'milliseconds').normalize().rescale().toHuman();
}
