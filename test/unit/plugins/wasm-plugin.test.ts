import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeFile } from 'node:fs/promises';
import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import { ConfigError } from '../../../src/core/errors.js';
import { RecordingLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/core/metrics.js';
import { isolatePlugin } from '../../../src/plugins/isolate-plugin.js';
import { loadPlugin } from '../../../src/plugins/plugin-loader.js';
import { workerPlugin } from '../../../src/plugins/worker-plugin.js';
import { emptyBoxDirectory } from '../../../src/plugins/plugin.js';
import { triggerMessage } from '../../helpers/messages.js';
import { createTempDir } from '../../helpers/temp-dir.js';
import { createTestScheduler } from '../../helpers/test-scheduler.js';
import { WASM_BUILD_DIR, WASM_FIXTURES_DIR, skipUnlessBuilt, skipUnlessFixtureBuilt } from '../../helpers/wasm-plugins.js';

const FILE = '/etc/opq/makai.json';
const load = (entry: Record<string, unknown>, baseDir = WASM_FIXTURES_DIR) => loadPlugin(entry, { baseDir, file: FILE, field: 'plugins[1]' });
const context = (scheduler = asyncScheduler) => ({ logger: new RecordingLogger(), scheduler, boxes: emptyBoxDirectory });

/** Asserts a ConfigError at `plugins[1].<field>` of the config file whose message matches `pattern`. */
const configError = (field: string, pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ConfigError, String(error));
  assert.equal(error.path, `plugins[1].${field}`);
  assert.equal(error.file, FILE);
  assert.match(error.message, pattern);
  return true;
};

describe('WebAssembly plugins: loading', () => {
  it('refuses a missing file at the entry\'s path', async () => {
    await assert.rejects(load({ path: 'nowhere.wasm' }), configError('path', /WebAssembly plugin .*nowhere\.wasm does not exist/));
  });

  it('refuses a file that is not WebAssembly', async () => {
    const dir = await createTempDir('makai-wasm-');
    try {
      await writeFile(dir.file('text.wasm'), 'not a module');
      await assert.rejects(load({ path: 'text.wasm' }, dir.path), configError('path', /text\.wasm is not a valid WebAssembly module/));
    } finally {
      await dir.remove();
    }
  });

  it('refuses a module that imports anything (no WASI, no host functions: a sandbox by construction)', skipUnlessFixtureBuilt('imports-clock.wasm'), async () => {
    await assert.rejects(load({ path: 'imports-clock.wasm' }), configError('path', /imports env\.now_ms; a Makai WebAssembly plugin may import nothing/));
  });

  it('refuses a module of another ABI version', skipUnlessFixtureBuilt('wrong-version.wasm'), async () => {
    await assert.rejects(load({ path: 'wrong-version.wasm' }), configError('path', /speaks ABI version 2; this Makai speaks version 1/));
  });

  it('refuses a module that lacks an export of the ABI, naming it', skipUnlessFixtureBuilt('no-finish.wasm'), async () => {
    await assert.rejects(load({ path: 'no-finish.wasm' }), configError('path', /does not export makai_finish of the Makai WebAssembly plugin ABI version 1/));
  });

  it('refuses a setting that is not a number or a boolean, naming it', skipUnlessBuilt('c'), async () => {
    const plugin = await load({ path: 'sag-swell-c.wasm', nominalVoltage: '120' }, WASM_BUILD_DIR);
    assert.throws(() => plugin.create(context()), configError('nominalVoltage', /takes numbers and booleans only/));
  });

  it('names the instance after the file, and passes booleans as 1 or 0', skipUnlessFixtureBuilt('traps.wasm'), async () => {
    const plugin = await load({ path: 'traps.wasm', trapBelowVolts: true });
    assert.equal(plugin.name, 'traps');
    // trapBelowVolts = 1: a measurement at 0.5 V traps, one at 50 V does not.
    const operator = plugin.create(context());
    assert.deepEqual(await lastValueFrom(from([triggerMessage({ rms: 50 })]).pipe(operator, toArray())), []);
    await assert.rejects(lastValueFrom(from([triggerMessage({ rms: 0.5 })]).pipe(operator, toArray())), /WebAssembly plugin traps failed: unreachable/);
  });
});

describe('WebAssembly plugins: failures are isolated like a TypeScript plugin\'s', () => {
  const isolated = async (entry: Record<string, unknown>) => {
    const ts = createTestScheduler();
    const metrics = new Metrics();
    const logger = new RecordingLogger();
    const plugin = await load(entry);
    const operator = isolatePlugin(plugin.create(context(ts)), { name: plugin.name, logger, metrics, scheduler: ts, initialBackoffMs: 2, maxBackoffMs: 8 });
    const count = (name: string, labels: Record<string, string> = {}) => metrics.value(name, { plugin: plugin.name, ...labels });
    return { ts, operator, count, logger };
  };
  const values = { n: triggerMessage({ rms: 120 }), t: triggerMessage({ rms: 50 }), s: triggerMessage({ rms: 130, id: 7, time: 5000 }) };

  it('counts a trap and restarts the plugin from a fresh instance, which runs (and traps) again', skipUnlessFixtureBuilt('traps.wasm'), async () => {
    const { ts, operator, count, logger } = await isolated({ path: 'traps.wasm' });
    ts.run(({ hot, expectObservable }) => {
      // Traps on t at frame 2; back-off 2 ms; the restarted instance takes n and traps on the second t.
      expectObservable(hot('-nt---n-t---n|', values).pipe(operator)).toBe('-------------|');
    });
    assert.equal(await count('makai_plugin_errors_total'), 2);
    assert.equal(await count('makai_plugin_restarts_total'), 2);
    assert.ok(logger.records.some((r) => r.msg === 'plugin failed; restarting after back-off' && String(r['error']).includes('unreachable')));
  });

  it('treats output that breaks the ABI as a failure, and an unknown trigger type as a refused request', skipUnlessFixtureBuilt('bad-output.wasm'), async () => {
    const { ts, operator, count } = await isolated({ path: 'bad-output.wasm' });
    ts.run(({ hot, expectObservable }) => {
      expectObservable(hot('-t---s-|', values).pipe(operator)).toBe('-------|');
    });
    assert.equal(await count('makai_plugin_errors_total'), 1, 'a box count beyond the output buffer fails the plugin');
    assert.equal(await count('makai_plugin_restarts_total'), 1);
    assert.equal(await count('makai_plugin_requests_rejected_total', { reason: 'invalid-request' }), 1, 'trigger type 9 is refused and counted');
  });
});

describe('WebAssembly plugins: isolation "worker"', () => {
  it('runs a .wasm plugin in a worker thread with the same requests as in-process', skipUnlessBuilt('c'), async () => {
    const input = [1, 2].flatMap((id) => [triggerMessage({ id, time: 0, rms: 120 }), triggerMessage({ id, time: 167, rms: 90 })]);
    input.push(triggerMessage({ id: 1, time: 333 }), triggerMessage({ id: 2, time: 340 }));
    const entry = { path: 'sag-swell-c.wasm', name: 'sag-swell-c' };
    const inProcess = (await load(entry, WASM_BUILD_DIR)).create(context());
    const metrics = new Metrics();
    const inWorker = await workerPlugin({ entry, baseDir: WASM_BUILD_DIR, name: 'sag-swell-c', logger: new RecordingLogger(), metrics });
    const expected = await lastValueFrom(from(input).pipe(inProcess, toArray()));
    assert.equal(expected.length, 1);
    assert.deepEqual(expected[0]!.boxIds, [1, 2]);
    assert.deepEqual(await lastValueFrom(from(input).pipe(inWorker, toArray())), expected);
  });
});
