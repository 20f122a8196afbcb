/**
 * Durations as people write them in topologies and configs: a number of milliseconds, an
 * ISO-8601 duration (`PT1M`, `P1D`), or a short form (`200ms`, `1s`, `1m`, `24h`, `1h30m`).
 */
export type DurationInput = number | string;

/**
 * The longest delay a Node.js timer honours: 2^31 − 1 ms (about 24.8 days). A longer one is
 * silently replaced by 1 ms (with a TimeoutOverflowWarning), so a "25d" interval would fire a
 * thousand times a second. No duration from a config may exceed it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

const SHORT_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SHORT_FORM = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d))+$/;
const SHORT_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Parses a {@link DurationInput} to whole milliseconds, or returns an explanation of why it
 * cannot. Callers wrap the explanation in a `ConfigError` that names the file and field.
 *
 * Refused: negative numbers and negative ISO parts (`PT-5S`, `P1DT-5S`: a duration is a length
 * of time), and anything whose milliseconds are not a finite safe integer (`1e300`). Range
 * limits per field are {@link checkDurationRange}'s job.
 */
export function parseDuration(input: DurationInput): { ms: number } | { error: string } {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return { error: `expected a non-negative number of ms, got ${input}` };
    return wholeMs(input, String(input));
  }
  if (typeof input !== 'string') return { error: `expected a duration (a number of ms or a string like "1m"), got ${typeof input}` };
  const text = input.trim();
  if (SHORT_FORM.test(text)) {
    let ms = 0;
    for (const [, amount, unit] of text.matchAll(SHORT_PART)) ms += Number(amount) * SHORT_UNITS[unit as string]!;
    return wholeMs(ms, `"${input}"`);
  }
  const iso = parseIsoDuration(text);
  if (iso === 'negative') return { error: `"${input}" is a negative duration; a duration must be 0 or longer` };
  if (iso !== undefined) return wholeMs(iso, `"${input}"`);
  return { error: `"${input}" is not a duration (use e.g. "200ms", "1m", "24h" or ISO-8601 "PT1M")` };
}

const ISO_AMOUNT = String.raw`(-?\d{1,20}(?:\.\d{1,20})?)`;
/**
 * ISO-8601 durations as luxon reads them: `P[nY][nM][nW][nD][T[nH][nM][n[.f]S]]`, every amount
 * but the seconds' may have a fraction (`P1.5D`, `PT0.5S`, `PT1,5S`), each may carry a sign
 * (then refused), and nothing but the letters is allowed in between. Not luxon itself: it was
 * the only reason the daemon loaded it: 1 MB of RSS for one regular expression.
 */
const ISO_FORM = new RegExp(
  `^-?P(?:${ISO_AMOUNT}Y)?(?:${ISO_AMOUNT}M)?(?:${ISO_AMOUNT}W)?(?:${ISO_AMOUNT}D)?` +
    String.raw`(?:T(?:${ISO_AMOUNT}H)?(?:${ISO_AMOUNT}M)?(?:(-?\d{1,20})(?:[.,](\d{1,20}))?S)?)?$`,
);
/** Calendar units at luxon's casual lengths (a year 365 days, a month 30), as the original read them. */
const ISO_UNIT_MS = [365 * 86_400_000, 30 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000] as const;

/**
 * An ISO-8601 duration in ms (fractions kept; a fraction of a second is cut to whole ms, as
 * luxon does), `'negative'` when it has a sign, undefined when it is not one. At least one
 * amount is required (`P`, `PT` and `P1DT` are typos, not zero).
 */
function parseIsoDuration(text: string): number | 'negative' | undefined {
  const match = ISO_FORM.exec(text);
  if (match === null || text.endsWith('T') || match.slice(1).every((part) => part === undefined)) return undefined;
  if (text.includes('-')) return 'negative';
  let ms = 0;
  ISO_UNIT_MS.forEach((unitMs, i) => {
    const amount = match[i + 1];
    if (amount !== undefined) ms += Number(amount) * unitMs;
  });
  const fraction = match[8];
  if (fraction !== undefined) ms += Math.floor(Number(`0.${fraction}`) * 1000);
  return ms;
}

/** Rounds to whole ms; refuses what is not a finite safe integer afterwards. */
function wholeMs(ms: number, shown: string): { ms: number } | { error: string } {
  const rounded = Math.round(ms);
  if (!Number.isSafeInteger(rounded) || rounded < 0) return { error: `${shown} is not a usable duration (too long)` };
  return { ms: rounded };
}

/** An inclusive range of durations, each end a {@link DurationInput}. */
export interface DurationRange {
  readonly min: DurationInput;
  readonly max: DurationInput;
}

/**
 * The range's ends in ms.
 *
 * @throws RangeError (a programming error, at module load) when an end does not parse, `min`
 * is above `max`, or `max` is above {@link MAX_TIMER_MS}.
 */
export function durationRangeMs(range: DurationRange): { readonly minMs: number; readonly maxMs: number } {
  const end = (input: DurationInput): number => {
    const parsed = parseDuration(input);
    if ('error' in parsed) throw new RangeError(`duration range end: ${parsed.error}`);
    return parsed.ms;
  };
  const minMs = end(range.min);
  const maxMs = end(range.max);
  if (minMs > maxMs) throw new RangeError(`duration range: min ${minMs} ms is above max ${maxMs} ms`);
  if (maxMs > MAX_TIMER_MS) throw new RangeError(`duration range: max ${maxMs} ms is above the longest timer (${MAX_TIMER_MS} ms)`);
  return { minMs, maxMs };
}

/** Why `ms` is outside `[minMs, maxMs]`, in words (`must be from 1 second to 1 day, got 25 days`), or undefined when inside. */
export function checkDurationRange(ms: number, range: { readonly minMs: number; readonly maxMs: number }): string | undefined {
  if (ms >= range.minMs && ms <= range.maxMs) return undefined;
  return `must be from ${formatDuration(range.minMs)} to ${formatDuration(range.maxMs)}, got ${formatDuration(ms)}`;
}

/**
 * The delay for a timer scheduled from configuration, checked: a last line of defence for
 * paths that do not come through a config schema (code that builds settings itself).
 *
 * @param minMs Shortest allowed delay: 1 for a repeating timer, where 0 would spin.
 * @throws RangeError naming `what` when `ms` is below `minMs`, not finite, or above {@link MAX_TIMER_MS}.
 */
export function timerDelay(ms: number, what: string, minMs = 0): number {
  if (!(Number.isFinite(ms) && ms >= minMs && ms <= MAX_TIMER_MS)) {
    throw new RangeError(`${what}: ${ms} ms is not a usable timer delay (${minMs} to ${MAX_TIMER_MS} ms, about 24.8 days)`);
  }
  return ms;
}

const HUMAN_UNITS: readonly [string, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** A human-readable form of a duration in ms, for logs and errors (`1 minute`, `25 days`, `1 hour 30 minutes`, `200 ms`). */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms <= 0) return `${ms} ms`;
  const parts: string[] = [];
  let rest = ms;
  for (const [name, size] of HUMAN_UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count} ${name}${count === 1 ? '' : 's'}`);
    rest -= count * size;
  }
  if (rest > 0) parts.push(`${rest} ms`);
  return parts.join(' ');
}
