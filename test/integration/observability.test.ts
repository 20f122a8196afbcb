import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import type { CliIo } from '../../src/cli/command.js';
import { command as deadlettersCommand } from '../../src/cli/commands/deadletters.js';
import { command as statusCommand } from '../../src/cli/commands/status.js';
import { loadTopology } from '../../src/cli/load-topology.js';
import { startTriggeringService, type TriggeringService } from '../../src/cli/triggering-service.js';
import { silentLogger } from '../../src/core/logger.js';
import type { HealthReport } from '../../src/observability/health.js';
import { encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import type { DeadLetterDoc } from '../../src/protocol/documents.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { within } from '../helpers/zmq.js';

// The triggering service with its observability endpoint on 127.0.0.1 (port 0), fed through a
// test-owned XPUB as the triggering broker's backend: valid measurements of two boxes and a few
// kinds of garbage go in; /metrics and /health are scraped over real HTTP and must show the
// counters moving, the refusals by reason and the boxes' last seen; `makai status` prints the
// report; after the stop, `makai deadletters` lists the refused input from the store.

const bytes = (text: string) => new Uint8Array(Buffer.from(text));
const T0 = Math.floor(Date.now() / 1000) * 1000 - 60_000; // recent box time, within the clock-skew limit
const message = (box: number, k: number): TriggerMessage => ({ id: box, time: T0 + k * 166, frequency: 60, rms: 120, thd: 0.01 });
const VALID_PER_BOX = 6;

/** Garbage and the reason each must be refused with (source: the decode node). */
const GARBAGE: readonly { frames: Uint8Array[]; reason: string; preview: string }[] = [
  { frames: [bytes('1'), new Uint8Array([0x08])], reason: 'truncated', preview: '08' },
  { frames: [bytes('1'), new Uint8Array([0x08, 0x01, 0x10])], reason: 'truncated', preview: '080110' },
  { frames: [bytes('one frame only')], reason: 'frame-count', preview: Buffer.from('one frame only').toString('hex') },
  { frames: [bytes('2'), encodeTriggerMessage(message(1, 0))], reason: 'box-id-mismatch', preview: '32' },
];

function captureIo(): { io: CliIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => out.push(t), err: (t) => err.push(t), stopRequested: new Promise(() => undefined) }, out, err };
}

/** The value of one series in Prometheus text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Polls `probe` until it returns true; the observation is the scrape itself, bounded by a deadline. */
async function eventually(probe: () => Promise<boolean>, label: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('observability of the triggering service', () => {
  let dir: TempDir;
  let triggers: zmq.XPublisher;
  let service: TriggeringService | undefined;

  before(async () => {
    dir = await createTempDir('makai-observability-');
    triggers = new zmq.XPublisher();
    await triggers.bind('tcp://127.0.0.1:*');
  });
  after(async () => {
    await service?.stop(5000);
    triggers.close();
    await dir.remove();
  });

  it('shows messages, refusals by reason and box last seen on /metrics and /health; status and deadletters print them', async () => {
    const dbFile = dir.file('makai.db');
    await writeFile(
      dir.file('makai.json'),
      JSON.stringify({
        zmq_trigger_endpoint: triggers.lastEndpoint,
        mongo_trends_update_interval_seconds: 1,
        store: `sqlite:${dbFile}`,
        measurement_flush: '100ms',
        metrics_address: '127.0.0.1:0',
      }),
    );
    const loaded = await loadTopology(dir.file('makai.json'));
    service = await startTriggeringService({ loaded, storeUri: `sqlite:${dbFile}`, logger: silentLogger });
    const url = service.observability.url;
    assert.ok(url, 'metrics_address starts the endpoint');
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);

    // Before any traffic: the counters exist at 0, no box is known.
    let metricsText = await (await fetch(`${url}/metrics`)).text();
    assert.equal(sample(metricsText, 'makai_box_measurements_total'), 0);
    let health = (await (await fetch(`${url}/health`)).json()) as HealthReport;
    assert.deepStrictEqual([health.service, health.status, health.store.status, health.boxes], ['triggering', 'ok', 'ok', []]);

    const [subscription] = await within(triggers.receive(), 30_000, "the service's subscription");
    assert.deepEqual([...subscription!], [1]);
    for (let k = 0; k < VALID_PER_BOX; k++) {
      for (const box of [1, 2]) await triggers.send([String(box), encodeTriggerMessage(message(box, k))]);
      const garbage = GARBAGE[k];
      if (garbage) await triggers.send(garbage.frames);
    }

    const rejected = (reason: string) => `makai_rejected_total{source="decode",reason="${reason}"}`;
    await eventually(async () => {
      metricsText = await (await fetch(`${url}/metrics`)).text();
      return (
        sample(metricsText, 'makai_box_measurements_total') === 2 * VALID_PER_BOX &&
        sample(metricsText, rejected('box-id-mismatch')) === 1 &&
        sample(metricsText, 'makai_store_written_total{collection="measurements"}') === 2 * VALID_PER_BOX
      );
    }, 'the counters to move on /metrics');
    assert.equal(sample(metricsText, rejected('truncated')), 2);
    assert.equal(sample(metricsText, rejected('frame-count')), 1);
    assert.equal(sample(metricsText, rejected('box-id-mismatch')), 1);
    const nowSeconds = Date.now() / 1000;
    for (const box of ['1', '2']) {
      const seen = sample(metricsText, `makai_box_last_seen_seconds{box="${box}"}`);
      assert.ok(seen !== undefined && Math.abs(nowSeconds - seen) < 60, `box ${box} last seen ${seen}, now ${nowSeconds}`);
    }

    health = (await (await fetch(`${url}/health`)).json()) as HealthReport;
    assert.equal(health.status, 'ok');
    assert.equal(health.store.kind, 'sqlite');
    assert.equal(health.counters.measurements_in, 2 * VALID_PER_BOX);
    assert.deepStrictEqual(health.counters.rejected, {
      total: 4,
      by_reason: { truncated: 2, 'frame-count': 1, 'box-id-mismatch': 1 },
      by_source: { decode: 4 },
    });
    assert.deepStrictEqual(health.boxes.map((b) => [b.box_id, b.last_measurement_box_time_ms]), [
      ['1', message(1, VALID_PER_BOX - 1).time],
      ['2', message(2, VALID_PER_BOX - 1).time],
    ]);
    assert.ok(health.boxes.every((b) => b.last_seen_ago_s !== undefined && b.last_seen_ago_s >= 0 && b.last_seen_ago_s < 60));
    assert.equal(health.queues['store.measurements'], 0, `queues: ${JSON.stringify(health.queues)}`);

    const status = captureIo();
    assert.equal(await statusCommand.run(['--url', url], status.io), 0, status.err.join('\n'));
    const printed = status.out.join('\n');
    assert.match(printed, /^triggering: OK/);
    assert.match(printed, /store: +ok +sqlite /);
    assert.match(printed, /12 measurements in, 0 PONGs, 4 rejected \(truncated 2, frame-count 1, box-id-mismatch 1\)/);
    assert.match(printed, /^ +1 +\d+\.\d s ago /m);
    assert.match(printed, /^ +2 +\d+\.\d s ago /m);

    // The stop flushes the dead letters and the box status into the store and closes the endpoint.
    await service.stop(5000);
    service = undefined;
    const unreachable = captureIo();
    assert.equal(await statusCommand.run(['--url', url], unreachable.io), 1);
    assert.match(unreachable.err.join('\n'), /cannot reach .*\/health: ECONNREFUSED/);

    const listed = captureIo();
    assert.equal(await deadlettersCommand.run(['--store', `sqlite:${dbFile}`, '--json'], listed.io), 0, listed.err.join('\n'));
    const letters = JSON.parse(listed.out.join('')) as DeadLetterDoc[];
    assert.deepStrictEqual(
      letters.map((d) => [d.source, d.reason, d.preview]).reverse(),
      GARBAGE.map((g) => ['decode', g.reason, g.preview]),
      'every refusal kept, newest first',
    );
    assert.ok(letters.every((d) => Math.abs(d.at_ms - Date.now()) < 60_000));
    const table = captureIo();
    assert.equal(await deadlettersCommand.run(['--store', `sqlite:${dbFile}`, '--limit', '2'], table.io), 0);
    assert.match(table.out[0]!, /^time \(UTC\) +source +reason +detail +first bytes \(hex\)/);
    assert.match(table.out[0]!, /decode +box-id-mismatch +TriggerMessage\.id: frame 0 "2" is not the decimal id 1 +32$/m);
    assert.match(table.out[1]!, /^2 refused inputs, newest first/);

    const store = await openSqliteStore({ path: dbFile });
    try {
      const statuses = await store.listBoxStatus();
      assert.deepStrictEqual(statuses.map((s) => s.box_id), ['1', '2'], 'box liveness persisted on stop');
      assert.ok(statuses.every((s) => s.last_measurement_ms !== undefined && Math.abs(s.last_measurement_ms - Date.now()) < 60_000));
      assert.equal(await store.countMeasurements(), 2 * VALID_PER_BOX, 'valid traffic unaffected by the garbage');
    } finally {
      await store.close();
    }
  });

  it('starts no endpoint without an address', async () => {
    const loaded = await loadTopology(undefined);
    const running = await startTriggeringService({ loaded, storeUri: `sqlite:${dir.file('quiet.db')}`, logger: silentLogger });
    try {
      assert.equal(running.observability.url, undefined);
      assert.equal((await running.observability.health()).status, 'ok');
    } finally {
      await running.stop(5000);
    }
  });
});
