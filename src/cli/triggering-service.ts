import type { SchedulerLike } from 'rxjs';
import type { StoreOrigin } from '../config/store-choice.js';
import type { Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { serviceScheduler } from '../core/service-scheduler.js';
import { consoleRoutes } from '../console/console-routes.js';
import { BoxLiveness } from '../observability/box-liveness.js';
import { createHealthCheck, type HealthReport } from '../observability/health.js';
import { startObservabilityServer, type ObservabilityServer } from '../observability/http-endpoint.js';
import { isPrepared, prepareTopology } from '../prepare-topology.js';
import { startTopology } from '../runtime.js';
import { StoreBoxDirectory } from '../stores/box-directory.js';
import { openStore } from '../stores/open-store.js';
import type { Store } from '../stores/store.js';
import type { Topology } from '../topology.js';
import type { LoadedTopology } from './load-topology.js';

export interface TriggeringServiceOptions {
  /** The topology (prepared by `loadTopology`, or a plain one, prepared here) and its settings. */
  readonly loaded: Omit<LoadedTopology, 'topology'> & { readonly topology: Topology };
  readonly storeUri: string;
  /** Where `storeUri` came from (see {@link chooseStore}), so a URI the store refuses is reported there. */
  readonly storeFrom?: StoreOrigin;
  /** An already open store to use instead of opening `storeUri` (the caller keeps owning it). */
  readonly store?: Store;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Clock and timers of every node; default {@link serviceScheduler} (wall clock). */
  readonly scheduler?: SchedulerLike;
  /**
   * `host:port` of the `/metrics` + `/health` endpoint (port 0: a free one, see
   * `observability.url`). Default: the settings' `metrics_address`; no endpoint when neither is set.
   */
  readonly observabilityAddress?: string;
}

/** What the service shows of itself: `/health` and the endpoint's address. */
export interface TriggeringObservability {
  /** Per-box last seen, fed by the topology's `box-liveness` node. */
  readonly liveness: BoxLiveness;
  /** A fresh health report (what `/health` serves). */
  readonly health: () => Promise<HealthReport>;
  /** Base URL of the endpoint, when an address was given. */
  readonly url: string | undefined;
}

export interface TriggeringService {
  readonly store: Store;
  readonly metrics: Metrics;
  readonly observability: TriggeringObservability;
  /** Resolves when the topology has finished on its own; rejects on a fatal error. */
  readonly done: Promise<void>;
  /** Flushes windows and batches, closes sockets and the store. Resolves false if the deadline cut it short. */
  stop(deadlineMs?: number): Promise<boolean>;
}

/**
 * The triggering service as a value: the composition root of a topology. It opens what the
 * topology's nodes declare they need (the store, the box registry, the liveness tracker), the
 * `/metrics` + `/health` endpoint, and starts the topology; everything else (dead letters, the
 * expiry sweep, box status) is a node of the topology. Used by `makai run` and `makai up`.
 */
export async function startTriggeringService(options: TriggeringServiceOptions): Promise<TriggeringService> {
  const scheduler = options.scheduler ?? serviceScheduler;
  const metrics = options.metrics ?? new Metrics();
  const logger = options.logger.child({ component: 'service.triggering' });
  const { loaded } = options;
  // Every check first: nothing is opened for a topology that would be refused.
  const topology =
    isPrepared(loaded.topology)
      ? loaded.topology
      : await prepareTopology(loaded.topology, { baseDir: loaded.baseDir, logger, ...(loaded.file ? { file: loaded.file } : {}) });

  const ownsStore = options.store === undefined;
  const store = options.store ?? (await openStore(options.storeUri, { logger, metrics, ...options.storeFrom }));
  const closers: (() => Promise<void> | void)[] = ownsStore ? [() => store.close()] : [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  try {
    const liveness = new BoxLiveness({ metrics });
    const health = createHealthCheck({ service: 'triggering', metrics, liveness, scheduler, store });
    const address = options.observabilityAddress ?? loaded.settings.metrics_address;
    let server: ObservabilityServer | undefined;
    if (address !== undefined) {
      // The web console shares the endpoint: read-only pages over the same store.
      const webConsole = consoleRoutes({ store, health, scheduler, logger: logger.child({ component: 'console' }) });
      server = await startObservabilityServer({ address, metrics, health, logger: logger.child({ component: 'observability' }), routes: webConsole.handle });
      closers.push(() => server?.close(), () => webConsole.close());
    }
    const boxes = new StoreBoxDirectory({ store, refreshMs: loaded.settings.box_registry_refresh, scheduler, logger });
    await boxes.start();
    closers.push(() => boxes.close());

    const running = await startTopology(topology, { scheduler, logger, metrics, resources: { store, boxes, liveness } });
    logger.info('triggering service started', { topology: topology.name, store: store.location });

    let stopped: Promise<boolean> | undefined;
    return {
      store,
      metrics,
      observability: { liveness, health, url: server?.url },
      done: running.done,
      stop: (deadlineMs) =>
        (stopped ??= (async () => {
          const clean = await running.stop(deadlineMs);
          await closeAll();
          logger.info('triggering service stopped', { clean });
          return clean;
        })()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
