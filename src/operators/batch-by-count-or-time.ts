import { asyncScheduler, Observable } from 'rxjs';
import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import { MAX_TIMER_MS } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';

/** Options of {@link batchByCountOrTime}. */
export interface BatchByCountOrTimeOptions {
  /** A batch is emitted as soon as it holds this many items (whole number ≥ 1). */
  readonly maxCount: number;
  /**
   * A batch is emitted at the latest this long (scheduler ms) after its *first* item arrived,
   * so a quiet stream is still written out. Default 1 000 (the original flush interval).
   */
  readonly maxDelayMs?: number;
  /** Clock and timer of the time bound; defaults to `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Groups items into batches bounded by size and by age, for bulk writes (spec §5.3, with the
 * §9 item 3 "tail stays unflushed" bug fixed).
 *
 * <span class="informal">Like `bufferTime(maxDelayMs, null, maxCount)`, except that the timer
 * starts at the first item of each batch instead of ticking from subscription, and empty
 * batches are never emitted.</span>
 *
 * A batch is emitted when it reaches `maxCount` items, or `maxDelayMs` after its first item
 * (timer on the scheduler), whichever comes first; the tail is emitted when the source
 * completes. If the source errors, the pending batch is dropped and the error forwarded (as
 * rxjs `bufferTime` does); a writer that must not lose it should complete, not error.
 *
 * ```
 * maxCount = 3, maxDelayMs = 4 frames
 * source:   -a-b-c---d------e-f-|
 * output:   -----x-------y-------(z|)     x = [a,b,c]  y = [d]  z = [e,f]
 * ```
 *
 * @param options Size bound, age bound and scheduler.
 * @returns An operator from items to non-empty arrays of items, in arrival order.
 * @throws ConfigError (synchronously) when an option is out of range.
 */
export function batchByCountOrTime<T>(options: BatchByCountOrTimeOptions): OperatorFunction<T, T[]> {
  const { maxCount } = options;
  const maxDelayMs = options.maxDelayMs ?? 1_000;
  const scheduler = options.scheduler ?? asyncScheduler;
  if (!Number.isSafeInteger(maxCount) || maxCount < 1) {
    throw new ConfigError(`must be a whole number >= 1, got ${maxCount}`, { path: 'maxCount' });
  }
  if (!Number.isFinite(maxDelayMs) || maxDelayMs <= 0 || maxDelayMs > MAX_TIMER_MS) {
    throw new ConfigError(`must be a positive number of ms, got ${maxDelayMs}`, { path: 'maxDelayMs' });
  }

  return function batchByCountOrTimeOperatorFunction(source) {
    return new Observable<T[]>((subscriber) => {
      let batch: T[] = [];
      let timer: Subscription | undefined;

      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        // Swap before emitting: a re-entrant `next` from downstream must start a new batch.
        const full = batch;
        batch = [];
        if (full.length > 0) subscriber.next(full);
      };

      subscriber.add(
        source.subscribe({
          next(item) {
            batch.push(item);
            if (batch.length >= maxCount) flush();
            else if (batch.length === 1) timer = scheduler.schedule(flush, maxDelayMs);
          },
          error(error) {
            batch = [];
            subscriber.error(error);
          },
          complete() {
            flush();
            subscriber.complete();
          },
        }),
      );

      return () => {
        timer?.unsubscribe();
        timer = undefined;
        batch = [];
      };
    });
  };
}
