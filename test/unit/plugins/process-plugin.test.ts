import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Subject, VirtualTimeScheduler, asyncScheduler, from, lastValueFrom, tap, toArray } from 'rxjs';
import { ConfigError } from '../../../src/core/errors.js';
import { RecordingLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/core/metrics.js';
import { isolatePlugin } from '../../../src/plugins/isolate-plugin.js';
import { loadPlugin } from '../../../src/plugins/plugin-loader.js';
import { emptyBoxDirectory, type EventRequest, type Measurement } from '../../../src/plugins/plugin.js';
import { PluginProcessError } from '../../../src/plugins/process-plugin.js';
import { REFERENCE_PYTHON_PLUGIN, skipWithoutPython, testPython } from '../../helpers/python.js';
import { within } from '../../helpers/zmq.js';

// Python plugins as real child processes (the SDK's reference plugin and a plugin that
// misbehaves on demand), through the loader and isolatePlugin as the service runs them.

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'plugins');
const WAIT_MS = 30_000;
const T0 = 1_700_000_000_000;
const at = (k: number) => T0 + Math.floor((k * 1000) / 6);

/** Polls `check` until it holds; the bound only turns a hang into a failure. */
async function eventually(check: () => boolean | Promise<boolean>, label: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function twoBoxSag(): Measurement[] {
  const out: Measurement[] = [];
  for (let k = 0; k < 30; k++) {
    for (const box of [1, 2]) out.push({ id: box, time: at(k), frequency: 60, rms: k >= 12 && k <= 17 ? (box === 1 ? 96 : 95) : 120, thd: 0.02 });
  }
  return out;
}

/** Loads an entry and runs it as the plugin node does: factory, then isolatePlugin. */
async function start(entry: Record<string, unknown>, logger: RecordingLogger, metrics: Metrics) {
  const loaded = await loadPlugin(entry, { baseDir: FIXTURES, field: 'plugins[0]', file: '/etc/opq/makai.json' });
  const operator = loaded.create({ logger, scheduler: asyncScheduler, boxes: emptyBoxDirectory, metrics });
  return { name: loaded.name, plugin: isolatePlugin(operator, { name: loaded.name, logger, metrics, initialBackoffMs: 20, maxBackoffMs: 100, drainTimeoutMs: 10_000 }) };
}

/** Pids of the plugin processes the host started, from its log. */
const pidsOf = (logger: RecordingLogger) => logger.records.filter((r) => r.msg === 'plugin process started').map((r) => r['pid'] as number);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0); // a zombie still answers: only a reaped process is gone
    return true;
  } catch {
    return false;
  }
}

describe('out-of-process Python plugins', skipWithoutPython(), () => {
  const python = testPython() as string;

  it('should run the reference plugin: one request for a sag on two boxes, the output completing with the input', async () => {
    const logger = new RecordingLogger();
    const metrics = new Metrics();
    const { plugin } = await start({ command: [python, REFERENCE_PYTHON_PLUGIN], name: 'sag', minDurationMs: 100 }, logger, metrics);
    const source = new Subject<Measurement>();
    const output = lastValueFrom(source.pipe(plugin, toArray()));
    for (const m of twoBoxSag()) source.next(m);
    source.complete();
    const requests = await within(output, WAIT_MS, 'the plugin to finish');
    const expected: EventRequest = {
      startTimestampMsUtc: at(12),
      endTimestampMsUtc: at(18),
      triggerType: 'VOLTAGE_SAG',
      percentMagnitude: ((120 - 95) / 120) * 100,
      boxIds: [1, 2],
      requestee: 'sag',
      description: 'sag: voltage sag of 20.8 % on boxes 1, 2',
      requestData: true,
    };
    assert.deepEqual(requests, [expected]);
    assert.equal(await metrics.value('makai_plugin_errors_total', { plugin: 'sag' }), 0);
    assert.equal(await metrics.value('makai_plugin_dropped_total', { plugin: 'sag' }), 0);
    assert.ok(logger.records.some((r) => r.msg === 'plugin process ready' && String(r['sdk']).startsWith('makai-plugin-python')));
    const [pid] = pidsOf(logger);
    await eventually(() => !alive(pid!), 'the finished plugin process reaped');
  });

  it('should also run a .py path with the interpreter MAKAI_PYTHON names, relative to the config', async () => {
    const before = process.env['MAKAI_PYTHON'];
    process.env['MAKAI_PYTHON'] = python;
    try {
      const logger = new RecordingLogger();
      const loaded = await loadPlugin({ path: '../sdk/python/examples/sag_swell.py' }, { baseDir: join(FIXTURES, '..', '..'), field: 'plugins[0]' });
      assert.equal(loaded.name, 'sag_swell');
      const source = new Subject<Measurement>();
      const output = lastValueFrom(source.pipe(loaded.create({ logger, scheduler: asyncScheduler, boxes: emptyBoxDirectory }), toArray()));
      for (const m of twoBoxSag()) source.next(m);
      source.complete();
      assert.deepEqual((await within(output, WAIT_MS, 'the plugin to finish')).map((r) => r.boxIds), [[1, 2]]);
    } finally {
      if (before === undefined) delete process.env['MAKAI_PYTHON'];
      else process.env['MAKAI_PYTHON'] = before;
    }
  });

  for (const fault of ['raise', 'exit', 'garbage', 'misorder', 'hang'] as const) {
    it(`should restart a plugin that does "${fault}", count it, and go on with the next measurements`, async () => {
      const logger = new RecordingLogger();
      const metrics = new Metrics();
      const name = `faulty-${fault}`;
      const { plugin } = await start(
        { command: [python, 'faulty_plugin.py'], name, fault, echo: true, process: { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 1000 } },
        logger,
        metrics,
      );
      const source = new Subject<Measurement>();
      const seen: EventRequest[] = [];
      const output = lastValueFrom(source.pipe(plugin, tap((request) => seen.push(request)), toArray()));
      const point = (k: number, rms: number): Measurement => ({ id: 1, time: T0 + k, frequency: 60, rms });
      source.next(point(1, 50)); // answered before the fault (awaited, so it is not in the fault's batch)
      await eventually(() => seen.length === 1, 'the answer to the first measurement');
      source.next(point(2, 13)); // the fault
      await eventually(async () => (await metrics.value('makai_plugin_restarts_total', { plugin: name })) >= 1, 'a restart');
      await eventually(() => logger.records.filter((r) => String(r['line'] ?? '').includes('faulty plugin started')).length >= 2, 'the second process started');
      source.next(point(3, 50)); // answered by the new process
      source.complete();
      const requests = await within(output, WAIT_MS, 'the plugin to finish');

      assert.deepEqual(requests.map((r) => r.startTimestampMsUtc), [T0 + 1, T0 + 3], 'requests from before and after the restart');
      assert.equal(await metrics.value('makai_plugin_errors_total', { plugin: name }), 1);
      assert.equal(await metrics.value('makai_plugin_dropped_total', { plugin: name }), 1, 'the measurement it failed on is counted');
      const failure = logger.records.find((r) => r.msg === 'plugin failed; restarting after back-off');
      const why = {
        raise: /reported exception error: RuntimeError: deliberate fault/,
        exit: /exited with code 7/,
        garbage: /not a plugin message/,
        misorder: /answered batch 999, expected batch 2/,
        hang: /heartbeat timeout/,
      }[fault];
      assert.match(String(failure?.['error']), why);
      if (fault === 'raise') assert.ok(logger.records.some((r) => r.msg === 'plugin stderr' && String(r['line']).startsWith('Traceback')), 'the traceback is logged');
      const pids = pidsOf(logger);
      assert.equal(pids.length, 2);
      for (const pid of pids) await eventually(() => !alive(pid), `plugin process ${pid} killed and reaped`);
    });
  }

  it('should detect a hang on the injected scheduler: nothing heard for heartbeatTimeoutMs of its time', async () => {
    // Virtual time, advanced by hand: the hung plugin can answer nothing after the batch it hangs
    // on (the pipe delivers the batch before any ping), so the failure comes exactly when the
    // scheduler's clock reaches the timeout, however long that takes in real time.
    const scheduler = new VirtualTimeScheduler();
    const advanceTo = (frame: number) => {
      scheduler.maxFrames = frame;
      scheduler.flush();
    };
    const logger = new RecordingLogger();
    const loaded = await loadPlugin(
      { command: [python, 'faulty_plugin.py'], name: 'hangs', fault: 'hang', process: { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1000 } },
      { baseDir: FIXTURES },
    );
    const source = new Subject<Measurement>();
    let failure: unknown;
    source.pipe(loaded.create({ logger, scheduler, boxes: emptyBoxDirectory })).subscribe({ error: (error: unknown) => (failure = error) });
    source.next({ id: 1, time: T0, frequency: 60, rms: 13 });
    await eventually(() => logger.records.some((r) => r.msg === 'plugin process ready'), 'the handshake answered');
    advanceTo(0); // the batch goes out
    advanceTo(999);
    assert.equal(failure, undefined, 'not hung yet at 999 ms of scheduler time');
    advanceTo(1000);
    const failed = failure as unknown; // set by the subscriber during advanceTo, which TypeScript cannot see
    assert.ok(failed instanceof PluginProcessError && failed.reason === 'hang', `hung at 1000 ms: ${String(failed)}`);
    assert.match(failed.message, /sent nothing for 1000 ms \(heartbeat timeout 1000 ms\)/);
    const [pid] = pidsOf(logger);
    await eventually(() => !alive(pid!), 'the hung process killed and reaped');
  });

  it('should refuse and count a request the plugin left incomplete, without restarting it', async () => {
    const logger = new RecordingLogger();
    const metrics = new Metrics();
    const { plugin } = await start({ command: [python, 'faulty_plugin.py'], name: 'invalid', fault: 'invalid', echo: true }, logger, metrics);
    const point = (k: number, rms: number): Measurement => ({ id: 1, time: T0 + k, frequency: 60, rms });
    const requests = await within(lastValueFrom(from([point(1, 50), point(2, 13), point(3, 50)]).pipe(plugin, toArray())), WAIT_MS, 'the plugin to finish');
    assert.deepEqual(requests.map((r) => r.startTimestampMsUtc), [T0 + 1, T0 + 3]);
    assert.equal(await metrics.value('makai_plugin_requests_rejected_total', { plugin: 'invalid', reason: 'invalid-request' }), 1);
    assert.equal(await metrics.value('makai_plugin_errors_total', { plugin: 'invalid' }), 0);
    assert.equal(pidsOf(logger).length, 1, 'one process throughout');
  });

  it('should refuse bad settings at start-up with a ConfigError at the setting, in the plugin\'s words', async () => {
    await assert.rejects(loadPlugin({ command: [python, REFERENCE_PYTHON_PLUGIN], thresholdPercent: 150 }, { baseDir: FIXTURES, field: 'plugins[2]', file: '/etc/opq/makai.json' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.path, 'plugins[2].thresholdPercent');
      assert.equal(error.message, '/etc/opq/makai.json: plugins[2].thresholdPercent: must be a percentage between 0 and 100, got 150');
      return true;
    });
    await assert.rejects(loadPlugin({ command: [python, REFERENCE_PYTHON_PLUGIN], nominalVolt: 120 }, { baseDir: FIXTURES, field: 'plugins[2]' }), {
      name: 'ConfigError',
      path: 'plugins[2].nominalVolt',
    });
  });

  it('should refuse a command that cannot run, a program that is not a plugin, and a bad entry, naming the field', async () => {
    const load = (entry: Record<string, unknown>) => loadPlugin(entry, { baseDir: FIXTURES, field: 'plugins[1]' });
    await assert.rejects(load({ command: ['no-such-program-makai'] }), { name: 'ConfigError', path: 'plugins[1].command', message: /could not run plugin .*ENOENT/ });
    await assert.rejects(load({ command: [python, '-c', 'import sys; sys.exit(4)'] }), { name: 'ConfigError', path: 'plugins[1].command', message: /exited with code 4 before answering the handshake/ });
    await assert.rejects(load({ command: [python, '-c', 'import sys, time; sys.stdout.buffer.write(b"\\xff" * 12); sys.stdout.flush(); time.sleep(30)'] }), {
      name: 'ConfigError',
      path: 'plugins[1].command',
      message: /not a plugin message/,
    });
    await assert.rejects(load({ command: 'python3 plugin.py' }), { name: 'ConfigError', path: 'plugins[1].command', message: /non-empty array/ });
    await assert.rejects(load({ path: 'missing.py' }), { name: 'ConfigError', path: 'plugins[1].path', message: /does not exist/ });
    await assert.rejects(load({ command: [python, 'faulty_plugin.py'], fault: 'raise', process: { heartbeatTimeoutMs: 0 } }), { name: 'ConfigError', path: 'plugins[1].process.heartbeatTimeoutMs' });
    await assert.rejects(load({ command: [python, 'faulty_plugin.py'], fault: 'raise', process: { heartbeat: 1 } }), { name: 'ConfigError', path: 'plugins[1].process.heartbeat' });
  });
});
