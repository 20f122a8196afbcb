import { z } from 'zod';
import { checkDurationRange, durationRangeMs, MAX_TIMER_MS, parseDuration, type DurationInput, type DurationRange } from '../core/duration.js';

/** Config field types shared by every config schema. Every number a config takes has a range. */

const DURATION_HINT = 'expected a duration: a number of ms, or a string like "200ms", "1m", "24h" or ISO-8601 "PT1M"';

/**
 * A duration field with its own inclusive range: ms number, `"1m"`, `"200ms"`, or ISO-8601
 * `"PT1M"`; parsed to whole ms. Negative durations (`-5`, `"PT-5S"`) are refused, and so is
 * anything outside the range, with the range in words: `must be from 100 ms to 1 day, got 25 days`.
 *
 * @example key_refresh: duration({ min: '100ms', max: '1d' }).default('10s')
 * @throws RangeError at module load when the range itself is unusable: `max` above
 * {@link MAX_TIMER_MS} (2^31 − 1 ms) is refused, so no config duration can overflow a timer.
 */
export function duration(range: DurationRange) {
  return durationIn(durationRangeMs(range));
}

/**
 * A length of time that never reaches a timer (how long data is kept, e.g. a measurement TTL),
 * so its range may go past 2^31 − 1 ms; otherwise exactly {@link duration}.
 *
 * @example ttl: retention({ min: '1s', max: '3650d' }).default('24h')
 */
export function retention(range: DurationRange) {
  const end = (input: DurationInput): number => {
    const parsed = parseDuration(input);
    if ('error' in parsed) throw new RangeError(`duration range end: ${parsed.error}`);
    return parsed.ms;
  };
  return durationIn({ minMs: end(range.min), maxMs: end(range.max) });
}

function durationIn(bounds: { readonly minMs: number; readonly maxMs: number }) {
  return z.union([z.number(), z.string()], { errorMap: () => ({ message: DURATION_HINT }) }).transform((value, ctx) => {
    const parsed = parseDuration(value);
    if ('error' in parsed) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed.error });
      return z.NEVER;
    }
    const outside = checkDurationRange(parsed.ms, bounds);
    if (outside) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: outside });
      return z.NEVER;
    }
    return parsed.ms;
  });
}

/**
 * Any duration a timer can take (0 to 2^31 − 1 ms). Prefer {@link duration} with the field's
 * own range; this exists for code that has not chosen one yet.
 *
 * @deprecated give the field its own range with `duration({ min, max })`.
 */
export const durationField = duration({ min: 0, max: MAX_TIMER_MS });

/** An inclusive numeric range. */
export interface NumberRange {
  readonly min: number;
  readonly max: number;
}

/**
 * `100000` → `100 000`: ranges in errors are easier to read with grouped digits. Not
 * `toLocaleString`: that pages in ICU's number data (about 6 MB of RSS) for every process that
 * merely builds a schema.
 */
function shown(value: number): string {
  return Number.isSafeInteger(value) ? String(value).replace(/\B(?=(\d{3})+$)/g, ' ') : String(value);
}

function checkedRange(range: NumberRange): NumberRange {
  if (!(Number.isFinite(range.min) && Number.isFinite(range.max) && range.min <= range.max)) {
    throw new RangeError(`number range: min ${range.min} and max ${range.max} must be finite with min ≤ max`);
  }
  return range;
}

/**
 * A whole number in an inclusive range (a count, a size in bytes, seconds): `1e300`, `1.5`
 * and `-1` are refused with the range in the message (`must be a whole number from 1 to 100 000, got 1e+300`).
 *
 * @example measurement_batch_size: wholeNumber({ min: 1, max: 100_000 }).default(1000)
 */
export function wholeNumber(range: NumberRange) {
  const { min, max } = checkedRange(range);
  const expected = `must be a whole number from ${shown(min)} to ${shown(max)}`;
  const message = (got: unknown) => `${expected}, got ${String(got)}`;
  return z
    .number({ errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_type' ? `${ctx.defaultError}; ${expected}` : ctx.defaultError }) })
    .superRefine((value, ctx) => {
      if (!(Number.isInteger(value) && value >= min && value <= max)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: message(value) });
    });
}

/**
 * A finite number in an inclusive range (volts, hertz, fractions).
 *
 * @example nominalVoltage: numberIn({ min: 1, max: 1_000_000 })
 */
export function numberIn(range: NumberRange) {
  const { min, max } = checkedRange(range);
  const expected = `must be a number from ${shown(min)} to ${shown(max)}`;
  const message = (got: unknown) => `${expected}, got ${String(got)}`;
  return z
    .number({ errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_type' ? `${ctx.defaultError}; ${expected}` : ctx.defaultError }) })
    .superRefine((value, ctx) => {
      if (!(Number.isFinite(value) && value >= min && value <= max)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: message(value) });
    });
}

/** A TCP port, 1–65535. */
export const portField = wholeNumber({ min: 1, max: 65_535 });

/**
 * A ZeroMQ endpoint such as `tcp://*:9880`, `tcp://127.0.0.1:9881`, `tcp://127.0.0.1:*` (a free
 * port), `ipc:///tmp/x` or `inproc://x`. A numeric TCP port must be 1–65535.
 */
export const endpointField = z
  .string()
  .regex(/^(tcp|ipc|inproc):\/\/.+/, 'expected a ZeroMQ endpoint like "tcp://127.0.0.1:9881"')
  .superRefine((endpoint, ctx) => {
    const port = /^tcp:\/\/.*:(\d+)$/.exec(endpoint)?.[1];
    if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65_535)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `port ${port} is not a TCP port (1 to 65 535, or * for a free one)` });
    }
  });

/**
 * A whole positive number up to 2^31 − 1 (a plain `ZodNumber`, so `.max(n)` narrows it).
 * Prefer {@link wholeNumber}, whose error says the field's range.
 *
 * @deprecated give the field its own range with `wholeNumber({ min, max })`.
 */
export const positiveInt = z.number().int().positive().max(2_147_483_647);
