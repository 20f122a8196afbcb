import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import { main } from '../../src/cli/main.js';
import { startLocalDeployment, type LocalDeployment } from '../../src/cli/local-deployment.js';
import type { EventDoc } from '../../src/protocol/documents.js';
import { parseCompactScenario } from '../../src/simulator/scenario.js';
import { openStore } from '../../src/stores/open-store.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { captureIo } from '../unit/cli/sag-event-fixture.js';

// `makai up` records a run (three simulated boxes, the default threshold plugin, SQLite): boxes
// 1 and 2 sag to 70 % at 3 s for 1 s, box 3 swells by 12 % at 7 s. Replaying the recorded
// measurements with the same config must stand for every recorded event; with a stricter
// voltage limit (20 %: the sag still counts, the swell no longer does) the difference shows.

const WAIT_MS = 40_000;

interface Comparison {
  readonly measurements: number;
  readonly summary: { matched: number; onlyNew: number; onlyRecorded: number };
  readonly matched: { replayed: { via: string; triggerType: string; boxIds: number[] }; recorded: EventDoc }[];
  readonly onlyNew: unknown[];
  readonly onlyRecorded: EventDoc[];
}

describe('makai replay --against recorded, over a run makai up recorded', () => {
  let dir: TempDir;
  let deployment: LocalDeployment;
  let uri: string;
  let recorded: EventDoc[];
  let range: { from: number; to: number; count: number };

  before(async () => {
    dir = await createTempDir('makai-replay-e2e-');
    uri = `sqlite:${dir.file('makai.db')}`;
    deployment = await startLocalDeployment({
      dataDir: dir.path,
      storeUri: uri,
      ports: 'random',
      boxes: 3,
      seed: 7,
      scenario: parseCompactScenario(['sag@3s:boxes=1,2:depth=30%:for=1s', 'swell@7s:boxes=3:depth=12%:for=500ms']),
      logger: silentLogger,
    });
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const status = await deployment.status();
      if (status.events.length >= 2 && status.events.every((e) => e.replies.length === 3)) break;
      if (Date.now() > deadline) assert.fail(`timed out; status ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await deployment.stop();
    const store = await openStore(uri);
    try {
      recorded = (await store.listEvents()).reverse();
      const measurements = await store.queryMeasurements({});
      range = { from: measurements[0]!.timestamp_ms, to: measurements.at(-1)!.timestamp_ms + 1, count: measurements.length };
    } finally {
      await store.close();
    }
  });

  after(async () => {
    await deployment?.stop();
    await dir?.remove();
  });

  const replay = async (...args: string[]) => {
    const { io, err, text } = captureIo();
    const code = await main(['replay', '--from', String(range.from), '--to', String(range.to), '--store', uri, '--against', 'recorded', ...args], io);
    return { code, out: text(), err: err.join('') };
  };

  it('matches every recorded event with the same config', async () => {
    assert.deepStrictEqual(recorded.map((e) => [e.type, e.boxes_triggered]), [['VOLTAGE_SAG', ['1', '2']], ['VOLTAGE_SWELL', ['3']]]);
    const { code, out, err } = await replay('--json');
    assert.equal(code, 0, err);
    const comparison = JSON.parse(out) as Comparison;
    assert.equal(comparison.measurements, range.count, 'every stored measurement was replayed');
    assert.deepStrictEqual(comparison.summary, { matched: 2, onlyNew: 0, onlyRecorded: 0 }, out);
    assert.deepStrictEqual(comparison.matched.map((m) => m.recorded.event_id), recorded.map((e) => e.event_id));
    for (const { replayed, recorded: event } of comparison.matched) {
      assert.equal(replayed.triggerType, event.type);
      assert.deepStrictEqual(replayed.boxIds.map(String), event.boxes_triggered);
    }
  });

  it('with a stricter threshold, reports the recorded swell as only-recorded', async () => {
    const config = dir.file('strict.json');
    await writeFile(config, JSON.stringify({ plugins: [{ plugin: 'threshold', voltagePercent: 20 }] }));
    const { code, out } = await replay('--json', config);
    assert.equal(code, 0);
    const comparison = JSON.parse(out) as Comparison;
    assert.deepStrictEqual(comparison.summary, { matched: 1, onlyNew: 0, onlyRecorded: 1 });
    assert.equal(comparison.matched[0]!.recorded.type, 'VOLTAGE_SAG');
    assert.deepStrictEqual(comparison.onlyRecorded.map((e) => e.type), ['VOLTAGE_SWELL']);

    const table = (await replay(config)).out;
    assert.match(table, /1 matched, 0 only-new, 1 only-recorded/);
    assert.match(table, /\nmatched\s+\d+\s+\S+\s+\d+ ms\s+VOLTAGE_SAG\s+1,2\s/);
    assert.match(table, /\nonly-recorded\s+\d+\s+\S+\s+\d+ ms\s+VOLTAGE_SWELL\s+3\s/);
  });
});
