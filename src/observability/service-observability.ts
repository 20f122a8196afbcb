import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Rejection } from '../core/rejection.js';
import { DeadLetterStore } from '../sinks/dead-letter-store.js';
import type { Store } from '../stores/store.js';
import { BoxLiveness } from './box-liveness.js';
import { persistBoxLiveness, type BoxLivenessPersister } from './box-liveness-persister.js';
import { createHealthCheck, type HealthReport } from './health.js';
import { startObservabilityServer, type ObservabilityServer } from './http-endpoint.js';

export interface ServiceObservabilityOptions {
  /** Name in the health report and logs: `triggering`, `acquisition-broker`, … */
  readonly service: string;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly scheduler?: SchedulerLike;
  /** The service's store: dead letters and box status are persisted to it, and it is probed by `/health`. */
  readonly store?: Store;
  /** `host:port` of the `/metrics` + `/health` endpoint; no endpoint when absent (the rest still runs). */
  readonly address?: string;
  /** Newest refused inputs kept (default 1000). */
  readonly deadLetterCapacity?: number;
  /** How often box liveness is written to `box_status` (ms, default 10000). */
  readonly boxStatusEveryMs?: number;
}

/** What a service gets from {@link startServiceObservability}. */
export interface ServiceObservability {
  /** Feed it measurements (`recordMeasurement`) and PONGs (`recordPong`). */
  readonly liveness: BoxLiveness;
  readonly deadLetters: DeadLetterStore;
  /** Pass as the dead-letter log's `keep`: `deadLetterLog({ …, keep: observability.keep })`. */
  readonly keep: (rejection: Rejection) => void;
  /** A fresh health report (what `/health` serves). */
  readonly health: () => Promise<HealthReport>;
  /** Base URL of the endpoint, when an address was given. */
  readonly url: string | undefined;
  /** Stops the endpoint, then writes the last dead letters and box status. Idempotent. */
  close(): Promise<void>;
}

/**
 * Everything a service needs to be observable, in one call: the box liveness tracker, the
 * bounded dead-letter store, their persistence to the service's store, the health check and,
 * when `address` is set, the HTTP endpoint serving `/metrics` and `/health`.
 *
 * ```ts
 * const observability = await startServiceObservability({ service: 'acquisition-broker', metrics, logger, store, address });
 * const rejected = deadLetterLog({ logger, metrics, scheduler, keep: observability.keep });
 * observability.liveness.recordPong(boxId, scheduler.now());
 * // on shutdown, before the store is closed:
 * await observability.close();
 * ```
 *
 * @throws ConfigError / ConnectionError (rejected) when the address is invalid or cannot be bound.
 */
export async function startServiceObservability(options: ServiceObservabilityOptions): Promise<ServiceObservability> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const { metrics, store } = options;
  const logger = options.logger.child({ component: 'observability' });
  const liveness = new BoxLiveness({ metrics });
  const deadLetters = new DeadLetterStore({
    ...(store ? { store } : {}),
    ...(options.deadLetterCapacity !== undefined ? { capacity: options.deadLetterCapacity } : {}),
    scheduler,
    logger: logger.child({ component: 'dead-letters' }),
    metrics,
  });
  const health = createHealthCheck({ service: options.service, metrics, liveness, scheduler, ...(store ? { store } : {}) });

  let server: ObservabilityServer | undefined;
  if (options.address !== undefined) {
    try {
      server = await startObservabilityServer({ address: options.address, metrics, health, logger });
    } catch (error) {
      await deadLetters.close();
      throw error;
    }
  }
  const persister: BoxLivenessPersister | undefined = store
    ? persistBoxLiveness({ liveness, store, scheduler, logger, ...(options.boxStatusEveryMs ? { everyMs: options.boxStatusEveryMs } : {}) })
    : undefined;

  let closing: Promise<void> | undefined;
  return {
    liveness,
    deadLetters,
    keep: deadLetters.keep,
    health,
    url: server?.url,
    close: () =>
      (closing ??= (async () => {
        await server?.close();
        await Promise.all([deadLetters.close(), persister?.stop()]);
      })()),
  };
}
