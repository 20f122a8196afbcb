import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VirtualTimeScheduler } from 'rxjs';
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
});
