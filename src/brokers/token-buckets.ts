/** The rate of {@link TokenBuckets}. */
export interface TokenBucketLimits {
  /** Tokens added per second per key. */
  readonly ratePerSecond: number;
  /** Most tokens a key can hold: the burst it may send at once. */
  readonly burst: number;
  /**
   * Most keys remembered. Beyond it, new keys share one overflow bucket, so a client that makes
   * up a new key per message gets one key's rate in all, and memory stays bounded.
   */
  readonly maxKeys: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/** Key of the shared bucket once {@link TokenBucketLimits.maxKeys} keys are known. */
const OVERFLOW = Symbol('overflow');

/**
 * Token buckets keyed by a string (the requester): each starts full at `burst`, refills at
 * `ratePerSecond`, and a request takes one token or is refused. Time is passed in (scheduler
 * ms), refills are computed when a key is next seen: no timers.
 *
 * ```
 * burst 2, 1/s:  t=0 take ✓ (1 left)  t=0 take ✓ (0)  t=0 take ✗  t=1000 take ✓
 * ```
 */
export class TokenBuckets {
  private readonly limits: TokenBucketLimits;
  private readonly buckets = new Map<string | typeof OVERFLOW, Bucket>();

  constructor(limits: TokenBucketLimits) {
    this.limits = limits;
  }

  /** Takes a token of `key` at `nowMs`; false when its bucket is empty. */
  take(key: string, nowMs: number): boolean {
    const bucket = this.bucketOf(key, nowMs);
    const elapsed = Math.max(0, nowMs - bucket.atMs);
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + (elapsed * this.limits.ratePerSecond) / 1000);
    bucket.atMs = Math.max(bucket.atMs, nowMs);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private bucketOf(key: string, nowMs: number): Bucket {
    const known = this.buckets.get(key);
    if (known) return known;
    if (this.buckets.size >= this.limits.maxKeys) this.forgetFull(nowMs);
    const id = this.buckets.size >= this.limits.maxKeys ? OVERFLOW : key;
    let bucket = this.buckets.get(id);
    if (!bucket) {
      bucket = { tokens: this.limits.burst, atMs: nowMs };
      this.buckets.set(id, bucket);
    }
    return bucket;
  }

  /** Drops keys whose bucket has refilled: a full bucket is the same as none. */
  private forgetFull(nowMs: number): void {
    const refillMs = (this.limits.burst * 1000) / this.limits.ratePerSecond;
    for (const [id, bucket] of this.buckets) {
      if (id !== OVERFLOW && nowMs - bucket.atMs >= refillMs) this.buckets.delete(id);
    }
  }
}
