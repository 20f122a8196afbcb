import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { describeError } from '../core/errors.js';
import { Counter, Gauge, type Metrics } from '../core/metrics.js';
import type { BoxStatus } from '../protocol/documents.js';
import type { Store, StoreKind } from '../stores/store.js';
import { PLUGIN_STATES, type PluginState } from '../plugins/isolate-plugin.js';
import { compareBoxIds, type BoxLiveness } from './box-liveness.js';

/**
 * The JSON document of `GET /health` (in the spirit of OPQ's health plugin): is the service up,
 * can it reach its store, which boxes it hears from, how full its queues are, and what it has
 * counted. Field names are snake_case like the stored documents; times are ms since the epoch.
 */
export interface HealthReport {
  /** Which service answers, e.g. `triggering`. */
  readonly service: string;
  /**
   * `error` when the store cannot be reached; `degraded` when it can but a plugin is failing
   * (restarting, or restarted and not yet healthy again); `ok` otherwise.
   */
  readonly status: HealthStatus;
  /** Why the status is not `ok`, one line each (absent when it is). */
  readonly problems?: readonly string[];
  /** When the report was made. */
  readonly time_ms: number;
  readonly started_ms: number;
  readonly uptime_s: number;
  readonly store: StoreHealth;
  /** Every box known from the registry, the stored box status or this process, by box id. */
  readonly boxes: readonly BoxHealth[];
  /** Current queue depths, from every `*_queue_depth` gauge: `store.measurements`, … */
  readonly queues: Readonly<Record<string, number>>;
  readonly counters: CountersSummary;
  /** Every isolated plugin of the service, by name (empty for a service without plugins). */
  readonly plugins: readonly PluginHealth[];
}

export type HealthStatus = 'ok' | 'degraded' | 'error';

/** One plugin, from the gauges and counters `isolatePlugin` keeps (labelled `plugin`). */
export interface PluginHealth {
  readonly plugin: string;
  /** `running`, `restarting` (waiting out a back-off after a failure) or `stopped`. */
  readonly state: PluginState | 'unknown';
  /** Restarts since the service started. */
  readonly restarts: number;
  /** Failures (throws or errors) since the service started. */
  readonly errors: number;
  /** Failures since the plugin last ran its reset period without one; above 0 the plugin is not healthy. */
  readonly consecutive_failures: number;
  /** Measurements waiting for it. */
  readonly queue_depth: number;
  /** Measurements it never saw (queue full, or left over when it stopped). */
  readonly dropped: number;
}

export interface StoreHealth {
  /** `none` for a service without a store. */
  readonly status: 'ok' | 'error' | 'none';
  readonly kind?: StoreKind;
  readonly location?: string;
  /** Why the probe failed. */
  readonly error?: string;
  /** How long the probe took (ms). */
  readonly probe_ms?: number;
}

export interface BoxHealth {
  readonly box_id: string;
  /** When the last measurement was received (this process, else the stored `box_status`). */
  readonly last_measurement_ms?: number;
  /** The box's own timestamp of that measurement (this process only). */
  readonly last_measurement_box_time_ms?: number;
  /** When the last PONG was received (this process, else the stored `box_status`). */
  readonly last_pong_ms?: number;
  /** Seconds between the later of the two and the report; absent when the box was never heard from. */
  readonly last_seen_ago_s?: number;
  /** True when the box is in the registry (`opq_boxes`). */
  readonly registered: boolean;
}

export interface CountersSummary {
  /** Valid measurements received from boxes (`makai_box_measurements_total`). */
  readonly measurements_in: number;
  /** PONGs received (`makai_box_pongs_total`). */
  readonly pongs_in: number;
  /** Refused input (`makai_rejected_total`), in total, by reason and by source. */
  readonly rejected: {
    readonly total: number;
    readonly by_reason: Readonly<Record<string, number>>;
    readonly by_source: Readonly<Record<string, number>>;
  };
  /** Every counter of the service with a non-zero total, by metric name. */
  readonly totals: Readonly<Record<string, number>>;
}

export interface HealthCheckOptions {
  readonly service: string;
  readonly metrics: Metrics;
  /** The service's store; the report says `none` without one. */
  readonly store?: Pick<Store, 'kind' | 'location' | 'countMeasurements' | 'listBoxStatus' | 'listBoxes'>;
  /** Live per-box state of this process, merged over the stored box status. */
  readonly liveness?: BoxLiveness;
  /** Longest wait for each store call (ms, default 2000); beyond it the store is reported as an error. */
  readonly storeTimeoutMs?: number;
  /** Clock of the report (wall clock by default). */
  readonly scheduler?: SchedulerLike;
}

/** Box id used by the probe: no box has it, so the count is cheap (an index lookup) and always 0. */
const PROBE_BOX_ID = '__probe__';

/**
 * Builds the health check of a service: a function that makes a fresh {@link HealthReport}
 * each time it is called (each scrape of `/health`). It never rejects because of the store:
 * a store that fails or does not answer within `storeTimeoutMs` is reported as an error.
 */
export function createHealthCheck(options: HealthCheckOptions): () => Promise<HealthReport> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const startedMs = scheduler.now();
  const timeoutMs = options.storeTimeoutMs ?? 2000;
  const within = <T>(what: string, call: () => Promise<T>) => withTimeout(what, call, timeoutMs, scheduler);

  return async function healthCheck(): Promise<HealthReport> {
    const { store } = options;
    let storeHealth: StoreHealth = { status: 'none' };
    let stored: readonly BoxStatus[] = [];
    let registered: readonly string[] = [];
    if (store) {
      const probeStart = scheduler.now();
      const [probe, statuses, boxes] = await Promise.allSettled([
        within('store probe', () => store.countMeasurements({ box_id: PROBE_BOX_ID })),
        within('listBoxStatus', () => store.listBoxStatus()),
        within('listBoxes', () => store.listBoxes()),
      ]);
      const failed = [probe, statuses, boxes].find((r): r is PromiseRejectedResult => r.status === 'rejected');
      storeHealth = {
        status: failed ? 'error' : 'ok',
        kind: store.kind,
        location: store.location,
        ...(failed ? { error: describeError(failed.reason) } : { probe_ms: scheduler.now() - probeStart }),
      };
      if (statuses.status === 'fulfilled') stored = statuses.value;
      if (boxes.status === 'fulfilled') registered = boxes.value.map((b) => b.box_id);
    }
    const nowMs = scheduler.now();
    const plugins = await pluginHealth(options.metrics);
    const problems = [
      ...(storeHealth.status === 'error' ? [`store: ${storeHealth.error ?? 'unreachable'}`] : []),
      ...plugins.flatMap(pluginProblem),
    ];
    return {
      service: options.service,
      status: storeHealth.status === 'error' ? 'error' : problems.length > 0 ? 'degraded' : 'ok',
      ...(problems.length > 0 ? { problems } : {}),
      time_ms: nowMs,
      started_ms: startedMs,
      uptime_s: Math.max(0, (nowMs - startedMs) / 1000),
      store: storeHealth,
      boxes: mergeBoxes(registered, stored, options.liveness, nowMs),
      queues: await queueDepths(options.metrics),
      counters: await countersSummary(options.metrics),
      plugins,
    };
  };
}

/** One entry per box: registry ∪ stored status ∪ live tracker; the later time of each kind wins. */
export function mergeBoxes(
  registered: readonly string[],
  stored: readonly BoxStatus[],
  liveness: BoxLiveness | undefined,
  nowMs: number,
): BoxHealth[] {
  const byId = new Map<string, { -readonly [K in keyof BoxHealth]: BoxHealth[K] }>();
  const entry = (id: string) => {
    let e = byId.get(id);
    if (!e) byId.set(id, (e = { box_id: id, registered: false }));
    return e;
  };
  for (const id of registered) entry(id).registered = true;
  const later = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
  const merge = (status: { box_id: string; last_measurement_ms?: number; last_pong_ms?: number; last_measurement_box_time_ms?: number }) => {
    const e = entry(status.box_id);
    const measurement = later(e.last_measurement_ms, status.last_measurement_ms);
    if (measurement !== undefined) e.last_measurement_ms = measurement;
    const pong = later(e.last_pong_ms, status.last_pong_ms);
    if (pong !== undefined) e.last_pong_ms = pong;
    if (status.last_measurement_box_time_ms !== undefined) e.last_measurement_box_time_ms = status.last_measurement_box_time_ms;
  };
  stored.forEach(merge);
  liveness?.snapshot().forEach(merge);
  const out = [...byId.values()].sort((a, b) => compareBoxIds(a.box_id, b.box_id));
  for (const e of out) {
    const seen = later(e.last_measurement_ms, e.last_pong_ms);
    if (seen !== undefined) e.last_seen_ago_s = Math.max(0, (nowMs - seen) / 1000);
  }
  return out;
}

/** Every plugin that has a `makai_plugin_state` series, with its counters and gauges. */
async function pluginHealth(metrics: Metrics): Promise<PluginHealth[]> {
  const byPlugin = async (name: string) => {
    const out = new Map<string, number>();
    const metric = metrics.registry.getSingleMetric(name);
    if (!metric) return out;
    for (const v of (await metric.get()).values) {
      const plugin = String(v.labels['plugin']);
      out.set(plugin, (out.get(plugin) ?? 0) + v.value);
    }
    return out;
  };
  const states = new Map<string, PluginState | 'unknown'>();
  const stateMetric = metrics.registry.getSingleMetric('makai_plugin_state');
  for (const v of stateMetric ? (await stateMetric.get()).values : []) {
    const plugin = String(v.labels['plugin']);
    const state = String(v.labels['state']);
    if (!states.has(plugin)) states.set(plugin, 'unknown');
    if (v.value === 1 && (PLUGIN_STATES as readonly string[]).includes(state)) states.set(plugin, state as PluginState);
  }
  const [restarts, errors, failures, queues, dropped] = await Promise.all(
    ['makai_plugin_restarts_total', 'makai_plugin_errors_total', 'makai_plugin_consecutive_failures', 'makai_plugin_queue_depth', 'makai_plugin_dropped_total'].map(byPlugin),
  );
  return [...states]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([plugin, state]) => ({
      plugin,
      state,
      restarts: restarts!.get(plugin) ?? 0,
      errors: errors!.get(plugin) ?? 0,
      consecutive_failures: failures!.get(plugin) ?? 0,
      queue_depth: queues!.get(plugin) ?? 0,
      dropped: dropped!.get(plugin) ?? 0,
    }));
}

/** Why a plugin makes the service degraded, or nothing: it is restarting, or has restarted and not yet run its reset period cleanly. */
function pluginProblem(p: PluginHealth): string[] {
  if (p.state === 'restarting') return [`plugin ${p.plugin}: restarting after ${p.consecutive_failures} consecutive failure${p.consecutive_failures === 1 ? '' : 's'} (${p.restarts} restarts)`];
  if (p.consecutive_failures > 0) return [`plugin ${p.plugin}: failed ${p.consecutive_failures} time${p.consecutive_failures === 1 ? '' : 's'} lately, running again (${p.restarts} restarts)`];
  return [];
}

/** Every gauge named `makai_<what>_queue_depth`, as `<what>.<label values>` → value. */
async function queueDepths(metrics: Metrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const match = /^makai_(.+)_queue_depth$/.exec(metric.name);
    if (!match || !(metric instanceof Gauge)) continue;
    const { values } = await metric.get();
    for (const v of values) {
      const labels = Object.values(v.labels).map(String);
      out[[match[1], ...labels].join('.')] = v.value;
    }
  }
  return out;
}

async function countersSummary(metrics: Metrics): Promise<CountersSummary> {
  const totals: Record<string, number> = {};
  const byReason: Record<string, number> = {};
  const bySource: Record<string, number> = {};
  for (const metric of metrics.registry.getMetricsAsArray()) {
    if (!(metric instanceof Counter)) continue;
    const { values } = await metric.get();
    const total = values.reduce((sum, v) => sum + v.value, 0);
    if (total !== 0) totals[metric.name] = total;
    if (metric.name !== 'makai_rejected_total') continue;
    for (const v of values) {
      const reason = String(v.labels['reason'] ?? 'unknown');
      const source = String(v.labels['source'] ?? 'unknown');
      byReason[reason] = (byReason[reason] ?? 0) + v.value;
      bySource[source] = (bySource[source] ?? 0) + v.value;
    }
  }
  return {
    measurements_in: totals['makai_box_measurements_total'] ?? 0,
    pongs_in: totals['makai_box_pongs_total'] ?? 0,
    rejected: { total: totals['makai_rejected_total'] ?? 0, by_reason: byReason, by_source: bySource },
    totals,
  };
}

/** `call()`, or a rejection naming `what` after `timeoutMs` (the call itself is left to finish). */
function withTimeout<T>(what: string, call: () => Promise<T>, timeoutMs: number, scheduler: SchedulerLike): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = scheduler.schedule(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
    let result: Promise<T>;
    try {
      result = call();
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (value) => {
        timer.unsubscribe();
        resolve(value);
      },
      (error: unknown) => {
        timer.unsubscribe();
        reject(error);
      },
    );
  });
}
