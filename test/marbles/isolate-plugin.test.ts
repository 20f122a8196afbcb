import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NEVER, map, merge, mergeMap, of, share, take, throwError } from 'rxjs';
import { ConfigError } from '../../src/core/errors.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { isolatePlugin, type IsolatePluginOptions } from '../../src/plugins/isolate-plugin.js';
import type { EventRequest, Measurement, PluginOperator } from '../../src/plugins/plugin.js';
import { triggerMessage } from '../helpers/messages.js';
import { createTestScheduler } from '../helpers/test-scheduler.js';

const m = (time: number): Measurement => triggerMessage({ time });
const request = (measurement: Measurement): EventRequest => ({
  startTimestampMsUtc: measurement.time,
  endTimestampMsUtc: measurement.time + 1,
  triggerType: 'OTHER',
  percentMagnitude: 0,
  boxIds: [measurement.id],
  requestee: 'test',
  description: `at ${measurement.time}`,
  requestData: false,
});

/** Value maps: lower case = measurement at time = its letter's index + 1, upper case = its request. */
const letters = 'abcdefghijklmnopqrst';
const measurements = Object.fromEntries([...letters].map((c, i) => [c, m(i + 1)]));
const requests = Object.fromEntries([...letters].map((c, i) => [c.toUpperCase(), request(m(i + 1))]));

const passThrough: PluginOperator = (source) => source.pipe(map(request));

function setup(overrides: Partial<IsolatePluginOptions> = {}) {
  const ts = createTestScheduler();
  const logger = new RecordingLogger();
  const metrics = new Metrics();
  const options: IsolatePluginOptions = {
    name: 'p',
    logger,
    metrics,
    scheduler: ts,
    initialBackoffMs: 2,
    maxBackoffMs: 8,
    resetAfterMs: 1000,
    maxQueue: 3,
    drainTimeoutMs: 10,
    ...overrides,
  };
  const count = (name: string, labels: Record<string, string> = {}) => metrics.value(name, { plugin: 'p', ...labels });
  return { ts, logger, metrics, options, count };
}

describe('isolatePlugin', () => {
  it('should pass requests through and complete when the plugin completes after its source', () => {
    const { ts, options } = setup();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source     = hot('  -a-b-c-|', measurements);
      const sourceSubs = '      ^------!';
      const expected   = '      -A-B-C-|';
      expectObservable(source.pipe(isolatePlugin(passThrough, options))).toBe(expected, requests);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should restart a plugin that throws on every message with back-off while storage keeps flowing', async () => {
    const { ts, options, count, logger } = setup();
    const broken: PluginOperator = (source) =>
      source.pipe(
        map((): EventRequest => {
          throw new Error('boom');
        }),
      );
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      // Failures at 1 (a), 3 (b), 7 (e), 15 (m); back-off 2, 4, 8, 8 (capped); the source
      // completes in back-off, so the plugin restarts at once, fails on r, and s, t are dropped.
      const source     = hot('  -abcdefghijklmnopqrst|', measurements);
      const sourceSubs = '      ^--------------------!';
      const expected   = '      -abcdefghijklmnopqrst|';
      const shared = source.pipe(share());
      const storage = shared.pipe(map((x) => x));
      const output = merge(storage, shared.pipe(isolatePlugin(broken, options)));
      expectObservable(output).toBe(expected, measurements);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
    assert.equal(await count('makai_plugin_errors_total'), 5);
    assert.equal(await count('makai_plugin_restarts_total'), 4);
    // 20 messages: 5 caused failures, the other 15 fell out of the 3-slot queue.
    assert.equal(await count('makai_plugin_dropped_total'), 15);
    const delays = logger.records.filter((r) => r.msg.startsWith('plugin failed;')).map((r) => r['restartInMs']);
    assert.deepEqual(delays, [2, 4, 8, 8]);
    assert.equal(logger.records.at(-1)?.msg, 'plugin failed while finishing; what it had not seen is dropped');
    assert.equal(logger.records.at(-1)?.['plugin'], 'p');
  });

  it('should restart a plugin that errors once and deliver what queued during the back-off', async () => {
    const { ts, options, count } = setup({ initialBackoffMs: 3 });
    let failed = false;
    const flaky: PluginOperator = (source) =>
      source.pipe(
        mergeMap((x) => {
          if (x.time === 4 && !failed) {
            failed = true;
            return throwError(() => new Error('transient'));
          }
          return of(request(x));
        }),
      );
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source     = hot('  -a-d-f-h-j-|', measurements);
      const sourceSubs = '      ^----------!';
      const expected   = '      -A----FH-J-|';
      expectObservable(source.pipe(isolatePlugin(flaky, options))).toBe(expected, requests);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
    assert.equal(await count('makai_plugin_errors_total'), 1);
    assert.equal(await count('makai_plugin_restarts_total'), 1);
    assert.equal(await count('makai_plugin_dropped_total'), 0);
  });

  it('should start back-off afresh after a healthy period', () => {
    const { ts, options } = setup({ initialBackoffMs: 2, maxBackoffMs: 100, resetAfterMs: 10 });
    const failOn = new Set([1, 4, 30]);
    const picky: PluginOperator = (source) =>
      source.pipe(
        map((x) => {
          if (failOn.has(x.time)) throw new Error(`bad ${x.time}`);
          return request(x);
        }),
      );
    const values = { a: m(1), d: m(4), t: m(20), x: m(30), y: m(31) };
    ts.run(({ hot, expectObservable }) => {
      // 1 fails → restart at 3; 4 fails 1 ms later → back-off 4 → restart at 8; healthy until
      // 30 (22 ms ≥ resetAfterMs) → back-off 2 again, so y (31) comes out at 32, not at 38.
      const source   = hot('  -a--d 15ms t 9ms xy 10ms |', values);
      const expected = '      20ms T 11ms Y 9ms |';
      expectObservable(source.pipe(isolatePlugin(picky, options))).toBe(expected, { T: request(m(20)), Y: request(m(31)) });
    });
  });

  it('should cut off a plugin that never completes drainTimeoutMs after its source completes', () => {
    const { ts, options, logger } = setup({ drainTimeoutMs: 10 });
    const endless: PluginOperator = (source) => merge(source.pipe(map(request)), NEVER);
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source     = hot('  -a-b-|', measurements);
      const sourceSubs = '      ^----!';
      const expected   = '      -A-B- 10ms |';
      expectObservable(source.pipe(isolatePlugin(endless, options))).toBe(expected, requests);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
    assert.ok(logger.records.some((r) => r.level === 'warn' && r.msg.includes('cut off')));
  });

  it('should refuse and count a request with a required field unset, and keep going', async () => {
    const { ts, options, count, logger } = setup();
    const sloppy: PluginOperator = (source) =>
      source.pipe(map((x) => (x.time === 2 ? ({ ...request(x), description: undefined } as unknown as EventRequest) : request(x))));
    ts.run(({ hot, expectObservable }) => {
      const source   = hot('  -ab-c|', measurements);
      const expected = '      -A--C|';
      expectObservable(source.pipe(isolatePlugin(sloppy, options))).toBe(expected, requests);
    });
    assert.equal(await count('makai_plugin_requests_rejected_total', { reason: 'invalid-request' }), 1);
    assert.equal(await count('makai_plugin_requests_total'), 2);
    assert.equal(await count('makai_plugin_errors_total'), 0);
    const warning = logger.records.find((r) => r.level === 'warn');
    assert.equal(warning?.['field'], 'description');
  });

  it('should restart a plugin whose operator throws while wiring up, and still complete', async () => {
    const { ts, options, count } = setup();
    const unwired: PluginOperator = () => {
      throw new Error('cannot wire');
    };
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source     = hot('  -a-----|', measurements);
      const sourceSubs = '      ^------!';
      const expected   = '      -------|';
      expectObservable(source.pipe(isolatePlugin(unwired, options))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
    // Fails at 0, 2 (back-off 2), 6 (back-off 4), and once more on completion.
    assert.equal(await count('makai_plugin_errors_total'), 4);
    assert.equal(await count('makai_plugin_dropped_total'), 1);
  });

  it('should end its output when the plugin completes early', () => {
    const { ts, options } = setup();
    const firstTwo: PluginOperator = (source) => source.pipe(take(2), map(request));
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source     = hot('  -a-b-c-|', measurements);
      const sourceSubs = '      ^--!';
      const expected   = '      -A-(B|)';
      expectObservable(source.pipe(isolatePlugin(firstTwo, options))).toBe(expected, requests);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should pass a source error on and tear the plugin down', () => {
    const { ts, options } = setup();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source     = hot('  -a-#', measurements);
      const sourceSubs = '      ^--!';
      const expected   = '      -A-#';
      expectObservable(source.pipe(isolatePlugin(passThrough, options))).toBe(expected, requests);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should tear everything down on early unsubscribe', () => {
    const { ts, options } = setup();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source     = hot('  -a-b-c-d-|', measurements);
      const sourceSubs = '      ^----!';
      const unsub      = '      ^----!';
      const expected   = '      -A-B--';
      expectObservable(source.pipe(isolatePlugin(passThrough, options)), unsub).toBe(expected, requests);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should complete at once on an empty source and never on a silent one', () => {
    const { ts, options } = setup();
    ts.run(({ hot, cold, expectObservable }) => {
      expectObservable(cold<Measurement>('|').pipe(isolatePlugin(passThrough, options))).toBe('|');
      expectObservable(hot<Measurement>('-').pipe(isolatePlugin(passThrough, options))).toBe('-');
    });
  });

  it('should refuse out-of-range options with the field path', () => {
    const { options } = setup();
    assert.throws(() => isolatePlugin(passThrough, { ...options, maxQueue: 0 }), (e: unknown) => e instanceof ConfigError && e.path === 'maxQueue');
    assert.throws(
      () => isolatePlugin(passThrough, { ...options, initialBackoffMs: 10, maxBackoffMs: 5 }),
      (e: unknown) => e instanceof ConfigError && e.path === 'maxBackoffMs',
    );
  });

  it('should show on its gauges that a failing plugin is restarting, then recovering, then healthy, then stopped', async () => {
    const { ts, options, metrics } = setup({ initialBackoffMs: 4, maxBackoffMs: 8, resetAfterMs: 50, maxQueue: 10 });
    const broken: PluginOperator = (source) =>
      source.pipe(
        map((): EventRequest => {
          throw new Error('boom');
        }),
      );
    // Metrics.value reads the gauge when called (prom-client builds the values before its first
    // await), so each snapshot is the state at its frame; were it not, all would be the last one.
    const read = async () => {
      // Every read starts here, synchronously: after an await the virtual run would be over.
      const [running, restarting, stopped, failures, queue] = await Promise.all([
        metrics.value('makai_plugin_state', { plugin: 'p', state: 'running' }),
        metrics.value('makai_plugin_state', { plugin: 'p', state: 'restarting' }),
        metrics.value('makai_plugin_state', { plugin: 'p', state: 'stopped' }),
        metrics.value('makai_plugin_consecutive_failures', { plugin: 'p' }),
        metrics.value('makai_plugin_queue_depth', { plugin: 'p' }),
      ]);
      return { running, restarting, stopped, failures, queue };
    };
    const snapshots = new Map<number, ReturnType<typeof read>>();
    ts.run(({ hot, expectObservable }) => {
      // a fails at 1 (back-off 4); b waits in the queue; the restart at 5 fails on b (back-off
      // 8); the restart at 13 runs cleanly, and 50 frames later the plugin is healthy again.
      const source = hot('-ab' + '-'.repeat(97) + '|', measurements);
      expectObservable(source.pipe(isolatePlugin(broken, options))).toBe('-'.repeat(100) + '|');
      for (const frame of [3, 10, 20, 70]) ts.schedule(() => void snapshots.set(frame, read()), frame);
    });
    assert.deepStrictEqual(await snapshots.get(3), { running: 0, restarting: 1, stopped: 0, failures: 1, queue: 1 });
    assert.deepStrictEqual(await snapshots.get(10), { running: 0, restarting: 1, stopped: 0, failures: 2, queue: 0 });
    assert.deepStrictEqual(await snapshots.get(20), { running: 1, restarting: 0, stopped: 0, failures: 2, queue: 0 });
    assert.deepStrictEqual(await snapshots.get(70), { running: 1, restarting: 0, stopped: 0, failures: 0, queue: 0 });
    assert.deepStrictEqual(await read(), { running: 0, restarting: 0, stopped: 1, failures: 0, queue: 0 });
  });
});
