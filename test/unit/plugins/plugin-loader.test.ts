import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, from, toArray } from 'rxjs';
import { ConfigError } from '../../../src/core/errors.js';
import { RecordingLogger, silentLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/core/metrics.js';
import { builtinPlugins } from '../../../src/plugins/builtin/index.js';
import { isolatePlugin } from '../../../src/plugins/isolate-plugin.js';
import { loadPlugin, loadPlugins, type LoadPluginOptions } from '../../../src/plugins/plugin-loader.js';
import { emptyBoxDirectory, type Measurement } from '../../../src/plugins/plugin.js';
import { createTestScheduler } from '../../helpers/test-scheduler.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The config file the entries pretend to come from; plugin paths are relative to its directory. */
const configFile = join(here, '..', '..', 'fixtures', 'makai.json');
const baseDir = dirname(configFile);
const options: LoadPluginOptions = { baseDir, file: configFile, field: 'plugins[2]' };
const context = { logger: silentLogger, scheduler: createTestScheduler(), boxes: emptyBoxDirectory };

/** Asserts a ConfigError with this file and path whose message matches. */
async function rejectsWith(promise: Promise<unknown>, path: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.file, configFile);
    assert.equal(error.path, path);
    assert.match(error.message, message);
    return true;
  });
}

const m = (rms: number, time = 5000): Measurement => ({ id: 1001, time, rms, frequency: 60 });

describe('loadPlugin', () => {
  it('should load built-ins by "plugin" or "name", with an instance name', async () => {
    const byPlugin = await loadPlugin({ plugin: 'threshold', name: 'tight', voltagePercent: 2 }, options);
    assert.equal(byPlugin.factory, builtinPlugins['threshold']);
    assert.equal(byPlugin.name, 'tight');
    assert.equal(byPlugin.origin, 'builtin:threshold');
    assert.equal(byPlugin.settings['voltagePercent'], 2);
    const byName = await loadPlugin({ name: 'print', print: false }, options);
    assert.equal(byName.factory, builtinPlugins['print']);
    assert.equal(byName.name, 'print');
  });

  it('should load a TypeScript plugin relative to the config directory and run it', async () => {
    const loaded = await loadPlugin({ path: 'plugins/low-voltage.ts', belowVolts: 110 }, options);
    assert.equal(loaded.name, 'low-voltage');
    assert.equal(loaded.origin, resolve(baseDir, 'plugins/low-voltage.ts'));
    const operator = loaded.create(context);
    const requests = await firstValueFrom(from([m(120), m(100, 7000)]).pipe(operator, toArray()));
    assert.deepEqual(requests.map((r) => [r.startTimestampMsUtc, r.endTimestampMsUtc, r.requestee]), [[6000, 8000, 'low-voltage']]);
  });

  it('should load a plain JavaScript plugin', async () => {
    const loaded = await loadPlugin({ path: './plugins/plain-javascript.mjs' }, options);
    const logger = new RecordingLogger();
    const requests = await firstValueFrom(from([m(120)]).pipe(loaded.create({ ...context, logger }), toArray()));
    assert.deepEqual(requests, []);
    assert.deepEqual(logger.records, [{ plugin: 'plain-javascript', box: 1001, level: 'debug', msg: 'seen' }]);
  });

  it('should re-anchor a ConfigError of the factory at the entry, with the config file', async () => {
    const loaded = await loadPlugin({ path: 'plugins/low-voltage.ts', belowVolts: 'low' }, options);
    assert.throws(
      () => loaded.create(context),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.path === 'plugins[2].belowVolts' &&
        error.file === configFile &&
        error.message === `${configFile}: plugins[2].belowVolts: must be a number of volts`,
    );
    const threshold = await loadPlugin({ plugin: 'threshold', overrides: { '1001': { voltagePercent: -1 } } }, options);
    assert.throws(() => threshold.create(context), (error: unknown) => error instanceof ConfigError && error.path === 'plugins[2].overrides.1001.voltagePercent');
  });

  it('should refuse a missing file naming the file and the field', async () => {
    await rejectsWith(loadPlugin({ path: 'plugins/nope.ts' }, options), 'plugins[2].path', /nope\.ts does not exist/);
  });

  it('should refuse a module without a default export, or whose default export is not a function', async () => {
    await rejectsWith(loadPlugin({ path: 'plugins/no-default-export.ts' }, options), 'plugins[2].path', /has no default export/);
    await rejectsWith(loadPlugin({ path: 'plugins/default-not-a-function.ts' }, options), 'plugins[2].path', /is object, not a plugin factory function/);
  });

  it('should refuse a module that throws while loading, keeping the cause', async () => {
    await assert.rejects(loadPlugin({ path: 'plugins/throws-on-import.mjs' }, options), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.path, 'plugins[2].path');
      assert.match(error.message, /broken at import/);
      assert.ok(error.cause instanceof Error);
      return true;
    });
  });

  it('should map the original Rust plugins to built-ins with a logged note', async () => {
    const logger = new RecordingLogger();
    const threshold = await loadPlugin({ path: '/usr/local/lib/makai/libthreshold_plugin.so' }, { ...options, logger });
    assert.equal(threshold.factory, builtinPlugins['threshold']);
    assert.equal(threshold.name, 'threshold');
    const print = await loadPlugin({ path: 'target/release/libprint_plugin.so', print: true }, { ...options, logger });
    assert.equal(print.factory, builtinPlugins['print']);
    assert.deepEqual(
      logger.records.map((r) => [r.level, r['plugin']]),
      [['info', 'threshold'], ['info', 'print']],
    );
    assert.match(logger.records[0]?.msg ?? '', /original Rust plugin/);
  });

  it('should map the original napali plugin, with its own setting names, to the built-in napali', async () => {
    const napali = await loadPlugin({ path: './libnapali_plugin.so', alpha: 0.05, f_min: 59.9, f_max: 60.1, grace_time_ms: 5000, trigger_local: false }, options);
    assert.equal(napali.factory, builtinPlugins['napali']);
    assert.equal(napali.name, 'napali');
    assert.equal(typeof napali.create(context), 'function');
    const wrong = await loadPlugin({ path: './libnapali_plugin.so', alpha: 2 }, options);
    assert.throws(() => wrong.create(context), (error: unknown) => error instanceof ConfigError && error.path === 'plugins[2].alpha');
  });

  it('should refuse any other native library, explaining what to do instead', async () => {
    await rejectsWith(loadPlugin({ path: 'libketos_plugin.so' }, options), 'plugins[2].path', /cannot load Rust dylibs.*export default definePlugin.*"plugin": "threshold"/);
  });

  it('should refuse malformed entries with the field path', async () => {
    await rejectsWith(loadPlugin({ plugin: 'fft' }, options), 'plugins[2].plugin', /unknown built-in plugin "fft" \(built-ins: threshold, print, napali\)/);
    await rejectsWith(loadPlugin({ name: 'fft' }, options), 'plugins[2].name', /unknown built-in plugin/);
    await rejectsWith(loadPlugin({ path: 'plugins/low-voltage.ts', plugin: 'print' }, options), 'plugins[2].plugin', /not both/);
    await rejectsWith(loadPlugin({ print: true }, options), 'plugins[2]', /needs a "path"/);
    await rejectsWith(loadPlugin({ path: 42 }, options), 'plugins[2].path', /non-empty string/);
    await rejectsWith(loadPlugin('threshold', options), 'plugins[2]', /must be an object/);
    await rejectsWith(loadPlugin({ plugin: 'toString' }, options), 'plugins[2].plugin', /unknown built-in/);
  });

  it('should load a whole plugins array and refuse duplicate instance names', async () => {
    const loaded = await loadPlugins([{ plugin: 'threshold' }, { plugin: 'threshold', name: 'second' }], { baseDir, file: configFile });
    assert.deepEqual(loaded.map((p) => p.name), ['threshold', 'second']);
    await rejectsWith(
      loadPlugins([{ plugin: 'print' }, { name: 'print' }], { baseDir, file: configFile }),
      'plugins[1].name',
      /already used by plugins\[0\]/,
    );
    await rejectsWith(loadPlugins([{ plugin: 'print' }, { path: 'x.so' }], { baseDir, file: configFile }), 'plugins[1].path', /Rust/);
  });

  it('should keep a loaded plugin that throws on every message isolated from the stream', async () => {
    const loaded = await loadPlugin({ path: 'plugins/throws-on-every-message.ts' }, options);
    const ts = createTestScheduler();
    const metrics = new Metrics();
    ts.run(({ hot, expectObservable }) => {
      const operator = loaded.create({ ...context, scheduler: ts });
      const isolated = isolatePlugin(operator, { name: loaded.name, logger: silentLogger, metrics, scheduler: ts, initialBackoffMs: 1 });
      const source = hot('-a-b-c-|', { a: m(120), b: m(120), c: m(120) });
      expectObservable(source.pipe(isolated)).toBe('-------|');
    });
    assert.equal(await metrics.value('makai_plugin_errors_total', { plugin: 'throws-on-every-message' }), 3);
  });

  it('should cut off a loaded plugin that never completes', async () => {
    const loaded = await loadPlugin({ path: 'plugins/never-completes.ts' }, options);
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable }) => {
      const isolated = isolatePlugin(loaded.create({ ...context, scheduler: ts }), {
        name: loaded.name,
        logger: silentLogger,
        metrics: new Metrics(),
        scheduler: ts,
        drainTimeoutMs: 5,
      });
      expectObservable(hot('-a-|', { a: m(120) }).pipe(isolated)).toBe('--- 5ms |');
    });
  });
});
