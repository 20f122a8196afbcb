import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Subject, lastValueFrom, toArray } from 'rxjs';
import * as zmq from 'zeromq';
import { startTriggeringService, type TriggeringService } from '../../src/cli/triggering-service.js';
import { parseConfig } from '../../src/config/load-json-config.js';
import { makaiSettingsSchema } from '../../src/config/makai-settings.js';
import { ConfigError } from '../../src/core/errors.js';
import { RecordingLogger, type LogRecord } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { isolatePlugin } from '../../src/plugins/isolate-plugin.js';
import { workerPlugin } from '../../src/plugins/worker-plugin.js';
import { decodeRequestEventMessage, encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { RequestEventMessage, TriggerMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { defaultTopology } from '../../src/cli/load-topology.js';
import { topologyOptionsOf } from '../../src/topologies/opq-triggering-options.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { within } from '../helpers/zmq.js';

// Slow and broken plugins in the real triggering service (the default topology, in-process, on
// a test-owned trigger XPUB and acquisition PULL): a plugin that blocks its thread synchronously
// (isolation "worker"), one that is slow asynchronously (100 ms per message on the scheduler),
// one that throws on every message, one that never completes, and one whose worker crashes.
// Storage, trends and the threshold plugin must not notice: every measurement is stored, every
// trend window written, and the sag is requested. The bounded queues drop and count what the
// slow plugins cannot take.
//
// No timing assertions: isolation is shown by order. The busy plugin's first message blocks its
// thread for longer than the whole run, so the request and the stored count arrive while it has
// handled nothing. In-process that order is impossible: its first drain (which comes before the
// sag) holds the only thread until it has handled a message.

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'plugins');
const WAIT_MS = 30_000;
const MINUTE = 60_000;

const recordsOf = (records: readonly LogRecord[], plugin: string, msg: string) => records.filter((r) => r['plugin'] === plugin && r.msg === msg).length;

/** Polls `check` until it holds; the bound only turns a hang into a failure. */
async function eventually(check: () => Promise<boolean>, label: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function measurement(box: number, k: number, t0: number, sag?: { from: number; to: number }): TriggerMessage {
  const sagged = sag !== undefined && k >= sag.from && k <= sag.to;
  return { id: box, time: t0 + Math.floor((k * 1000) / 6), frequency: 60, rms: sagged ? 95 : 120, thd: 0.02 };
}

describe('slow and broken plugins in the triggering service', () => {
  // 2 boxes × 600 messages: 100 s of box time at 6 Hz. In-process, the busy plugin alone would
  // hold the event loop for 120 s; the request guard below (30 s) would then fail.
  const BOXES = [1, 2];
  const PER_BOX = 600;
  const SAG = { from: 12, to: 17 };
  const T0 = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
  let dir: TempDir;
  let triggers: zmq.XPublisher;
  let acquisition: zmq.Pull;
  let service: TriggeringService | undefined;
  const logger = new RecordingLogger();
  const metrics = new Metrics();

  before(async () => {
    dir = await createTempDir('makai-fault-plugins-');
    // No send HWM: the pipe to makai's SUB is then unbounded, so nothing is dropped by ZeroMQ
    // and a missing measurement can only be makai's fault.
    triggers = new zmq.XPublisher({ sendHighWaterMark: 0, linger: 0 });
    await triggers.bind('tcp://127.0.0.1:*');
    acquisition = new zmq.Pull({ linger: 0 });
    await acquisition.bind('tcp://127.0.0.1:*');
  });

  after(async () => {
    await service?.stop(5000);
    triggers.close();
    acquisition.close();
    await dir.remove();
  });

  it('should store every measurement and trend and request the sag while the other plugins block, crawl, throw, hang and crash', async () => {
    let busyHandledAtRequest = -1;
    const fast = { drainTimeoutMs: 300, initialBackoffMs: 50, maxBackoffMs: 200 };
    const settings = parseConfig(
      {
        zmq_trigger_endpoint: triggers.lastEndpoint,
        zmq_acquisition_endpoint: acquisition.lastEndpoint,
        mongo_trends_update_interval_seconds: 1,
        measurement_flush: '100ms',
        plugins: [
          { plugin: 'threshold' },
          { path: 'busy-wait.ts', name: 'busy', busyMs: 100, firstBusyMs: 20_000, isolation: { mode: 'worker', maxQueue: 20, maxInFlight: 2, ...fast } },
          { path: 'slow-async.ts', name: 'slow', isolation: { maxQueue: 20, ...fast } },
          { path: 'throws-on-every-message.ts', name: 'throws', isolation: { maxQueue: 20, ...fast } },
          { path: 'never-completes.ts', name: 'hangs', isolation: fast },
          { path: 'crashes-worker.ts', name: 'crashes', crashAt: 50, isolation: { mode: 'worker', ...fast } },
        ],
      },
      makaiSettingsSchema,
    );
    service = await startTriggeringService({
      loaded: { topology: await defaultTopology(topologyOptionsOf(settings)), settings, baseDir: FIXTURES, file: undefined },
      storeUri: `sqlite:${dir.file('makai.db')}`,
      logger,
      metrics,
    });

    // makai's SUB subscribing to everything reaches the XPUB as the frame [0x01].
    const [subscription] = await within(triggers.receive(), WAIT_MS, "makai's subscription");
    assert.deepEqual([...subscription!], [1]);
    const request = within(acquisition.receive(), WAIT_MS, 'the threshold request for the sag').then((frames) => {
      busyHandledAtRequest = recordsOf(logger.records, 'busy', 'busy-wait handled');
      return frames;
    });
    for (let k = 0; k < PER_BOX; k++) {
      for (const box of BOXES) await triggers.send([String(box), encodeTriggerMessage(measurement(box, k, T0, SAG))]);
    }

    const [frame] = await request;
    const requested: RequestEventMessage = decodeRequestEventMessage(frame!);
    assert.equal(requested.triggerType, 'VOLTAGE_SAG');
    assert.deepEqual(requested.boxIds, BOXES);
    assert.equal(requested.startTimestampMsUtc, measurement(1, SAG.from, T0).time - 1000);
    assert.equal(requested.requestee, 'Makai: threshold plugin');
    const total = BOXES.length * PER_BOX;
    // Storage keeps up while the plugins lag: every measurement is written before the service is stopped.
    await eventually(async () => (await metrics.value('makai_store_written_total', { collection: 'measurements' })) === total, 'every measurement written');
    // ... and all of that while the busy plugin was still blocked in its first message.
    assert.equal(busyHandledAtRequest, 0, 'the sag was requested while the busy plugin was blocked');
    assert.equal(recordsOf(logger.records, 'busy', 'busy-wait handled'), 0, 'every measurement was stored while the busy plugin was blocked');
    // The crashed worker is replaced after its back-off, input or not.
    await eventually(async () => recordsOf(logger.records, 'crashes', 'crashes-worker started') >= 2, 'the crashed plugin restarted in a new worker');

    assert.equal(await service.stop(10_000), true, 'stop flushed everything within its deadline despite the hanging plugins');
    // service.stop closed the store it opened; read the file again.
    const reopened = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      assert.equal(await reopened.countMeasurements(), total, 'every measurement stored');
      for (const box of BOXES) {
        const trends = await reopened.queryTrends({ box_id: String(box) });
        assert.equal(trends.length, PER_BOX / 6, `box ${box}: one trend per second of box time`);
        assert.ok(trends.every((t) => t.count === 6), `box ${box}: 6 measurements in every trend window`);
      }
    } finally {
      await reopened.close();
    }

    // The slow plugins' bounded queues dropped, and counted, what they could not take.
    const dropped = (plugin: string) => metrics.value('makai_plugin_dropped_total', { plugin });
    // It handled none (cut off at stop, its worker terminated mid-loop), so it dropped, and counted, every one.
    assert.equal(await dropped('busy'), total - recordsOf(logger.records, 'busy', 'busy-wait handled'), 'the busy plugin counted every measurement it did not handle');
    assert.ok((await dropped('throws')) > 0, 'the throwing plugin dropped (counted) what arrived during its back-off');
    assert.ok((await metrics.value('makai_plugin_errors_total', { plugin: 'throws' })) >= 2);
    assert.ok((await metrics.value('makai_plugin_restarts_total', { plugin: 'throws' })) >= 1);
    assert.ok((await metrics.value('makai_plugin_errors_total', { plugin: 'crashes' })) >= 1, 'the crashed worker is counted');
    assert.ok(recordsOf(logger.records, 'crashes', 'crashes-worker started') >= 2, 'and restarted in a new worker');
    assert.ok(recordsOf(logger.records, 'slow', 'slow-async handled') >= 1, 'the slow plugin ran');
    const cutOff = logger.records.filter((r) => r.msg === 'plugin did not finish after its input completed; cut off').map((r) => r['plugin']);
    assert.ok(cutOff.includes('hangs') && cutOff.includes('slow'), `the hanging and the slow plugin were cut off at stop (${cutOff.join(', ')})`);
    assert.equal(await metrics.value('makai_plugin_errors_total', { plugin: 'threshold' }), 0);
  });
});

describe('workerPlugin', () => {
  const base = { baseDir: FIXTURES, field: 'plugins[3]', file: '/etc/opq/makai.json' };
  const point = (k: number): TriggerMessage => ({ id: 7, time: 1_700_000_000_000 + k, frequency: 60, rms: 120 });

  it('should hand a busy-waiting plugin only what its bounded queue holds, and count every other measurement as dropped', async () => {
    const logger = new RecordingLogger();
    const metrics = new Metrics();
    const operator = await workerPlugin({ ...base, entry: { path: 'busy-wait.ts', name: 'busy', busyMs: 20 }, name: 'busy', logger, metrics, maxQueue: 5, maxInFlight: 1 });
    const source = new Subject<TriggerMessage>();
    const output = lastValueFrom(source.pipe(isolatePlugin(operator, { name: 'busy', logger, metrics, drainTimeoutMs: 20_000 }), toArray()));
    const SENT = 40;
    for (let k = 0; k < SENT; k++) source.next(point(k));
    source.complete();
    assert.deepEqual(await within(output, WAIT_MS, 'the plugin to finish'), []);
    const seen = recordsOf(logger.records, 'busy', 'busy-wait handled');
    const dropped = await metrics.value('makai_plugin_dropped_total', { plugin: 'busy' });
    assert.ok(seen >= 1 && seen <= 6, `the plugin saw what the queue (5) and the worker (1) held, got ${seen}`);
    assert.equal(seen + dropped, SENT, 'seen + dropped = sent: nothing lost silently');
  });

  it('should refuse a plugin that fails to load with a ConfigError at the entry, as in-process', async () => {
    const logger = new RecordingLogger();
    const metrics = new Metrics();
    const attempt = (entry: Record<string, unknown>) => workerPlugin({ ...base, entry, name: 'x', logger, metrics });
    await assert.rejects(attempt({ path: 'throws-on-import.mjs' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.path, 'plugins[3].path');
      assert.equal(error.file, '/etc/opq/makai.json');
      assert.match(error.message, /^\/etc\/opq\/makai\.json: plugins\[3\]\.path: could not load plugin module .*broken at import/);
      return true;
    });
    await assert.rejects(attempt({ path: 'low-voltage.ts' }), { name: 'ConfigError', path: 'plugins[3].belowVolts' });
    await assert.rejects(attempt({ plugin: 'no-such-built-in' }), { name: 'ConfigError', path: 'plugins[3].plugin' });
  });

  it('should refuse an unknown isolation mode naming the field', () => {
    assert.throws(
      () => parseConfig({ plugins: [{ plugin: 'threshold', isolation: 'thread' }] }, makaiSettingsSchema),
      (error: unknown) => error instanceof ConfigError && /plugins\[0\]\.isolation/.test(error.path ?? ''),
    );
    const parsed = parseConfig({ plugins: [{ plugin: 'threshold', isolation: 'worker' }] }, makaiSettingsSchema);
    assert.deepEqual(parsed.plugins[0]?.isolation, { mode: 'worker' });
  });
});
