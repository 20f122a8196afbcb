import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

/*
 * prom-client's four classes, each required from its own module. Its index also loads the push
 * gateway (http, https), the default process metrics (with @opentelemetry/api) and the cluster
 * aggregator, none of which Makai uses: 11.9 MB of RSS in every process, against 0.8 MB for
 * these four (measured with `require` in a bare node). The paths are prom-client 15's `lib/`;
 * the types are its public ones.
 */
const require = createRequire(import.meta.url);
export const Registry = require('prom-client/lib/registry') as typeof PromClient.Registry;
export const Counter = require('prom-client/lib/counter') as typeof PromClient.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof PromClient.Gauge;
export const Histogram = require('prom-client/lib/histogram') as typeof PromClient.Histogram;
export type Registry = PromClient.Registry;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;

/**
 * Metrics of one service: a prom-client {@link Registry} value, never the global default, so
 * several services (and tests) can live in one process without sharing counters.
 *
 * Metric names are `makai_<area>_<what>_<unit>` (Prometheus conventions). Asking twice for the
 * same name returns the same metric, so two components may count into one series.
 */
export class Metrics {
  readonly registry = new Registry();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter<string> {
    return this.getOrCreate(name, () => new Counter({ name, help, labelNames, registers: [this.registry] }));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge<string> {
    return this.getOrCreate(name, () => new Gauge({ name, help, labelNames, registers: [this.registry] }));
  }

  histogram(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []): Histogram<string> {
    return this.getOrCreate(
      name,
      () => new Histogram({ name, help, labelNames, buckets: [...buckets], registers: [this.registry] }),
    );
  }

  /** Current value of a counter or gauge series (0 when it was never touched). For tests and status output. */
  async value(name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) return 0;
    const { values } = await metric.get();
    const wanted = Object.entries(labels);
    return values
      .filter((v) => wanted.every(([k, want]) => String(v.labels[k]) === want))
      .reduce((sum, v) => sum + v.value, 0);
  }

  private getOrCreate<M>(name: string, create: () => M): M {
    return (this.registry.getSingleMetric(name) as M | undefined) ?? create();
  }
}
