import { asyncScheduler, type Observer } from 'rxjs';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Rejection } from '../core/rejection.js';
import { startServiceObservability, type ServiceObservability } from '../observability/service-observability.js';
import { deadLetterLog } from '../sinks/dead-letter-log.js';
import type { Store } from '../stores/store.js';
import type { CliIo } from './command.js';

export interface ServeBrokerOptions<B extends { start(): Promise<void>; close(): Promise<void> }> {
  /** `trigger-broker` or `acquisition-broker`: the `service` of health reports and logs. */
  readonly service: string;
  readonly store: Store | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** `host:port` of `/metrics` and `/health`; none when absent. */
  readonly metricsAddress: string | undefined;
  readonly io: CliIo;
  /** Builds the broker with the dead-letter observer this function owns. */
  create(rejected: Observer<Rejection>, observability: ServiceObservability): B;
}

/**
 * The life of a broker process: observability (dead letters, health, optional endpoint) first,
 * then the broker, until SIGINT/SIGTERM; then the broker, observability and store close in that
 * order, so the last dead letters and box status are still written.
 *
 * Whatever fails on the way up (an endpoint that cannot be bound, a certificate that cannot be
 * read, a setting the broker refuses) closes what was already opened and is rethrown, so the
 * process exits with the error instead of living on with nothing to do.
 */
export async function serveBroker<B extends { start(): Promise<void>; close(): Promise<void> }>(options: ServeBrokerOptions<B>): Promise<number> {
  const { logger, metrics, store } = options;
  let observability: ServiceObservability | undefined;
  let broker: B | undefined;
  try {
    observability = await startServiceObservability({
      service: options.service,
      metrics,
      logger,
      ...(store ? { store } : {}),
      ...(options.metricsAddress ? { address: options.metricsAddress } : {}),
    });
    if (observability.url) logger.info('metrics and health endpoint', { url: observability.url });
    const rejected = deadLetterLog({ logger: logger.child({ component: 'dead-letters' }), metrics, scheduler: asyncScheduler, keep: observability.keep });
    broker = options.create(rejected, observability);
    await broker.start();
    const signal = await options.io.stopRequested;
    logger.info('stop requested', { signal });
  } finally {
    await broker?.close();
    await observability?.close();
    await store?.close();
  }
  return 0;
}
