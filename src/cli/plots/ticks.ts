import { DateTime } from 'luxon';

/**
 * Axis ticks for the hand-written SVG charts: "nice" numbers (1, 2, 5 × 10ⁿ) for values and
 * whole UTC seconds, minutes, hours or days for times.
 */

/** One tick: where it is (in data units) and what it says. */
export interface Tick {
  readonly value: number;
  readonly label: string;
}

/**
 * A step of 1, 2 or 5 × 10ⁿ that divides `span` into about `count` intervals (the nearest such
 * step on a log scale, so the result has between roughly count/1.6 and count·1.6 intervals).
 */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  // Boundaries at the geometric means of 1–2, 2–5 and 5–10.
  const nice = fraction >= Math.sqrt(50) ? 10 : fraction >= Math.sqrt(10) ? 5 : fraction >= Math.SQRT2 ? 2 : 1;
  return nice * power;
}

/**
 * Ticks at multiples of a nice step inside `[min, max]`, labelled with as many decimals as
 * the step needs.
 *
 * @param count Intervals wanted, roughly (the result may have a few more or fewer).
 */
export function niceTicks(min: number, max: number, count = 5): Tick[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [{ value: min, label: formatNumber(min, 0) }];
  const step = niceStep(max - min, count);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const ticks: Tick[] = [];
  // Integer multiples of step rather than repeated addition, so 0.1 + 0.2 never shows up.
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) {
    const value = k * step;
    ticks.push({ value, label: formatNumber(value, decimals) });
  }
  return ticks;
}

/** The domain `[min, max]` widened to whole multiples of a nice step (so the axis ends on a tick). */
export function niceDomain(min: number, max: number, count = 5): [number, number] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.05 : 1;
    return [min - pad, max + pad];
  }
  const step = niceStep(max - min, count);
  return [Math.floor(min / step + 1e-9) * step, Math.ceil(max / step - 1e-9) * step];
}

/** `value` with `decimals` decimals, never "-0". */
export function formatNumber(value: number, decimals: number): string {
  const text = value.toFixed(decimals);
  return /^-0(\.0+)?$/.test(text) ? text.slice(1) : text;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Tick steps a person reads easily on a clock or calendar. */
const TIME_STEPS = [
  SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND,
  MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR,
  DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY,
] as const;

/**
 * Ticks at whole UTC seconds, minutes, hours or days within `[fromMs, toMs]`, labelled
 * `HH:mm:ss`, `HH:mm` or `MM-dd` depending on the step.
 */
export function timeTicks(fromMs: number, toMs: number, count = 6): Tick[] {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || !(toMs > fromMs)) return [];
  const wanted = (toMs - fromMs) / Math.max(1, count);
  const step: number = TIME_STEPS.find((s) => s >= wanted) ?? Math.ceil(wanted / (30 * DAY)) * 30 * DAY;
  const format = step < MINUTE ? 'HH:mm:ss' : step < DAY ? 'HH:mm' : 'MM-dd';
  const ticks: Tick[] = [];
  for (let t = Math.ceil(fromMs / step) * step; t <= toMs; t += step) {
    ticks.push({ value: t, label: DateTime.fromMillis(t, { zone: 'utc' }).toFormat(format) });
  }
  return ticks;
}
