import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { MeasurementDoc } from '../protocol/documents.js';
import type { Store } from '../stores/store.js';

/** One measurement as the console's live view gets it: short keys, box time in ms. */
export interface LivePoint {
  readonly box: string;
  readonly t: number;
  readonly v: number;
  readonly f: number;
  readonly thd?: number;
}

export interface LiveFeedOptions {
  readonly store: Pick<Store, 'queryMeasurements'>;
  readonly logger: Logger;
  readonly scheduler?: SchedulerLike;
  /** How often the store is read for new measurements (default 1000 ms). */
  readonly everyMs?: number;
  /** How much history a new viewer gets first (default 2 minutes of box time). */
  readonly historyMs?: number;
  /** Most measurements read per poll (default 20 000), so a backlog cannot stall the service. */
  readonly maxPerPoll?: number;
}

/** A running {@link startLiveFeed}. */
export interface LiveFeed {
  /** Adds a viewer: it gets the recent history at once, then every new batch. Returns its removal. */
  watch(send: (points: readonly LivePoint[]) => void): Promise<() => void>;
  close(): void;
}

/**
 * The console's live view of the boxes: what the store received since the last look, read
 * once per `everyMs` while at least one viewer watches (and not at all otherwise), by box time.
 * It reads the store the service writes, so it shows what is stored, a batch (≤ 1 s) behind.
 */
export function startLiveFeed(options: LiveFeedOptions): LiveFeed {
  const scheduler = options.scheduler ?? asyncScheduler;
  const everyMs = options.everyMs ?? 1000;
  const historyMs = options.historyMs ?? 120_000;
  const maxPerPoll = options.maxPerPoll ?? 20_000;
  const viewers = new Set<(points: readonly LivePoint[]) => void>();
  /** Newest box time already sent; the next poll reads after it. */
  let newestMs = scheduler.now() - historyMs;
  let timer: Subscription | undefined;
  let failing = false;

  const read = async (fromMs: number): Promise<LivePoint[]> => {
    const docs = await options.store.queryMeasurements({ fromMs, limit: maxPerPoll });
    return docs.map(toPoint);
  };
  const poll = async (): Promise<void> => {
    try {
      const points = await read(newestMs + 1);
      failing = false;
      if (points.length === 0) return;
      newestMs = points.reduce((newest, p) => Math.max(newest, p.t), newestMs);
      for (const send of viewers) send(points);
    } catch (error) {
      if (!failing) options.logger.warn('console: could not read new measurements', { error: describeError(error) });
      failing = true;
    }
  };
  const schedule = (): void => {
    timer = scheduler.schedule(() => {
      void poll().finally(() => viewers.size > 0 && schedule());
    }, everyMs);
  };

  return {
    async watch(send) {
      const history = await read(scheduler.now() - historyMs).catch(() => []);
      send(history);
      newestMs = history.reduce((newest, p) => Math.max(newest, p.t), newestMs);
      viewers.add(send);
      if (viewers.size === 1) schedule();
      return () => {
        viewers.delete(send);
        if (viewers.size === 0) timer?.unsubscribe();
      };
    },
    close() {
      viewers.clear();
      timer?.unsubscribe();
    },
  };
}

function toPoint(doc: MeasurementDoc): LivePoint {
  return { box: doc.box_id, t: doc.timestamp_ms, v: doc.voltage, f: doc.frequency, ...(doc.thd === undefined ? {} : { thd: doc.thd }) };
}
