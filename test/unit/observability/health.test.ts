import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Subject, VirtualTimeScheduler, map } from 'rxjs';
import { silentLogger } from '../../../src/core/logger.js';
import { isolatePlugin } from '../../../src/plugins/isolate-plugin.js';
import type { EventRequest, Measurement, PluginOperator } from '../../../src/plugins/plugin.js';
import { triggerMessage } from '../../helpers/messages.js';
import { Metrics } from '../../../src/core/metrics.js';
import { BoxLiveness } from '../../../src/observability/box-liveness.js';
import { createHealthCheck } from '../../../src/observability/health.js';
import { openSqliteStore, type SqliteStore } from '../../../src/stores/sqlite-store.js';
import type { Store } from '../../../src/stores/store.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';

const T = 1_700_000_000_000;

/** A clock the test sets: `now()` is what the report uses. */
function clockAt(ms: number): VirtualTimeScheduler {
  const scheduler = new VirtualTimeScheduler();
  scheduler.frame = ms;
  return scheduler;
}

describe('health check', () => {
  let dir: TempDir;
  let store: SqliteStore;
  before(async () => {
    dir = await createTempDir('makai-health-');
    store = await openSqliteStore({ path: dir.file('makai.db') });
    await store.upsertBox({ box_id: '1', location: 'manoa' });
    await store.upsertBox({ box_id: '3' });
    await store.updateBoxStatus({ box_id: '1', last_measurement_ms: T - 60_000, last_pong_ms: T - 30_000 });
    await store.updateBoxStatus({ box_id: '2', last_pong_ms: T - 10_000 });
  });
  after(async () => {
    await store.close();
    await dir.remove();
  });

  it('reports the store, every box (registry, stored status, live) with last seen, queues and counters', async () => {
    const scheduler = clockAt(T - 100_000);
    const metrics = new Metrics();
    const liveness = new BoxLiveness({ metrics });
    const health = createHealthCheck({ service: 'triggering', metrics, store, liveness, scheduler });
    scheduler.frame = T;

    liveness.recordMeasurement('1', T - 2500, T - 2000); // newer than the stored one
    liveness.recordMeasurement('7', T - 1100, T - 1000); // only live
    metrics.gauge('makai_store_queue_depth', 'depth', ['collection']).set({ collection: 'measurements' }, 12);
    metrics.gauge('makai_store_queue_depth', 'depth', ['collection']).set({ collection: 'trends' }, 0);
    const rejected = metrics.counter('makai_rejected_total', 'refused', ['source', 'reason']);
    rejected.inc({ source: 'decode', reason: 'truncated' }, 2);
    rejected.inc({ source: 'decode', reason: 'frame-count' });
    rejected.inc({ source: 'trends', reason: 'out-of-range' }, 4);
    metrics.counter('makai_untouched_total', 'never counted');

    const report = await health();
    assert.equal(report.service, 'triggering');
    assert.equal(report.status, 'ok');
    assert.equal(report.time_ms, T);
    assert.equal(report.started_ms, T - 100_000);
    assert.equal(report.uptime_s, 100);
    assert.equal(report.store.status, 'ok');
    assert.equal(report.store.kind, 'sqlite');
    assert.equal(report.store.location, store.location);
    assert.deepStrictEqual(report.boxes, [
      { box_id: '1', registered: true, last_measurement_ms: T - 2000, last_pong_ms: T - 30_000, last_measurement_box_time_ms: T - 2500, last_seen_ago_s: 2 },
      { box_id: '2', registered: false, last_pong_ms: T - 10_000, last_seen_ago_s: 10 },
      { box_id: '3', registered: true },
      { box_id: '7', registered: false, last_measurement_ms: T - 1000, last_measurement_box_time_ms: T - 1100, last_seen_ago_s: 1 },
    ]);
    assert.deepStrictEqual(report.queues, { 'store.measurements': 12, 'store.trends': 0 });
    assert.deepStrictEqual(report.counters.rejected, {
      total: 7,
      by_reason: { truncated: 2, 'frame-count': 1, 'out-of-range': 4 },
      by_source: { decode: 3, trends: 4 },
    });
    assert.equal(report.counters.measurements_in, 2);
    assert.equal(report.counters.totals['makai_rejected_total'], 7);
    assert.equal(report.counters.totals['makai_untouched_total'], undefined, 'zero counters are left out');
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(report)));
  });

  it('reports a store that fails as an error, with the message, and still lists live boxes', async () => {
    const closed = await openSqliteStore({ path: dir.file('closed.db') });
    await closed.close();
    const liveness = new BoxLiveness();
    liveness.recordMeasurement('5', T, T);
    const report = await createHealthCheck({ service: 'x', metrics: new Metrics(), store: closed, liveness, scheduler: clockAt(T) })();
    assert.equal(report.status, 'error');
    assert.equal(report.store.status, 'error');
    assert.match(report.store.error!, /closed/);
    assert.deepStrictEqual(report.boxes.map((b) => b.box_id), ['5']);
  });

  it('reports a store that does not answer as an error after the timeout', async () => {
    const never = () => new Promise<never>(() => undefined);
    const hanging = { kind: 'mongodb', location: 'mongodb://10.0.0.1', countMeasurements: never, listBoxStatus: never, listBoxes: never } satisfies Pick<
      Store,
      'kind' | 'location' | 'countMeasurements' | 'listBoxStatus' | 'listBoxes'
    >;
    const report = await createHealthCheck({ service: 'x', metrics: new Metrics(), store: hanging, storeTimeoutMs: 50 })();
    assert.equal(report.status, 'error');
    assert.match(report.store.error!, /no answer within 50 ms/);
  });

  it('says none for a service without a store', async () => {
    const report = await createHealthCheck({ service: 'trigger-broker', metrics: new Metrics() })();
    assert.equal(report.status, 'ok');
    assert.deepStrictEqual(report.store, { status: 'none' });
    assert.deepStrictEqual(report.boxes, []);
  });

  it('is degraded while a plugin crash-loops, lists every plugin, and is ok again once it has run its reset period', async () => {
    const scheduler = clockAt(T);
    /** Runs what is due up to T + ms of virtual time, no further. */
    const advanceTo = (ms: number) => {
      scheduler.maxFrames = T + ms;
      scheduler.flush();
    };
    const metrics = new Metrics();
    const broken: PluginOperator = (source) =>
      source.pipe(
        map((): EventRequest => {
          throw new Error('boom');
        }),
      );
    const idle: PluginOperator = (source) => source.pipe(map((m): EventRequest => ({ startTimestampMsUtc: m.time, endTimestampMsUtc: m.time + 1, triggerType: 'OTHER', percentMagnitude: 0, boxIds: [m.id], requestee: 'idle', description: '', requestData: false })));
    const input = new Subject<Measurement>();
    const tuning = { logger: silentLogger, metrics, scheduler, initialBackoffMs: 1000, maxBackoffMs: 1000, resetAfterMs: 60_000 };
    input.pipe(isolatePlugin(broken, { name: 'broken', ...tuning })).subscribe();
    new Subject<Measurement>().pipe(isolatePlugin(idle, { name: 'idle', ...tuning })).subscribe();
    const health = createHealthCheck({ service: 'triggering', metrics, scheduler });

    const before = await health();
    assert.equal(before.status, 'ok');
    assert.equal(before.problems, undefined);
    assert.deepStrictEqual(before.plugins.map((p) => [p.plugin, p.state]), [['broken', 'running'], ['idle', 'running']]);

    input.next(triggerMessage({ time: T }));
    input.next(triggerMessage({ time: T + 166 }));
    advanceTo(10); // the first drain fails on the first measurement; the second waits
    const failing = await health();
    assert.equal(failing.status, 'degraded');
    assert.deepStrictEqual(failing.problems, ['plugin broken: restarting after 1 consecutive failure (0 restarts)']);
    assert.deepStrictEqual(failing.plugins, [
      { plugin: 'broken', state: 'restarting', restarts: 0, errors: 1, consecutive_failures: 1, queue_depth: 1, dropped: 0 },
      { plugin: 'idle', state: 'running', restarts: 0, errors: 0, consecutive_failures: 0, queue_depth: 0, dropped: 0 },
    ]);
    assert.equal(failing.queues['plugin.broken'], 1, 'the plugin queue is one of the queues too');

    advanceTo(1500); // restarted at 1000, failed on the second measurement
    advanceTo(30_000); // restarted at 2000 with nothing to fail on
    const recovering = await health();
    assert.equal(recovering.status, 'degraded');
    assert.deepStrictEqual(recovering.problems, ['plugin broken: failed 2 times lately, running again (2 restarts)']);
    assert.equal(recovering.plugins[0]!.state, 'running');

    advanceTo(70_000); // 60 s of running without a failure since the restart at 2000
    const healthy = await health();
    assert.equal(healthy.status, 'ok');
    assert.deepStrictEqual(healthy.plugins[0], { plugin: 'broken', state: 'running', restarts: 2, errors: 2, consecutive_failures: 0, queue_depth: 0, dropped: 0 });
  });
});
