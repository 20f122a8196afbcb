import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, it } from 'node:test';
import { AcquisitionBroker, type AcquisitionActivity } from '../../src/brokers/acquisition-broker.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { acquisitionPush, deadLetters, decodeTriggers, dedupe, measurementStore, plugin, triggerSubscription, trendStore, trends } from '../../src/nodes/index.js';
import { openStore } from '../../src/stores/open-store.js';
import type { Store } from '../../src/stores/store.js';
import { defineTopology, type Topology } from '../../src/topology.js';
import { createAcquisitionFixture, testSettings } from '../helpers/acquisition-harness.js';
import {
  RequestSink,
  TriggerFeed,
  makaiSettings,
  recentT0,
  startServiceUnderTest,
  triggerFrames,
  validTrigger,
  waitUntil,
  type ServiceUnderTest,
} from '../helpers/fault-harness.js';
import { dropDatabase, mongoTestTarget, singleHost, startTcpProxy, uniqueDatabaseName, uriThrough } from '../helpers/mongodb.js';
import { SqliteLockHolder } from '../helpers/sqlite-lock-holder.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';

// The store goes away while traffic flows: the triggering service and the acquisition broker
// must queue in their bounded buffers, retry with back-off, write everything after recovery
// (count equality), never crash and never stall the trigger path: during the outage messages
// keep being decoded, trend windows keep closing and an event request still goes out.
//
// The issue asks for a 30 s outage; in CI it is shortened to as long as it takes to observe
// the service through several failed retries (about 1-2 s): what is tested (queued, retried,
// all written after) does not depend on the length, and the buffer bounds are tested apart
// with a small cap.
//
// SQLite: another process holds `BEGIN EXCLUSIVE` on the file (writes get SQLITE_BUSY; running
// as root, chmod would not stop writes). MongoDB: a TCP proxy in front of the server is cut
// (connections reset, port closed) and restored, the server itself keeps running.

const MINUTE = 60_000;

/** One store under test and how to take it away and bring it back. */
interface OutageTarget {
  readonly name: string;
  readonly skip: string | false;
  /** The URI the service and broker use; prepares what `cut` needs. */
  open(dir: TempDir): Promise<string>;
  cut(): Promise<void>;
  restore(): Promise<void>;
  cleanup(): Promise<void>;
}

function sqliteTarget(): OutageTarget {
  let path = '';
  let holder: SqliteLockHolder | undefined;
  return {
    name: 'SQLite (write lock held by another process)',
    skip: false,
    open: async (dir) => {
      path = dir.file('makai.db');
      return `sqlite:${path}`;
    },
    cut: async () => void (holder = await SqliteLockHolder.lock(path)),
    restore: async () => holder?.release(),
    cleanup: async () => holder?.dispose(),
  };
}

function mongoTarget(): OutageTarget {
  const mongo = mongoTestTarget();
  const database = uniqueDatabaseName('makai_outage');
  let proxy: Awaited<ReturnType<typeof startTcpProxy>> | undefined;
  const server = mongo.uri ? singleHost(mongo.uri) : undefined;
  return {
    name: 'MongoDB (TCP proxy cut)',
    // Under CI a missing server must fail, not skip.
    skip: mongo.missingInCi ? false : mongo.skip || (server ? false : 'MAKAI_TEST_MONGODB_URI is not a single plain host (no proxy possible)'),
    open: async () => {
      if (!mongo.uri || !server) throw new Error('MAKAI_TEST_MONGODB_URI is not set (required under CI=true)');
      proxy = await startTcpProxy(server);
      const url = new URL(uriThrough(mongo.uri, proxy.port));
      url.pathname = `/${database}`;
      // Short server selection, so each attempt during the outage fails in half a second.
      url.searchParams.set('serverSelectionTimeoutMS', '500');
      url.searchParams.set('connectTimeoutMS', '500');
      return url.toString();
    },
    cut: async () => proxy?.cut(),
    restore: async () => proxy?.restore(),
    cleanup: async () => {
      await proxy?.close();
      if (mongo.uri) await dropDatabase(mongo.uri, database).catch(() => undefined);
    },
  };
}

/** The triggering service's default topology, with the measurement queue cap given. */
function cappedTopology(feed: string, acquisition: string, maxQueued: number): Topology {
  return defineTopology('capped', ({ source, pipe, merge, sink }) => {
    const frames = source('trigger', triggerSubscription({ endpoint: feed }));
    const measurements = pipe('decode', frames, decodeTriggers());
    sink('measurement-store', measurements, measurementStore({ ttl: '24h', batchSize: 20, flush: '100ms', maxQueued }));
    const windows = pipe('trends', measurements, trends({ window: '1s', grace: '200ms' }));
    sink('trend-store', windows, trendStore());
    const requests = pipe('plugin-0', measurements, plugin({ plugin: 'threshold' }));
    const fresh = pipe('dedupe', requests, dedupe({ expiration: 30 * MINUTE }));
    sink('acquisition', fresh, acquisitionPush({ endpoint: acquisition }));
    sink('dead-letters', merge('refused', [measurements.rejections, windows.late, fresh.rejections]), deadLetters());
  });
}

/** Box 1 and 2, messages `from` ≤ k < `to`; both sag to 95 V for k in `sag`. */
function traffic(t0: number, from: number, to: number, sag?: { from: number; to: number }): TriggerMessage[] {
  const messages: TriggerMessage[] = [];
  for (let k = from; k < to; k++) {
    for (const box of [1, 2]) {
      const sagged = sag !== undefined && k >= sag.from && k <= sag.to;
      messages.push(validTrigger(box, k, t0, sagged ? 95 : undefined));
    }
  }
  return messages;
}

/** Everything one outage scenario runs: store, acquisition broker, triggering service, trigger feed. */
interface Rig {
  readonly uri: string;
  readonly feed: TriggerFeed;
  readonly under: ServiceUnderTest;
  readonly broker: AcquisitionBroker;
  readonly brokerLogger: RecordingLogger;
  readonly brokerStore: Store;
  readonly activity: AcquisitionActivity[];
  send(messages: readonly TriggerMessage[]): Promise<void>;
  written(collection: 'measurements' | 'trends'): Promise<number>;
}

describe('store outage while traffic flows', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function startRig(target: OutageTarget, options: { readonly maxQueued?: number } = {}): Promise<Rig> {
    const dir = await createTempDir('makai-faults-outage-');
    cleanups.push(() => dir.remove());
    cleanups.push(() => target.cleanup());
    const uri = await target.open(dir);
    const fixture = await createAcquisitionFixture();
    cleanups.push(() => fixture.remove());
    const brokerStore = await openStore(uri);
    cleanups.push(() => brokerStore.close());
    const brokerLogger = new RecordingLogger();
    // The production retry limit (1 minute): an event request outlives the outage.
    const broker = new AcquisitionBroker(testSettings(fixture, { ping_interval: 60_000, store_retry_initial: 50, store_retry_limit: MINUTE }), {
      logger: brokerLogger,
      metrics: new Metrics(),
      store: brokerStore,
    });
    await broker.start();
    cleanups.push(() => broker.close());
    const activity: AcquisitionActivity[] = [];
    const subscription = broker.activity.subscribe((a) => activity.push(a));
    cleanups.push(() => subscription.unsubscribe());

    const feed = await TriggerFeed.bind();
    cleanups.push(() => feed.close());
    const settings = makaiSettings({
      zmq_trigger_endpoint: feed.endpoint,
      zmq_acquisition_endpoint: broker.endpoints.backend_pull,
      measurement_batch_size: 20,
      measurement_flush: '100ms',
      plugins: [{ plugin: 'threshold' }],
    });
    const topology = options.maxQueued === undefined ? undefined : cappedTopology(feed.endpoint, broker.endpoints.backend_pull, options.maxQueued);
    const under = await startServiceUnderTest({ settings, storeUri: uri, baseDir: dir.path, ...(topology ? { topology } : {}) });
    cleanups.push(async () => void (await under.service.stop()));
    await feed.whenSubscribed();
    return {
      uri,
      feed,
      under,
      broker,
      brokerLogger,
      brokerStore,
      activity,
      send: async (messages) => {
        for (const message of messages) await feed.send(triggerFrames(message));
      },
      written: (collection) => under.metrics.value('makai_store_written_total', { collection }),
    };
  }

  for (const target of [sqliteTarget(), mongoTarget()]) {
    it(`should queue, retry and write everything after an outage of ${target.name}, without stalling the trigger path`, { skip: target.skip }, async () => {
      const rig = await startRig(target);
      const { under } = rig;
      const metric = (name: string, labels: Record<string, string> = {}) => under.metrics.value(name, labels);
      const t0 = recentT0();

      // Before: 5 s of box time from two boxes, all written (windows 0-3 closed and written).
      const before = traffic(t0, 0, 30);
      await rig.send(before);
      await waitUntil(async () => (await rig.written('measurements')) === before.length && (await rig.written('trends')) === 8, 'writes before the outage');

      await target.cut();
      const cutAt = Date.now();
      const stalls = monitorEventLoopDelay({ resolution: 10 });
      stalls.enable();
      // During: 10 s of box time with a sag on both boxes.
      const during = traffic(t0, 30, 90, { from: 50, to: 55 });
      await rig.send(during);
      // The trigger path keeps going: every message decoded and queued, trend windows 4-13
      // closed and queued (and 14 too once the boxes have been silent for its grace), the sag
      // detected and the event request sent, while writes fail and are retried with back-off.
      await waitUntil(
        async () =>
          (await metric('makai_store_queue_depth', { collection: 'measurements' })) === during.length &&
          (await metric('makai_store_queue_depth', { collection: 'trends' })) >= 20 &&
          (await metric('makai_zmq_messages_sent_total')) === 1 &&
          (await metric('makai_store_write_failures_total', { collection: 'measurements', retryable: 'true' })) >= 3,
        'decoding, trends and the event request during the outage',
        { describe: async () => (await under.metrics.registry.getMetricsAsJSON()).filter((m) => m.name.startsWith('makai_store') || m.name.startsWith('makai_zmq')) },
      );
      assert.equal(await rig.written('measurements'), before.length, 'nothing was written during the outage');
      assert.equal(await rig.written('trends'), 8);
      stalls.disable();
      // The store's failures must not hold the event loop (the trigger path) for long: SQLite
      // waits for a lock synchronously (busy timeout), so that wait must stay short.
      assert.ok(stalls.max < 1e9, `the event loop stalled for ${Math.round(stalls.max / 1e6)} ms during the outage`);

      // Retried with back-off, however many batches arrive meanwhile: attempts k are spaced
      // 100, 200, 400, … ms, so k ≤ 1 + log2(1 + outage / 100) (timers only ever fire late).
      const attempts = await metric('makai_store_write_failures_total', { collection: 'measurements', retryable: 'true' });
      const backoffBound = 1 + Math.floor(Math.log2(1 + (Date.now() - cutAt) / 100));
      assert.ok(attempts <= backoffBound, `${attempts} write attempts in ${Date.now() - cutAt} ms: more than back-off allows (${backoffBound})`);
      await target.restore();
      const after = traffic(t0, 90, 120);
      await rig.send(after);
      const sent = [...before, ...during, ...after];
      await waitUntil(async () => (await rig.written('measurements')) === sent.length, 'every measurement written after recovery', {
        timeoutMs: 30_000,
        describe: () => under.metrics.registry.getMetricsAsJSON(),
      });
      const accepted = (a: AcquisitionActivity) => a.kind === 'request' && a.outcome === 'accepted';
      await waitUntil(() => rig.activity.some(accepted), 'the event stored after recovery', { timeoutMs: 30_000 });
      assert.equal(await under.service.stop(), true, 'graceful stop');

      // Count equality, and the data exactly as sent.
      const stored = await rig.brokerStore.queryMeasurements({});
      const key = (box: string | number, time: number) => `${box}@${time}`;
      assert.deepEqual(
        stored.map((m) => [key(m.box_id, m.timestamp_ms), m.voltage]).sort(),
        sent.map((m) => [key(m.id, m.time), m.rms]).sort(),
        'every measurement stored exactly once',
      );
      for (const box of ['1', '2']) {
        const trendDocs = await rig.brokerStore.queryTrends({ box_id: box });
        assert.deepEqual(trendDocs.map((t) => t.window_start_ms), Array.from({ length: 20 }, (_, s) => t0 + s * 1000), `box ${box}: every trend window`);
        assert.equal(trendDocs.reduce((n, t) => n + t.count, 0), 120, `box ${box}: trends computed from every message`);
      }
      const events = await rig.brokerStore.listEvents();
      assert.deepEqual(events.map((e) => [e.type, e.boxes_triggered]), [['VOLTAGE_SAG', ['1', '2']]], 'the event requested during the outage');
      assert.equal(await metric('makai_store_dropped_total'), 0, 'nothing dropped below the cap');

      // The outage is logged once per writer and its end once; nothing failed for good.
      const count = (records: RecordingLogger['records'], msg: string) => records.filter((r) => r.msg === msg).length;
      const records = under.logger.records;
      assert.equal(count(records, 'store write failed; queueing and retrying with back-off'), 2, 'one warning per collection, not per attempt');
      assert.equal(count(records, 'store writes recovered'), 2);
      assert.deepEqual(records.filter((r) => r.level === 'error'), [], 'no errors in the triggering service');
      assert.equal(count(rig.brokerLogger.records, 'store unavailable; retrying with back-off'), 1);
      assert.deepEqual(rig.brokerLogger.records.filter((r) => r.level === 'error'), [], 'no errors in the acquisition broker');
    });
  }

  it('should drop the oldest raw measurements past a small cap, count and log it, and keep every trend and event', async () => {
    const target = sqliteTarget();
    const cap = 100;
    const rig = await startRig(target, { maxQueued: cap });
    const { under } = rig;
    const t0 = recentT0();

    const before = traffic(t0, 0, 30);
    await rig.send(before);
    await waitUntil(async () => (await rig.written('measurements')) === before.length && (await rig.written('trends')) === 8, 'writes before the outage');

    await target.cut();
    const during = traffic(t0, 30, 150, { from: 50, to: 55 }); // 240 measurements for a cap of 100
    await rig.send(during);
    await waitUntil(
      async () =>
        (await under.metrics.value('makai_store_dropped_total', { collection: 'measurements' })) === during.length - cap &&
        (await under.metrics.value('makai_zmq_messages_sent_total')) === 1 &&
        (await under.metrics.value('makai_store_queue_depth', { collection: 'trends' })) >= 40,
      'drops counted, trends and the event request during the outage',
      { describe: () => under.metrics.registry.getMetricsAsJSON() },
    );
    await target.restore();
    await waitUntil(async () => (await rig.written('measurements')) === before.length + cap, 'the queued measurements written', { timeoutMs: 30_000 });
    await waitUntil(() => rig.activity.some((a) => a.kind === 'request' && a.outcome === 'accepted'), 'the event stored', { timeoutMs: 30_000 });
    await under.service.stop();

    // The newest measurements of the outage were kept, the oldest dropped, except the batch in
    // flight when the queue overflowed: the writer never drops a batch it is writing (it may
    // already be stored). That is the first batch of the outage (at most the batch size, 20),
    // in flight on the writer thread while the lock wait fails and during its retry.
    const stored = await rig.brokerStore.queryMeasurements({});
    const key = (box: string | number, time: number) => `${box}@${time}`;
    const storedKeys = new Set(stored.map((m) => key(m.box_id, m.timestamp_ms)));
    let inFlight = 0;
    while (inFlight < during.length && storedKeys.has(key(during[inFlight]!.id, during[inFlight]!.time))) inFlight += 1;
    assert.ok(inFlight <= 20, `at most one batch of the outage's oldest kept, got ${inFlight}`);
    const kept = [...during.slice(0, inFlight), ...during.slice(during.length - (cap - inFlight))];
    assert.deepEqual([...storedKeys].sort(), [...before, ...kept].map((m) => key(m.id, m.time)).sort());
    // Trends and events are never dropped: every window, computed from every message.
    for (const box of ['1', '2']) {
      const trendDocs = await rig.brokerStore.queryTrends({ box_id: box });
      assert.deepEqual(trendDocs.map((t) => t.window_start_ms), Array.from({ length: 25 }, (_, s) => t0 + s * 1000));
      assert.equal(trendDocs.reduce((n, t) => n + t.count, 0), 150);
    }
    assert.equal((await rig.brokerStore.listEvents()).length, 1);
    assert.equal(await under.metrics.value('makai_store_dropped_total', { collection: 'trends' }), 0);
    // Logged, but not once per dropped batch.
    const dropLines = under.logger.records.filter((r) => r.msg.includes('dropped'));
    assert.ok(dropLines.length >= 1 && dropLines.length <= 2, `drop log lines: ${JSON.stringify(dropLines)}`);
    assert.ok(dropLines.some((r) => r['dropped'] === during.length - cap), 'the total dropped is logged');
  });
});
