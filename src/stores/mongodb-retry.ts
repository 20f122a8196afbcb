import { setTimeout as sleep } from 'node:timers/promises';
import { MongoServerSelectionError } from 'mongodb';
import { isTransientMongoError } from './mongodb-store-error.js';

/** How a MongoDB store repeats an operation that failed with a transient error. */
export interface MongoRetryPolicy {
  /** Attempts in all, the first included (default 3; 1 disables retries). */
  readonly attempts?: number;
  /** Wait before the first retry (ms, default 100); doubles per retry. */
  readonly initialDelayMs?: number;
  /** Longest wait between attempts (ms, default 2000). */
  readonly maxDelayMs?: number;
}

export interface RetryHooks {
  /** Called before each wait; for logs and metrics. */
  onRetry(error: unknown, attempt: number, delayMs: number): void;
  /** True once the store is closed: stop retrying and fail with the last error. */
  stopped(): boolean;
}

/**
 * Runs `body`, repeating it after a transient failure (network error, not primary, timeout;
 * see `isTransientMongoError`) with exponential back-off, at most `attempts` times in all.
 * The last error is rethrown as it is; the caller wraps it in a StoreError.
 *
 * A `MongoServerSelectionError` is not repeated: the driver already waited the whole
 * `serverSelectionTimeoutMS` for a server, so repeating it would only multiply that wait and
 * an unreachable server would not make callers wait longer than that bound.
 *
 * `body` must be safe to repeat: every caller makes its writes idempotent (client-side `_id`s,
 * guarded updates).
 *
 * @internal
 */
export async function withTransientRetry<T>(body: () => Promise<T>, policy: MongoRetryPolicy, hooks: RetryHooks): Promise<T> {
  const attempts = Math.max(1, Math.trunc(policy.attempts ?? 3));
  const maxDelay = Math.max(0, policy.maxDelayMs ?? 2000);
  let delay = Math.max(0, policy.initialDelayMs ?? 100);
  for (let attempt = 1; ; attempt++) {
    try {
      return await body();
    } catch (error) {
      const retry =
        attempt < attempts && isTransientMongoError(error) && !(error instanceof MongoServerSelectionError) && !hooks.stopped();
      if (!retry) throw error;
      hooks.onRetry(error, attempt, delay);
      await sleep(delay);
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}
