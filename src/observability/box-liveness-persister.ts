import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { describeError, isRetryable } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { BoxStatus } from '../protocol/documents.js';
import type { Store } from '../stores/store.js';
import type { BoxLiveness } from './box-liveness.js';

export interface BoxLivenessPersisterOptions {
  readonly liveness: BoxLiveness;
  readonly store: Pick<Store, 'updateBoxStatuses'>;
  /** How often changed boxes are written (ms, default 10000): at most one write per box per period. */
  readonly everyMs?: number;
  readonly scheduler?: SchedulerLike;
  readonly logger: Logger;
}

/** A running {@link persistBoxLiveness}. */
export interface BoxLivenessPersister {
  /** Writes what changed since the last write now (also what a failed write left over). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left once. */
  stop(): Promise<void>;
}

/**
 * Copies the in-memory box liveness to the store's `box_status` every `everyMs`, every changed
 * box in one `updateBoxStatuses` (one transaction: a write per box was 1000 commits in a row,
 * blocking the event loop for tens of ms every period at 1000 boxes), so the box status
 * outlives the process and other processes (OPQ View, `makai status` of another service) can
 * read it. The hot path never waits on the store; a write that failed retryably keeps the
 * boxes' latest status for the next round (bounded: one status per box) and is logged once
 * until a write succeeds again. Statuses the store refuses are logged and not retried.
 */
export function persistBoxLiveness(options: BoxLivenessPersisterOptions): BoxLivenessPersister {
  const { liveness, store, logger } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const everyMs = options.everyMs ?? 10_000;
  /** Statuses not written yet, newest per box. */
  const pending = new Map<string, BoxStatus>();
  let failing = false;
  let running: Promise<void> | undefined;
  let timer: Subscription | undefined;
  let stopped = false;

  const writeAll = async (): Promise<void> => {
    for (const status of liveness.takeChanges()) pending.set(status.box_id, { ...pending.get(status.box_id), ...status });
    if (pending.size === 0) return;
    const batch = [...pending.values()];
    try {
      await store.updateBoxStatuses(batch);
    } catch (error) {
      if (isRetryable(error)) {
        if (!failing) logger.warn('could not write box status; keeping it for the next round', { boxes: batch.length, error: describeError(error) });
        failing = true;
        return;
      }
      // The valid statuses were stored; the refused ones would be refused again.
      logger.warn('store refused box statuses', { boxes: batch.length, error: describeError(error) });
    }
    pending.clear();
    if (failing) logger.info('box status written again');
    failing = false;
  };
  const flush = (): Promise<void> => {
    running ??= writeAll().finally(() => (running = undefined));
    return running;
  };
  const schedule = (): void => {
    timer = scheduler.schedule(() => {
      void flush().finally(() => !stopped && schedule());
    }, everyMs);
  };
  schedule();

  return {
    flush,
    async stop() {
      stopped = true;
      timer?.unsubscribe();
      await running;
      await flush();
    },
  };
}
