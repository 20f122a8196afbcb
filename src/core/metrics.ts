import { Counter, Gauge, Histogram, Registry } from 'prom-client';

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
