import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { captureIo } from '../unit/cli/sag-event-fixture.js';

const EXAMPLE = fileURLToPath(new URL('../../config/scenarios/two-box-sag.json', import.meta.url));
const MAKAI_JSON = fileURLToPath(new URL('../../config/makai.json', import.meta.url));

describe('makai test', () => {
  let dir: TempDir;
  let example: Record<string, unknown> & { expect: Record<string, unknown>[] };
  before(async () => {
    dir = await createTempDir('makai-test-cmd-');
    example = JSON.parse(await readFile(EXAMPLE, 'utf8'));
  });
  after(() => dir?.remove());

  const runTest = async (...args: string[]) => {
    const { io, err, text } = captureIo();
    const code = await main(['test', ...args], io);
    return { code, out: text(), err: err.join('') };
  };
  /** The shipped example with `change` applied, written to the temp dir (its config made absolute). */
  const variant = async (name: string, change: (scenario: typeof example) => void) => {
    const scenario = structuredClone(example);
    scenario['config'] = MAKAI_JSON;
    change(scenario);
    const file = dir.file(name);
    await writeFile(file, JSON.stringify(scenario));
    return file;
  };

  it('passes the shipped example scenario', async () => {
    const { code, out } = await runTest(EXAMPLE);
    assert.equal(code, 0, out);
    assert.match(out, /^PASS .*two-box-sag\.json: two boxes sag together .*\(1 expected, 1 made, 253 measurements\)/);
    assert.match(out, /request 1: ok {2}triggerType="VOLTAGE_SAG" boxIds=\[1,2\]/);
  });

  it('fails with exit 1 and a diff when the expected request is changed', async () => {
    const file = await variant('changed.json', (s) => {
      s.expect[0]!['boxIds'] = [1, 2, 3];
      s.expect[0]!['startTimestampMsUtc'] = '2026-01-01T00:00:08Z';
    });
    const { code, out } = await runTest(file);
    assert.equal(code, 1);
    assert.match(out, /^FAIL .*changed\.json/);
    assert.match(out, /request 1: differs in boxIds, startTimestampMsUtc/);
    assert.match(out, /\n {2}- boxIds: \[1,2,3\]\n {2}\+ boxIds: \[1,2\]\n/);
    assert.match(out, /\n {2}- startTimestampMsUtc: 2026-01-01T00:00:08\.000Z\n {2}\+ startTimestampMsUtc: 2026-01-01T00:00:09\.000Z\n/);
    assert.match(out, /\n {4}triggerType: "VOLTAGE_SAG"\n/, 'fields that match are shown without a sign');
  });

  it('accepts a time within timeTolerance', async () => {
    const file = await variant('tolerant.json', (s) => {
      s.expect[0]!['startTimestampMsUtc'] = '2026-01-01T00:00:08.900Z';
      s['timeTolerance'] = '100ms';
    });
    assert.equal((await runTest(file)).code, 0);
  });

  it('fails on a missing and on an unexpected request', async () => {
    const missing = await variant('missing.json', (s) => s.expect.push({ triggerType: 'FREQUENCY_SAG' }));
    const none = await variant('none.json', (s) => (s.expect = []));
    const result = await runTest(missing, none, EXAMPLE);
    assert.equal(result.code, 1, 'one failing scenario fails the run');
    assert.match(result.out, /request 2: missing \(the config made only 1\)\n {2}- triggerType="FREQUENCY_SAG"/);
    assert.match(result.out, /FAIL .*none\.json.*\n {2}request 1: unexpected\n {2}\+ triggerType="VOLTAGE_SAG" boxIds=\[1,2\]/);
    assert.match(result.out, /PASS .*two-box-sag\.json/);
  });

  it('checks the config the scenario names: a stricter threshold makes the dip of box 2 an event too', async () => {
    const config = dir.file('strict.json');
    await writeFile(config, JSON.stringify({ plugins: [{ plugin: 'threshold', voltagePercent: 3 }] }));
    const file = await variant('strict-scenario.json', (s) => (s['config'] = config));
    const { code, out } = await runTest(file);
    assert.equal(code, 1);
    assert.match(out, /request 2: unexpected\n {2}\+ triggerType="VOLTAGE_SAG" boxIds=\[2\]/);
  });

  it('replays a stored range', async () => {
    const path = dir.file('stored.db');
    const store = await openSqliteStore({ path });
    const T = Date.UTC(2026, 0, 1);
    try {
      const docs = [];
      for (let i = 0; i < 60; i++) docs.push({ box_id: '7', timestamp_ms: T + i * 167, voltage: i >= 30 && i < 36 ? 100 : 120, frequency: 60, expireAt: new Date(T + 86_400_000) });
      await store.insertMeasurements(docs);
    } finally {
      await store.close();
    }
    const file = dir.file('stored-scenario.json');
    await writeFile(file, JSON.stringify({ stored: { store: `sqlite:${path}`, from: T, to: T + 10_000 }, expect: [{ triggerType: 'VOLTAGE_SAG', boxIds: [7] }] }));
    const { code, out } = await runTest(file);
    assert.equal(code, 0, out);
  });

  it('reports a malformed scenario with the file and the field, exit 1', async () => {
    const file = await variant('bad.json', (s) => (s.expect[0]!['triggerType'] = 'VOLTAGE_DIP'));
    const { code, out } = await runTest(file);
    assert.equal(code, 1);
    assert.match(out, /FAIL .*bad\.json: cannot run the scenario: .*bad\.json: expect\[0\]\.triggerType: /);
  });
});
