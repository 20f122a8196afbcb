import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import { defaultTopology } from '../../src/cli/load-topology.js';
import { startTriggeringService, type TriggeringService } from '../../src/cli/triggering-service.js';
import { parseConfig } from '../../src/config/load-json-config.js';
import { makaiSettingsSchema } from '../../src/config/makai-settings.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { decodeRequestEventMessage, encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { RequestEventMessage, TriggerMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { topologyOptionsOf } from '../../src/topologies/opq-triggering-options.js';
import { REFERENCE_PYTHON_PLUGIN, skipWithoutPython, testPython } from '../helpers/python.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { within } from '../helpers/zmq.js';

// Broken Python plugins in the real triggering service (the default topology, on a test-owned
// trigger XPUB and acquisition PULL): four out-of-process plugins that raise, hang, exit, or
// write garbage after every 20th measurement they see (every process they get: they keep
// failing), next to the built-in threshold plugin and the Python reference plugin. Storage,
// trends and the two good plugins must not notice: every measurement is stored, every trend
// window written, both request the sag; each broken plugin is restarted, counted, and every
// process it had is gone (killed and reaped) after the service stops.

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'plugins');
const WAIT_MS = 30_000;
const MINUTE = 60_000;

/** Polls `check` until it holds; the bound only turns a hang into a failure. */
async function eventually(check: () => boolean | Promise<boolean>, label: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0); // a zombie still answers: only a reaped process is gone
    return true;
  } catch {
    return false;
  }
}

describe('broken Python plugins in the triggering service', skipWithoutPython(), () => {
  const BOXES = [1, 2];
  const PER_BOX = 300; // 50 s of box time at 6 Hz
  const SAG = { from: 12, to: 17 };
  const T0 = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
  const boxTime = (k: number) => T0 + Math.floor((k * 1000) / 6);
  const measurement = (box: number, k: number): TriggerMessage => ({ id: box, time: boxTime(k), frequency: 60, rms: k >= SAG.from && k <= SAG.to ? 95 : 120, thd: 0.02 });
  const FAULTS = ['raise', 'hang', 'exit', 'garbage'] as const;
  let dir: TempDir;
  let triggers: zmq.XPublisher;
  let acquisition: zmq.Pull;
  let service: TriggeringService | undefined;
  const logger = new RecordingLogger();
  const metrics = new Metrics();

  before(async () => {
    dir = await createTempDir('makai-fault-process-plugins-');
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

  it('should store everything and request the sag while Python plugins raise, hang, exit and write garbage, restarting and counting each', async () => {
    const python = testPython() as string;
    const isolation = { drainTimeoutMs: 2000, initialBackoffMs: 50, maxBackoffMs: 200 };
    const settings = parseConfig(
      {
        zmq_trigger_endpoint: triggers.lastEndpoint,
        zmq_acquisition_endpoint: acquisition.lastEndpoint,
        mongo_trends_update_interval_seconds: 1,
        measurement_flush: '100ms',
        plugins: [
          { plugin: 'threshold' },
          { command: [python, REFERENCE_PYTHON_PLUGIN], name: 'reference', minDurationMs: 100, isolation },
          ...FAULTS.map((fault) => ({
            command: [python, 'faulty_plugin.py'],
            name: `py-${fault}`,
            fault,
            after: 20,
            process: { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1000 },
            isolation,
          })),
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

    const [subscription] = await within(triggers.receive(), WAIT_MS, "makai's subscription");
    assert.deepEqual([...subscription!], [1]);
    const requests: Promise<RequestEventMessage[]> = (async () => {
      const got: RequestEventMessage[] = [];
      for (let n = 0; n < 2; n++) got.push(decodeRequestEventMessage((await within(acquisition.receive(), WAIT_MS, `event request ${n + 1} of 2`))[0]!));
      return got;
    })();
    for (let k = 0; k < PER_BOX; k++) {
      for (const box of BOXES) await triggers.send([String(box), encodeTriggerMessage(measurement(box, k))]);
    }

    const byRequestee = new Map((await requests).map((r) => [r.requestee, r]));
    assert.deepEqual([...byRequestee.keys()].sort(), ['Makai: threshold plugin', 'reference']);
    // requestData is the dedupe's: the threshold plugin's wider request may have come first.
    const { requestData: _dedupe, ...reference } = byRequestee.get('reference')!;
    assert.deepEqual(reference, {
      startTimestampMsUtc: boxTime(SAG.from),
      endTimestampMsUtc: boxTime(SAG.to + 1),
      triggerType: 'VOLTAGE_SAG',
      percentMagnitude: ((120 - 95) / 120) * 100,
      boxIds: BOXES,
      requestee: 'reference',
      description: 'reference: voltage sag of 20.8 % on boxes 1, 2',
    });
    assert.deepEqual(byRequestee.get('Makai: threshold plugin')?.boxIds, BOXES);

    const total = BOXES.length * PER_BOX;
    await eventually(async () => (await metrics.value('makai_store_written_total', { collection: 'measurements' })) === total, 'every measurement written');
    for (const fault of FAULTS) {
      await eventually(async () => (await metrics.value('makai_plugin_restarts_total', { plugin: `py-${fault}` })) >= 1, `py-${fault} restarted`);
    }

    assert.equal(await service.stop(10_000), true, 'stop flushed everything within its deadline despite the broken plugins');
    service = undefined;
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

    const why = { raise: /RuntimeError: deliberate fault/, hang: /heartbeat timeout/, exit: /exited with code 7/, garbage: /not a plugin message/ };
    for (const fault of FAULTS) {
      const plugin = `py-${fault}`;
      const errors = await metrics.value('makai_plugin_errors_total', { plugin });
      assert.ok(errors >= 1, `${plugin}: its failures are counted (${errors})`);
      assert.ok((await metrics.value('makai_plugin_restarts_total', { plugin })) >= 1, `${plugin}: restarted`);
      assert.ok((await metrics.value('makai_plugin_dropped_total', { plugin })) >= 1, `${plugin}: what it never answered is counted`);
      const failures = logger.records.filter((r) => r['plugin'] === plugin && r.msg === 'plugin failed; restarting after back-off');
      assert.ok(failures.length >= 1 && failures.every((r) => why[fault].test(String(r['error']))), `${plugin}: failed for its own reason: ${String(failures[0]?.['error'])}`);
    }
    for (const plugin of ['threshold', 'reference']) assert.equal(await metrics.value('makai_plugin_errors_total', { plugin }), 0, `${plugin} never failed`);

    const pids = logger.records.filter((r) => r.msg === 'plugin process started').map((r) => r['pid'] as number);
    assert.ok(pids.length >= 1 + 2 * FAULTS.length, `a process per start (${pids.length})`);
    for (const pid of pids) await eventually(() => !alive(pid), `plugin process ${pid} killed and reaped`);
  });
});
