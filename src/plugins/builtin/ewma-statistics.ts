/**
 * Exponentially weighted running mean and variance of one series (one metric of one box).
 *
 * Each new value x moves the mean by `α·(x − mean)` and the variance by the matching
 * incremental rule (`var ← (1 − α)·(var + α·(x − mean)²)`, Finch 2009), so old readings fade
 * with weight `(1 − α)^age`. Unlike `E[x²] − E[x]²` (what the original computed) this stays
 * exact for values far from 0: at 120 V with σ ≈ 0.05 V, `E[x²]` is 14 400 and the difference
 * would lose most of its digits.
 *
 * The first value sets the mean, with variance 0; the variance is biased low for the first
 * ~1/α values, which is why the `napali` plugin waits `warmupSamples` before trusting it.
 */
export class EwmaStatistics {
  private meanValue = 0;
  private varianceValue = 0;
  private samples = 0;

  /** @param alpha Weight of the newest value, in (0, 1]. */
  constructor(private readonly alpha: number) {}

  /** Values seen so far. */
  get count(): number {
    return this.samples;
  }

  /** The running mean; 0 before the first value. */
  get mean(): number {
    return this.meanValue;
  }

  /** The running standard deviation; 0 before the second value. */
  get sigma(): number {
    return Math.sqrt(this.varianceValue);
  }

  /** Adds one value (finite; the caller skips the others). */
  add(value: number): void {
    if (this.samples === 0) {
      this.meanValue = value;
      this.varianceValue = 0;
    } else {
      const delta = value - this.meanValue;
      const step = this.alpha * delta;
      this.meanValue += step;
      this.varianceValue = (1 - this.alpha) * (this.varianceValue + delta * step);
    }
    this.samples += 1;
  }
}
