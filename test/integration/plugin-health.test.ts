import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import type { CliIo } from '../../src/cli/command.js';
import { command as statusCommand } from '../../src/cli/commands/status.js';
import { loadTopology } from '../../src/cli/load-topology.js';
import { startTriggeringService, type TriggeringService } from '../../src/cli/triggering-service.js';
import { silentLogger } from '../../src/core/logger.js';
import type { HealthReport } from '../../src/observability/health.js';
import { encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { within } from '../helpers/zmq.js';

// The triggering service with a plugin that throws on every measurement next to the threshold
// plugin, its /health scraped over real HTTP: the crash-looping plugin must make the service
// `degraded` (it showed `triggering: OK` before), with the plugin's state, restarts, queue and
// drops in the report, and `makai status` must print it and exit 1.

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'plugins');
const T0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
const message = (k: number): TriggerMessage => ({ id: 1, time: T0 + k * 166, frequency: 60, rms: 120, thd: 0.01 });

function captureIo(): { io: CliIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => out.push(t), err: (t) => err.push(t), stopRequested: new Promise(() => undefined) }, out, err };
}

/** Polls `probe` until it returns true; the observation is the scrape itself, bounded by a deadline. */
async function eventually(probe: () => Promise<boolean>, label: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('/health of a service with a crash-looping plugin', () => {
  let dir: TempDir;
  let triggers: zmq.XPublisher;
  let service: TriggeringService | undefined;

  before(async () => {
    dir = await createTempDir('makai-plugin-health-');
    triggers = new zmq.XPublisher();
    await triggers.bind('tcp://127.0.0.1:*');
  });
  after(async () => {
    await service?.stop(5000);
    triggers.close();
    await dir.remove();
  });

  it('is degraded, names the plugin, and shows its restarts, queue and drops; makai status says DEGRADED and exits 1', async () => {
    const dbFile = dir.file('makai.db');
    const config = dir.file('makai.json');
    await writeFile(
      config,
      JSON.stringify({
        zmq_trigger_endpoint: triggers.lastEndpoint,
        store: `sqlite:${dbFile}`,
        metrics_address: '127.0.0.1:0',
        plugins: [
          { plugin: 'threshold' },
          // A back-off far longer than the test: once failed, it stays `restarting`.
          { path: join(FIXTURES, 'throws-on-every-message.ts'), name: 'throws', isolation: { initialBackoffMs: 600_000, maxBackoffMs: 600_000, maxQueue: 3 } },
        ],
      }),
    );
    service = await startTriggeringService({ loaded: await loadTopology(config), storeUri: `sqlite:${dbFile}`, logger: silentLogger });
    const url = service.observability.url!;
    const scrape = async () => (await (await fetch(`${url}/health`)).json()) as HealthReport;

    const healthy = await scrape();
    assert.equal(healthy.status, 'ok');
    assert.deepStrictEqual(healthy.plugins.map((p) => [p.plugin, p.state]), [['threshold', 'running'], ['throws', 'running']]);

    await within(triggers.receive(), 30_000, "the service's subscription");
    const SENT = 10;
    for (let k = 0; k < SENT; k++) await triggers.send(['1', encodeTriggerMessage(message(k))]);

    let report = healthy;
    await eventually(async () => {
      report = await scrape();
      const throws = report.plugins.find((p) => p.plugin === 'throws');
      // The healthy plugin drains its queue on its own turns: wait for it to be empty too.
      const threshold = report.plugins.find((p) => p.plugin === 'threshold');
      return (
        report.counters.measurements_in === SENT &&
        threshold?.queue_depth === 0 &&
        throws !== undefined &&
        throws.queue_depth + throws.dropped === SENT - 1
      );
    }, 'every measurement in, the healthy plugin drained, and the failed plugin queueing and dropping');
    const response = await fetch(`${url}/health`);
    assert.equal(response.status, 200, 'degraded still serves: 200, not 503');
    assert.equal(report.status, 'degraded');
    assert.deepStrictEqual(report.problems, ['plugin throws: restarting after 1 consecutive failure (0 restarts)']);
    const [threshold, throws] = report.plugins;
    assert.deepStrictEqual(threshold, { plugin: 'threshold', state: 'running', restarts: 0, errors: 0, consecutive_failures: 0, queue_depth: 0, dropped: 0 });
    // The first measurement it saw failed it; of the others, what its queue (3) holds waits, the rest is dropped, and counted.
    assert.deepStrictEqual({ ...throws, queue_depth: 'checked below', dropped: 'checked below' }, {
      plugin: 'throws', state: 'restarting', restarts: 0, errors: 1, consecutive_failures: 1, queue_depth: 'checked below', dropped: 'checked below',
    });
    assert.ok(throws!.queue_depth >= 1 && throws!.queue_depth <= 3, `queue within its bound, got ${throws!.queue_depth}`);
    assert.equal(throws!.queue_depth + throws!.dropped, SENT - 1, 'every measurement it did not see waits or is counted as dropped');
    assert.equal(report.queues['plugin.throws'], throws!.queue_depth);

    const { io, out } = captureIo();
    assert.equal(await statusCommand.run(['--url', url], io), 1);
    const text = out.join('\n');
    assert.match(text, /^triggering: DEGRADED /);
    assert.match(text, /^problem: +plugin throws: restarting/m);
    assert.match(text, new RegExp(`^throws +restarting +0 +1 +${throws!.queue_depth} +${throws!.dropped}$`, 'm'));
  });
});
