import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { RecordingLogger } from '../../../src/core/logger.js';
import { printPlugin } from '../../../src/plugins/builtin/print.js';
import { emptyBoxDirectory, type Measurement, type PluginSettings } from '../../../src/plugins/plugin.js';
import { createTestScheduler } from '../../helpers/test-scheduler.js';

const a: Measurement = { id: 1001, time: 1000, rms: 119.5, frequency: 60.01, thd: 0.02 };
const b: Measurement = { id: 1002, time: 1100, rms: 121, frequency: 59.99 };

function run(settings: PluginSettings): RecordingLogger {
  const logger = new RecordingLogger();
  const ts = createTestScheduler();
  ts.run(({ hot, expectObservable, expectSubscriptions }) => {
    const source = hot('  -a-b-|', { a, b });
    const plugin = printPlugin(settings, { name: 'print', logger, scheduler: ts, boxes: emptyBoxDirectory });
    expectObservable(source.pipe(plugin)).toBe('-----|');
    expectSubscriptions(source.subscriptions).toBe('^----!');
  });
  return logger;
}

describe('print plugin', () => {
  it('should log every measurement at info and emit nothing when print is true', () => {
    const logger = run({ path: 'libprint_plugin.so', print: true });
    assert.deepEqual(logger.records, [
      { level: 'info', msg: 'measurement', ...a },
      { level: 'info', msg: 'measurement', ...b },
    ]);
  });

  it('should log nothing when print is false, and print when it is left out', () => {
    assert.deepEqual(run({ print: false }).records, []);
    assert.equal(run({ plugin: 'print' }).records.length, 2);
  });

  it('should refuse a print setting that is not a boolean, naming the field', () => {
    const context = { name: 'print', logger: new RecordingLogger(), scheduler: createTestScheduler(), boxes: emptyBoxDirectory };
    for (const settings of [{ print: 'true' }, { print: 1 }, { prnt: true }]) {
      assert.throws(
        () => printPlugin(settings, context),
        (error: unknown) => error instanceof ConfigError && error.path === Object.keys(settings)[0],
        JSON.stringify(settings),
      );
    }
  });
});
