import { dirname, relative, resolve } from 'node:path';
import { loadJsonConfig } from '../../config/load-json-config.js';
import { testScenarioSchema, type TestScenario } from '../../config/test-scenario.js';
import { openSqliteStore } from '../../stores/sqlite-store.js';
import type { Store } from '../../stores/store.js';
import { checkExpectedRequests } from '../../topologies/request-expectations.js';
import { runReplay, type ReplayResult } from '../../topologies/run-replay.js';
import { scenarioMeasurements } from '../../topologies/scenario-measurements.js';
import { parseCommandArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { loadTopology } from '../load-topology.js';
import { openExistingStore } from '../with-existing-store.js';

const usage = `Usage: makai test <scenario.json>… [--json]

Feeds each scenario's measurements (declared, or a stored range) through its config, in
virtual time as \`makai replay\` does, and compares the event requests made with the ones it
expects. Prints PASS or FAIL per scenario, with a diff (- expected, + made) for a failure.
Exits 0 when every scenario passes, 1 when one fails or cannot be run: put rule changes in CI.

A scenario (times ISO-8601 or ms; durations "10s", "PT1M" or ms):
  {
    "description": "two boxes sag together",
    "config": "../makai.json",            (a makai.json or topology module, relative to the
                                           scenario; default the default topology)
    "measurements": [                     (or "stored": { "store": URI, "from", "to", "boxes" })
      { "boxes": [1, 2], "from": "2026-01-01T00:00:00Z", "duration": "10s", "rms": 120 },
      { "box": 1, "time": "2026-01-01T00:00:10Z", "rms": 100, "frequency": 60, "thd": 0.01 }
    ],
    "expect": [ { "triggerType": "VOLTAGE_SAG", "boxIds": [1, 2],
                  "startTimestampMsUtc": "2026-01-01T00:00:09Z", "requestData": true } ],
    "timeTolerance": "0ms", "magnitudeTolerance": 0.05
  }
Runs send every 1/6 s (as boxes do) unless "every" says otherwise; rms defaults to 120 V and
frequency to 60 Hz. Only the fields an expected request names are compared, in order.`;

/** `makai test`: config-carried tests of detection rules. */
export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs({ args: [...argv], allowPositionals: true, options: { json: { type: 'boolean' } } });
    if (positionals.length === 0) throw new UsageError('expected at least one scenario file');
    const results = [];
    for (const file of positionals) results.push(await runScenarioFile(file, io, values.json === true));
    if (values.json) io.out(JSON.stringify(results, null, 2));
    return results.every((result) => result.pass) ? 0 : 1;
  },
};

interface ScenarioOutcome {
  readonly file: string;
  readonly pass: boolean;
  readonly lines: readonly string[];
  readonly requests?: ReplayResult['requests'];
  readonly error?: string;
}

async function runScenarioFile(file: string, io: CliIo, json: boolean): Promise<ScenarioOutcome> {
  const path = resolve(file);
  const near = relative(process.cwd(), path);
  const shown = near === '' || near.startsWith('..') ? path : near;
  try {
    const scenario = await loadJsonConfig(path, testScenarioSchema);
    const configFile = scenario.config === undefined ? undefined : resolve(dirname(path), scenario.config);
    const { topology } = await loadTopology(configFile);
    const result = await withScenarioStore(scenario, (store, range) => runReplay(topology, { store, ...range }));
    const check = checkExpectedRequests(scenario.expect, result.requests, scenario);
    const title = `${check.pass ? 'PASS' : 'FAIL'} ${shown}${scenario.description ? `: ${scenario.description}` : ''} (${scenario.expect.length} expected, ${result.requests.length} made, ${result.measurements} measurements)`;
    if (!json) io.out([title, ...check.lines].join('\n'));
    return { file: shown, pass: check.pass, lines: check.lines, requests: result.requests };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!json) io.out(`FAIL ${shown}: cannot run the scenario: ${message}`);
    return { file: shown, pass: false, lines: [], error: message };
  }
}

/**
 * The store a scenario replays from: a private in-memory SQLite store holding its declared
 * measurements, or the stored range it names (opened read-only in effect: a replay only reads).
 */
async function withScenarioStore<T>(
  scenario: TestScenario,
  body: (store: Store, range: { fromMs: number; toMs: number; boxes?: readonly string[] }) => Promise<T>,
): Promise<T> {
  if (scenario.stored !== undefined) {
    const { stored } = scenario;
    const store = await openExistingStore(stored.store);
    try {
      return await body(store, { fromMs: stored.from, toMs: stored.to, ...(stored.boxes ? { boxes: stored.boxes.map(String) } : {}) });
    } finally {
      await store.close();
    }
  }
  const docs = scenarioMeasurements(scenario.measurements ?? [], new Date(8.64e15));
  const store = await openSqliteStore({ path: ':memory:' });
  try {
    await store.insertMeasurements(docs);
    const fromMs = docs[0]?.timestamp_ms ?? 0;
    const toMs = (docs[docs.length - 1]?.timestamp_ms ?? 0) + 1;
    return await body(store, { fromMs, toMs });
  } finally {
    await store.close();
  }
}
