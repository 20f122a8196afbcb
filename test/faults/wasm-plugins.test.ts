import { waitUntil } from '../helpers/fault-harness.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import { startTriggeringService, type TriggeringService } from '../../src/cli/triggering-service.js';
import { defaultTopology } from '../../src/cli/load-topology.js';
import { parseConfig } from '../../src/config/load-json-config.js';
import { makaiSettingsSchema } from '../../src/config/makai-settings.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { decodeRequestEventMessage, encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { topologyOptionsOf } from '../../src/topologies/opq-triggering-options.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { WASM_BUILD_DIR, WASM_EXAMPLES, WASM_FIXTURES_DIR, skipUnlessBuilt, skipUnlessFixtureBuilt, wasmExampleMissing } from '../helpers/wasm-plugins.js';
import { within } from '../helpers/zmq.js';

// A WebAssembly plugin that traps, in the real triggering service next to the C example: the
// trap (on every sagged measurement) is counted and the plugin restarted with back-off, while
// every measurement is stored and the example still requests the sag. No timing assertions:
// the counters are read after the service has stopped.

const MINUTE = 60_000;
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
const PER_BOX = 120;
const BOXES = [1, 2];
// Two sags, far apart (box time and arrival), so the trapping plugin fails twice.
const SAGS = [{ from: 12, to: 17 }, { from: 80, to: 85 }];
const time = (k: number) => T0 + Math.floor((k * 1000) / 6);

function measurement(box: number, k: number): TriggerMessage {
  const sagged = SAGS.some((s) => k >= s.from && k <= s.to);
  return { id: box, time: time(k), frequency: 60, rms: sagged ? 95 : 120, thd: 0.02 };
}

const skip = skipUnlessBuilt('c').skip || skipUnlessFixtureBuilt('traps.wasm').skip;

describe('a trapping WebAssembly plugin in the triggering service', { skip }, () => {
  let dir: TempDir;
  let triggers: zmq.XPublisher;
  let acquisition: zmq.Pull;
  let service: TriggeringService | undefined;
  const logger = new RecordingLogger();
  const metrics = new Metrics();

  before(async () => {
    dir = await createTempDir('makai-fault-wasm-');
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

  it('is counted and restarted while storage and the other plugin carry on', async () => {
    const missing = wasmExampleMissing('c');
    if (missing !== undefined) assert.fail(missing);
    const fast = { initialBackoffMs: 20, maxBackoffMs: 50, drainTimeoutMs: 300 };
    const settings = parseConfig(
      {
        zmq_trigger_endpoint: triggers.lastEndpoint,
        zmq_acquisition_endpoint: acquisition.lastEndpoint,
        mongo_trends_update_interval_seconds: 1,
        measurement_flush: '100ms',
        plugins: [
          { path: `${WASM_BUILD_DIR}${WASM_EXAMPLES.c}`, name: 'sag-swell-c' },
          { path: `${WASM_FIXTURES_DIR}traps.wasm`, name: 'traps', isolation: fast },
        ],
      },
      makaiSettingsSchema,
    );
    service = await startTriggeringService({
      loaded: { topology: await defaultTopology(topologyOptionsOf(settings)), settings, baseDir: dir.path, file: undefined },
      storeUri: `sqlite:${dir.file('makai.db')}`,
      logger,
      metrics,
    });
    const [subscription] = await within(triggers.receive(), 30_000, "makai's subscription");
    assert.deepEqual([...subscription!], [1]);
    // The second sag is sent only once the first was requested, so it reaches the trapping
    // plugin after its first failure: a second trap is one of the restarted plugin.
    const first = within(acquisition.receive(), 30_000, 'the first request');
    for (let k = 0; k < PER_BOX; k++) {
      if (k === 60) {
        const [frame] = await first;
        assert.deepEqual(decodeRequestEventMessage(frame!).boxIds, BOXES);
      }
      for (const box of BOXES) await triggers.send([String(box), encodeTriggerMessage(measurement(box, k))]);
    }
    const [second] = await within(acquisition.receive(), 30_000, 'the second request');
    const request = decodeRequestEventMessage(second!);
    assert.equal(request.requestee, 'sag-swell-c');
    assert.equal(request.startTimestampMsUtc, time(SAGS[1]!.from));
    assert.deepEqual(request.boxIds, BOXES);

    // The second trap may come just before the stop; its restart follows after the back-off.
    await waitUntil(async () => (await metrics.value('makai_plugin_restarts_total', { plugin: 'traps' })) >= 2, 'the trapping plugin restarted after each trap');
    assert.equal(await service.stop(10_000), true);
    service = undefined;
    const store = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      assert.equal(await store.countMeasurements(), BOXES.length * PER_BOX, 'every measurement stored');
    } finally {
      await store.close();
    }
    assert.ok((await metrics.value('makai_plugin_errors_total', { plugin: 'traps' })) >= 2, 'each trap counted');
    assert.ok((await metrics.value('makai_plugin_restarts_total', { plugin: 'traps' })) >= 2, 'and followed by a restart');
    assert.equal(await metrics.value('makai_plugin_errors_total', { plugin: 'sag-swell-c' }), 0);
    assert.ok(logger.records.some((r) => r['plugin'] === 'traps' && r.msg === 'plugin failed; restarting after back-off' && String(r['error']).includes('unreachable')));
  });
});
