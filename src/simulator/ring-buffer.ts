/**
 * A fixed-capacity ring of time-keyed numbers: each entry is a key (ms, non-decreasing) and a
 * float32 value. Column storage in typed arrays keeps it compact and free of per-entry objects
 * (a box keeps 3600 of these; a benchmark runs thousands of boxes).
 *
 * Storage grows by doubling up to `capacity` and then wraps, so memory is bounded by
 * `capacity × 12 bytes` and a short run never pays for ten minutes.
 *
 * ```
 * push(k1) push(k2) ... push(k3601)   (capacity 3600)
 * oldest ─► k2 k3 ... k3601 ◄─ newest  (k1 overwritten)
 * ```
 */
export class RingBuffer {
  /** Most entries kept; older ones are overwritten. */
  readonly capacity: number;
  private keys: Float64Array;
  private values: Float32Array;
  /** Physical index of the oldest entry. */
  private head = 0;
  private count = 0;
  /** Newest key, kept apart so push need not look it up. */
  private lastKey = Number.NEGATIVE_INFINITY;

  /**
   * @param capacity Most entries kept (≥ 1).
   * @param initialCapacity Entries allocated up front (grows by doubling up to `capacity`).
   */
  constructor(capacity: number, initialCapacity = 64) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`capacity must be a whole number ≥ 1 (got ${capacity})`);
    this.capacity = capacity;
    const initial = Math.max(1, Math.min(capacity, Math.floor(initialCapacity)));
    this.keys = new Float64Array(initial);
    this.values = new Float32Array(initial);
  }

  /** Number of entries held. */
  get size(): number {
    return this.count;
  }

  /** Bytes currently allocated for entries (at most `capacity × 12`). */
  get bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  /** Key of the newest entry, or `undefined` when empty. */
  get newestKey(): number | undefined {
    return this.count === 0 ? undefined : this.keyAt(this.count - 1);
  }

  /**
   * Appends an entry, overwriting the oldest when full.
   *
   * @throws RangeError when `key` is smaller than the newest key: lookups rely on sorted keys.
   */
  push(key: number, value: number): void {
    if (!(key >= this.lastKey)) throw new RangeError(`keys must not decrease (${key} after ${this.lastKey})`);
    this.lastKey = key;
    if (this.count === this.keys.length && this.count < this.capacity) this.grow();
    const length = this.keys.length;
    if (this.count < length) {
      const at = (this.head + this.count) % length;
      this.keys[at] = key;
      this.values[at] = value;
      this.count++;
    } else {
      this.keys[this.head] = key;
      this.values[this.head] = value;
      this.head = (this.head + 1) % length;
    }
  }

  /** Key of the `index`-th entry, 0 = oldest. */
  keyAt(index: number): number {
    return this.keys[this.physical(index)]!;
  }

  /** Value of the `index`-th entry, 0 = oldest. */
  valueAt(index: number): number {
    return this.values[this.physical(index)]!;
  }

  /** Index of the first entry with key ≥ `key` (`size` when there is none). */
  lowerBound(key: number): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.keyAt(mid) >= key) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  /**
   * Entries from the first with key ≥ `from` up to, excluding, the first with key ≥ `to`
   * (spec §6.5), as `[start, end)` indices. A `to` beyond the newest entry selects through the
   * newest; `to ≤ from`, or a non-number, selects nothing.
   */
  range(from: number, to: number): { readonly start: number; readonly end: number } {
    const start = this.lowerBound(from);
    // `to >= from` is false for NaN too, so a garbled request selects nothing.
    const end = to >= from ? Math.max(start, this.lowerBound(to)) : start;
    return { start, end };
  }

  private physical(index: number): number {
    if (!(index >= 0 && index < this.count)) throw new RangeError(`index ${index} is outside 0..${this.count - 1}`);
    return (this.head + index) % this.keys.length;
  }

  /** Doubles the storage (only before the first wrap, so entries are still in order from 0). */
  private grow(): void {
    const length = Math.min(this.capacity, this.keys.length * 2);
    const keys = new Float64Array(length);
    const values = new Float32Array(length);
    keys.set(this.keys);
    values.set(this.values);
    this.keys = keys;
    this.values = values;
  }
}
