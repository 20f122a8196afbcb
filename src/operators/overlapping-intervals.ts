/**
 * A closed interval `[start, end]` of ms (box / event time). `start <= end`.
 */
export interface Interval {
  readonly start: number;
  readonly end: number;
}

/** Options of {@link OverlappingIntervals}. */
export interface OverlappingIntervalsOptions {
  /**
   * Upper bound on stored intervals; beyond it the oldest (lowest start) are forgotten, which
   * can only cause a re-request, never a lost one. Default 10 000.
   */
  readonly maxIntervals?: number;
}

/**
 * The set of time ranges whose waveform data was already requested (the original
 * `OverlappingIntervals`, spec §5.6), kept as a sorted list of disjoint intervals.
 *
 * Overlapping *and touching* intervals (`[1000,2000]` and `[2000,3000]`) are merged into one, so
 * the list never holds nested duplicates (§9 item 6) and "fully covered" means "inside one
 * stored interval".
 *
 * @example
 * ```ts
 * const cache = new OverlappingIntervals();
 * cache.insertAndCheck(1000, 2000); // true: fresh, now cached
 * cache.insertAndCheck(1200, 1800); // false: already covered
 * cache.insertAndCheck(1500, 2500); // true: partly new; cache is [1000, 2500]
 * ```
 */
export class OverlappingIntervals {
  /** Disjoint, non-touching, ascending by start (hence also by end). */
  private readonly intervals: Interval[] = [];
  private readonly maxIntervals: number;

  /**
   * @param options Size bound.
   * @param initial Intervals to start from; they are merged as if inserted in order.
   */
  constructor(options: OverlappingIntervalsOptions = {}, initial: Iterable<Interval> = []) {
    this.maxIntervals = options.maxIntervals ?? 10_000;
    for (const { start, end } of initial) this.insertAndCheck(start, end);
  }

  /** Number of stored (merged) intervals. */
  get size(): number {
    return this.intervals.length;
  }

  /** The stored intervals, ascending. */
  toArray(): Interval[] {
    return this.intervals.map(({ start, end }) => ({ start, end }));
  }

  /** True when `[start, end]` lies inside one stored interval (its data was already requested). */
  covers(start: number, end: number): boolean {
    const i = this.firstReaching(start);
    const candidate = this.intervals[i];
    return candidate !== undefined && candidate.start <= start && candidate.end >= end;
  }

  /**
   * Records that `[start, end]` is requested, unless it is already covered.
   *
   * @returns `false` when the interval was already fully covered (nothing changes); `true`
   *   when any part of it is new, after merging it with every stored interval it overlaps or
   *   touches.
   * @throws RangeError when `start`/`end` are not finite or `end < start` (callers validate).
   */
  insertAndCheck(start: number, end: number): boolean {
    if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) {
      throw new RangeError(`invalid interval [${start}, ${end}]`);
    }
    const first = this.firstReaching(start);
    const head = this.intervals[first];
    if (head !== undefined && head.start <= start && head.end >= end) return false;

    let last = first;
    let mergedStart = start;
    let mergedEnd = end;
    // Every stored interval from `first` on that starts at or before `end` overlaps or touches.
    while (last < this.intervals.length && this.intervals[last]!.start <= end) {
      const stored = this.intervals[last]!;
      mergedStart = Math.min(mergedStart, stored.start);
      mergedEnd = Math.max(mergedEnd, stored.end);
      last += 1;
    }
    this.intervals.splice(first, last - first, { start: mergedStart, end: mergedEnd });
    if (this.intervals.length > this.maxIntervals) this.intervals.splice(0, this.intervals.length - this.maxIntervals);
    return true;
  }

  /**
   * Forgets intervals that ended before `horizonMs` (the original dropped those that *started*
   * before it, which also forgot the recent part of a long merged interval).
   *
   * @returns How many intervals were removed.
   */
  clearTo(horizonMs: number): number {
    const n = this.firstReaching(horizonMs);
    this.intervals.splice(0, n);
    return n;
  }

  /** Index of the first stored interval whose end is >= `time` (binary search; ends are ascending). */
  private firstReaching(time: number): number {
    let low = 0;
    let high = this.intervals.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.intervals[mid]!.end < time) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/**
 * The expiry horizon for a request starting at `startMs`: `startMs - expirationMs`, floored at
 * 0. The original computed it in u64, which panicked (debug) or wrapped around and cleared the
 * whole cache (release) whenever `startMs < expirationMs` (§9 item 5).
 */
export function expiryHorizon(startMs: number, expirationMs: number): number {
  return startMs > expirationMs ? startMs - expirationMs : 0;
}
