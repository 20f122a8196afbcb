import type { TrendStats } from '../protocol/documents.js';

/**
 * Minimum, maximum and mean of a stream of numbers in O(1) memory: the accumulator behind one
 * metric (voltage, frequency or thd) of one trend window.
 *
 * Differences from the original (spec §5.4, §10):
 * - min and max are two independent comparisons. The original used `if … else if`, so a value
 *   that was both a new minimum and a new maximum (always the case for the first value after a
 *   reset, and possible whenever the window had one value) could miss the max.
 * - The sum is a JavaScript double, not an f32, so a 60 s window of ~360 values does not lose
 *   precision in the average.
 * - Non-finite values (NaN, ±Infinity) are skipped, so one bad value cannot poison a window;
 *   `skipped` says how many there were.
 *
 * @example
 * ```ts
 * const stats = new RunningStats();
 * for (const v of [120.1, 119.8, 120.4]) stats.add(v);
 * stats.summary(); // { min: 119.8, max: 120.4, average: 120.1 }
 * ```
 */
export class RunningStats {
  private min = Infinity;
  private max = -Infinity;
  private sum = 0;
  /** Values taken into the statistics. */
  count = 0;
  /** Non-finite values refused by {@link RunningStats.add}. */
  skipped = 0;

  /** Adds one value; returns false (and counts it as skipped) when it is not a finite number. */
  add(value: number): boolean {
    if (!Number.isFinite(value)) {
      this.skipped += 1;
      return false;
    }
    // Two independent `if`s: the first value is both the new min and the new max.
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.sum += value;
    this.count += 1;
    return true;
  }

  /**
   * The statistics so far, or `undefined` when no value was added (the trend document then
   * omits the metric, as the original does for thd).
   */
  summary(): TrendStats | undefined {
    if (this.count === 0) return undefined;
    return { min: this.min, max: this.max, average: clamp(this.sum / this.count, this.min, this.max) };
  }
}

/**
 * The statistics of a list of values in one call (the pure form of {@link RunningStats}).
 *
 * @param values Numbers to summarize; non-finite ones are skipped.
 * @returns `undefined` when there is no finite value.
 */
export function summarize(values: Iterable<number>): TrendStats | undefined {
  const stats = new RunningStats();
  for (const value of values) stats.add(value);
  return stats.summary();
}

// Rounding of `sum / count` can land one ulp outside [min, max] (three times 0.1 averages to
// 0.10000000000000002); a mean outside its own range would look like a bug to anyone reading it.
function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}
