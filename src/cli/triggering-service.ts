import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { describeError } from '../core/errors.js';
import type { StoreOrigin } from '../config/store-choice.js';
import type { Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { startServiceObservability, type ServiceObservability } from '../observability/service-observability.js';
import { startTopology } from '../runtime.js';
import { deadLetterLog } from '../sinks/dead-letter-log.js';
import { StoreBoxDirectory } from '../stores/box-directory.js';
import { openStore } from '../stores/open-store.js';
import type { Store } from '../stores/store.js';
import type { LoadedTopology } from './load-topology.js';

export interface TriggeringServiceOptions {
  readonly loaded: LoadedTopology;
  readonly storeUri: string;
  /** Where `storeUri` came from (see {@link chooseStore}), so a URI the store refuses is reported there. */
  readonly storeFrom?: StoreOrigin;
  /** An already open store to use instead of opening `storeUri` (the caller keeps owning it). */
  readonly store?: Store;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly scheduler?: SchedulerLike;
  /** How often expired measurements are deleted (the SQLite store has no TTL index). */
  readonly expirySweepMs?: number;
  /**
   * `host:port` of the `/metrics` + `/health` endpoint (port 0: a free one, see
   * `observability.url`). Default: the settings' `metrics_address`; no endpoint when neither is set.
   */
  readonly observabilityAddress?: string;
}

export interface TriggeringService {
  readonly store: Store;
  readonly metrics: Metrics;
  /** Box liveness, kept dead letters, health check, and the endpoint's `url` when one listens. */
  readonly observability: ServiceObservability;
  /** Resolves when the topology has finished on its own; rejects on a fatal error. */
  readonly done: Promise<void>;
  /** Flushes windows and batches, closes sockets and the store. Resolves false if the deadline cut it short. */
  stop(deadlineMs?: number): Promise<boolean>;
}

/**
 * The triggering service as a value: opens the store and the box registry, starts the
 * topology, and sweeps expired measurements. Used by `makai run` and `makai up`.
 */
export async function startTriggeringService(options: TriggeringServiceOptions): Promise<TriggeringService> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const metrics = options.metrics ?? new Metrics();
  const logger = options.logger.child({ component: 'service.triggering' });
  const ownsStore = options.store === undefined;
  const store =
    options.store ?? (await openStore(options.storeUri, { logger, metrics, ...options.storeFrom }));
  const observabilityAddress = options.observabilityAddress ?? options.loaded.settings.metrics_address;
  const observability = await startServiceObservability({
    service: 'triggering',
    metrics,
    logger,
    scheduler,
    store,
    ...(observabilityAddress !== undefined ? { address: observabilityAddress } : {}),
  }).catch(async (error: unknown) => {
    if (ownsStore) await store.close();
    throw error;
  });
  const boxes = new StoreBoxDirectory({ store, refreshMs: options.loaded.settings.box_registry_refresh, scheduler, logger });
  await boxes.start();

  const sweepMs = options.expirySweepMs ?? 60_000;
  let sweep: Subscription | undefined;
  const sweepExpired = (): void => {
    sweep = scheduler.schedule(() => {
      store.deleteExpiredMeasurements(new Date(scheduler.now())).then(
        (deleted) => deleted > 0 && logger.debug('deleted expired measurements', { deleted }),
        (error: unknown) => logger.warn('could not delete expired measurements', { error: describeError(error) }),
      ).finally(() => sweep && sweepExpired());
    }, sweepMs);
  };
  sweepExpired();

  const rejected = deadLetterLog({ logger: logger.child({ component: 'dead-letters' }), metrics, scheduler, keep: observability.keep });
  let running;
  try {
    running = await startTopology(options.loaded.topology, {
      scheduler,
      logger,
      metrics,
      store,
      boxes,
      rejected,
      baseDir: options.loaded.baseDir,
      liveness: observability.liveness,
    });
  } catch (error) {
    boxes.close();
    sweep?.unsubscribe();
    await observability.close();
    if (ownsStore) await store.close();
    throw error;
  }
  logger.info('triggering service started', { topology: options.loaded.topology.name, store: store.location });

  let stopped: Promise<boolean> | undefined;
  return {
    store,
    metrics,
    observability,
    done: running.done,
    stop: (deadlineMs) =>
      (stopped ??= (async () => {
        const clean = await running.stop(deadlineMs);
        boxes.close();
        const timer = sweep;
        sweep = undefined;
        timer?.unsubscribe();
        await observability.close();
        if (ownsStore) await store.close();
        logger.info('triggering service stopped', { clean });
        return clean;
      })()),
  };
}
