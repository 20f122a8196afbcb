import { Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { describeError, isRetryable } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';

export interface StoreWriterOptions<T> {
  /** Label for metrics and logs (`measurements`, `trends`). */
  readonly name: string;
  /** Writes one batch; rejects with a `StoreError` (retryable or not). */
  readonly write: (batch: readonly T[]) => Promise<void>;
  /**
   * Most items held while the store is slow or down. Past it, `overflow: 'drop-oldest'` drops the
   * oldest queued items (counted and logged); `'keep'` keeps everything (for small, precious data
   * such as trends).
   */
  readonly maxQueuedItems: number;
  readonly overflow: 'drop-oldest' | 'keep';
  /** First retry delay after a retryable failure; doubles up to `maxBackoffMs`. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Writes batches to a store one at a time, in order, with a bounded queue and retries.
 *
 * - A retryable failure (store unreachable, file locked) keeps the batch and retries it with
 *   exponential back-off on the scheduler; nothing is lost while the queue has room.
 * - A non-retryable failure (a document the store refuses) is logged and counted, and the
 *   writer moves on: one bad batch never blocks the ones behind it.
 * - The input is never blocked: batches queue while a write is in flight.
 * - On input complete, the output completes once the queue is empty (graceful shutdown).
 *
 * Emits the size of every written batch.
 */
export function storeWriter<T>(options: StoreWriterOptions<T>): (input: Observable<readonly T[]>) => Observable<number> {
  const { name, scheduler, logger, metrics } = options;
  const initialBackoff = options.initialBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  const written = metrics.counter('makai_store_written_total', 'Documents written to the store', ['collection']);
  const failed = metrics.counter('makai_store_write_failures_total', 'Failed store writes', ['collection', 'retryable']);
  const dropped = metrics.counter('makai_store_dropped_total', 'Documents dropped because the write queue was full', ['collection']);
  const queueDepth = metrics.gauge('makai_store_queue_depth', 'Documents waiting to be written', ['collection']);
  const batchSize = metrics.histogram('makai_store_batch_size', 'Documents per store write', [1, 10, 100, 1000, 10000], ['collection']);
  const latency = metrics.histogram('makai_store_write_seconds', 'Store write latency', [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10], ['collection']);

  return (input) =>
    new Observable<number>((subscriber) => {
      const queue: T[][] = [];
      let queued = 0;
      let writing = false;
      let inputDone = false;
      let closed = false;
      let backoff = initialBackoff;
      let retryTimer: Subscription | undefined;
      let retryPending = false;
      let outageLogged = false;
      /** Documents dropped since the last successful write: logged once when dropping starts and as a total when it ends. */
      let droppedInOverflow = 0;

      const setDepth = () => queueDepth.set({ collection: name }, queued);
      const finishIfDrained = () => {
        if (inputDone && queue.length === 0 && !writing) subscriber.complete();
      };

      const pump = (): void => {
        // While a retry waits out its back-off, new batches only queue: they must not start an
        // attempt of their own (under traffic that would retry at the input rate, not back off).
        if (closed || writing || retryPending) return;
        const batch = queue[0];
        if (!batch) return finishIfDrained();
        writing = true;
        const started = scheduler.now();
        options.write(batch).then(
          () => {
            writing = false;
            if (closed) return;
            latency.observe({ collection: name }, (scheduler.now() - started) / 1000);
            batchSize.observe({ collection: name }, batch.length);
            written.inc({ collection: name }, batch.length);
            if (outageLogged) logger.info('store writes recovered', { collection: name, queued });
            outageLogged = false;
            logDroppedTotal();
            backoff = initialBackoff;
            queue.shift();
            queued -= batch.length;
            setDepth();
            subscriber.next(batch.length);
            pump();
          },
          (error: unknown) => {
            writing = false;
            if (closed) return;
            const retryable = isRetryable(error);
            failed.inc({ collection: name, retryable: String(retryable) });
            if (!retryable) {
              logger.error('store refused a batch; skipping it', { collection: name, documents: batch.length, error: describeError(error) });
              queue.shift();
              queued -= batch.length;
              setDepth();
              return pump();
            }
            if (!outageLogged) {
              logger.warn('store write failed; queueing and retrying with back-off', { collection: name, error: describeError(error) });
              outageLogged = true;
            }
            retryPending = true;
            retryTimer = scheduler.schedule(() => {
              retryPending = false;
              pump();
            }, backoff);
            backoff = Math.min(backoff * 2, maxBackoff);
          },
        );
      };

      const enqueue = (batch: readonly T[]) => {
        if (batch.length === 0) return;
        queue.push([...batch]);
        queued += batch.length;
        if (options.overflow === 'drop-oldest') dropOverflow();
        setDepth();
        pump();
      };

      // Drops the oldest queued items, never the batch being written (it may already be stored).
      const dropOverflow = () => {
        let excess = queued - options.maxQueuedItems;
        if (excess <= 0) return;
        let dropCount = 0;
        for (let i = writing ? 1 : 0; i < queue.length && excess > 0; ) {
          const batch = queue[i]!;
          const n = Math.min(batch.length, excess);
          batch.splice(0, n);
          excess -= n;
          dropCount += n;
          if (batch.length === 0) queue.splice(i, 1);
          else i++;
        }
        queued -= dropCount;
        if (dropCount > 0) {
          dropped.inc({ collection: name }, dropCount);
          // Logged when dropping starts and as a total when it ends, not per batch: a long
          // outage at thousands of messages a second would otherwise flood the log.
          if (droppedInOverflow === 0) {
            logger.warn('write queue full; dropping the oldest documents until the store catches up', {
              collection: name,
              dropped: dropCount,
              maxQueuedItems: options.maxQueuedItems,
            });
          }
          droppedInOverflow += dropCount;
        }
      };

      const logDroppedTotal = () => {
        if (droppedInOverflow === 0) return;
        logger.warn('documents dropped while the write queue was full', { collection: name, dropped: droppedInOverflow, maxQueuedItems: options.maxQueuedItems });
        droppedInOverflow = 0;
      };

      const subscription = input.subscribe({
        next: enqueue,
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          inputDone = true;
          finishIfDrained();
        },
      });

      return () => {
        logDroppedTotal();
        closed = true;
        subscription.unsubscribe();
        retryTimer?.unsubscribe();
      };
    });
}
