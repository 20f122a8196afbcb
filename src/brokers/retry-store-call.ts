import type { SchedulerLike } from 'rxjs';
import { StreamError, isRetryable } from '../core/errors.js';

export interface RetryStoreCallOptions {
  /** First back-off, ms; doubles after every failure up to {@link RetryStoreCallOptions.maxBackoffMs}. */
  readonly initialBackoffMs: number;
  /** Longest single back-off, ms. Default 10 s. */
  readonly maxBackoffMs?: number;
  /** Give up (rethrow the last error) once this long has passed since the first attempt, ms. */
  readonly limitMs: number;
  readonly scheduler: SchedulerLike;
  /** Aborting ends a back-off at once and rejects with {@link RetryAbortedError}. */
  readonly signal?: AbortSignal;
  /** Called before each back-off, e.g. to log the outage once. */
  readonly onRetry?: (error: unknown, attempt: number, backoffMs: number) => void;
}

/** The retry loop was stopped (the broker is closing) before the store call succeeded. */
export class RetryAbortedError extends StreamError {}

/**
 * Calls `call` until it succeeds, retrying only retryable failures (`isRetryable`: store
 * unreachable, file locked) with exponential back-off on the scheduler, for at most `limitMs`.
 * A non-retryable failure (a refused document) is rethrown at once.
 *
 * @returns what `call` resolved with
 * @throws the last error when it is not retryable or the time limit passed; `RetryAbortedError` on abort
 */
export async function retryStoreCall<T>(call: () => Promise<T>, options: RetryStoreCallOptions): Promise<T> {
  const { scheduler, signal } = options;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  const started = scheduler.now();
  let backoff = options.initialBackoffMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isRetryable(error) || signal?.aborted || scheduler.now() - started + backoff > options.limitMs) throw error;
      options.onRetry?.(error, attempt, backoff);
      await delay(backoff, scheduler, signal);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }
}

function delay(ms: number, scheduler: SchedulerLike, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new RetryAbortedError('stopped while waiting to retry'));
    const onAbort = () => {
      timer.unsubscribe();
      reject(new RetryAbortedError('stopped while waiting to retry'));
    };
    const timer = scheduler.schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
