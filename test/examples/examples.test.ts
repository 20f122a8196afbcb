import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as zmq from 'zeromq';
import { decodeRequestEventMessage, encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { within } from '../helpers/zmq.js';

// The README's promise, kept by a test: a topology and a plugin written in a folder outside the
// repository, against the packed package (`npm pack`, then `npm install` of the tarball, as a
// user would), pass their own marble test and run with `makai run`.
//
// The install skips install scripts: better-sqlite3 would otherwise compile from source for a
// minute or two. Its compiled binding is copied from this checkout instead (zeromq ships its
// prebuilt binaries inside the package). Every other file is the user's or the tarball's.

const ROOT = resolve(import.meta.dirname, '../..');
const exec = promisify(execFile);

describe('examples/ in a fresh folder outside the repository', () => {
  let work: TempDir;
  let project: string;
  let makai: ChildProcess | undefined;

  before(async () => {
    work = await createTempDir('makai-example-');
    const { stdout } = await exec('npm', ['pack', '--silent', '--pack-destination', work.path], { cwd: ROOT, maxBuffer: 16 << 20 });
    const tarball = join(work.path, stdout.trim().split('\n').pop()!);
    project = work.file('project');
    await cp(join(ROOT, 'examples'), project, { recursive: true });
    await exec('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
      cwd: project,
      maxBuffer: 16 << 20,
    });
    const binding = join('node_modules', 'better-sqlite3', 'build', 'Release');
    await mkdir(join(project, binding), { recursive: true });
    await cp(join(ROOT, binding, 'better_sqlite3.node'), join(project, binding, 'better_sqlite3.node'));
  });

  after(async () => {
    if (makai && makai.exitCode === null) makai.kill('SIGKILL');
    await work?.remove();
  });

  it('installs makai from the tarball with its exports only (no deep paths needed)', async () => {
    const installed = await readdir(join(project, 'node_modules', 'makai'));
    assert.ok(installed.includes('dist') && installed.includes('config'), `installed: ${installed.join(', ')}`);
    assert.ok(!installed.includes('src') && !installed.includes('test'), 'sources and tests are not shipped');
  });

  it("passes the plugin's marble test (npm test in the example folder)", async () => {
    // Not as a subtest of this run: the runner marks its children with NODE_TEST_CONTEXT.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const { stdout } = await exec('npm', ['test', '--silent'], { cwd: project, env, maxBuffer: 16 << 20 });
    assert.match(stdout, /^# pass 3$/m);
    assert.match(stdout, /^# fail 0$/m);
  });

  it('validates the topology and runs it: a sustained sag on a box is requested from the acquisition broker', async () => {
    const { stdout } = await exec(join(project, 'node_modules', '.bin', 'makai'), ['validate', 'topology.ts'], { cwd: project });
    assert.match(stdout, /^topology sustained-sags$/m);
    assert.match(stdout, /decode -> plugin => sustained-sag/);

    const triggers = new zmq.XPublisher();
    const acquisition = new zmq.Pull();
    try {
      await triggers.bind('tcp://127.0.0.1:*');
      await acquisition.bind('tcp://127.0.0.1:*');
      let stderr = '';
      makai = spawn(join(project, 'node_modules', '.bin', 'makai'), ['run', 'topology.ts', '--store', 'sqlite:./makai.db', '--log-level', 'warn'], {
        cwd: project,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, MAKAI_TRIGGER_ENDPOINT: triggers.lastEndpoint!, MAKAI_ACQUISITION_ENDPOINT: acquisition.lastEndpoint! },
      });
      makai.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await within(triggers.receive(), 60_000, `makai's subscription (stderr: ${stderr})`);

      // Box 7: normal, then 100 V (−16.7 %: inside the threshold plugin's ±20 %) for 4 messages, then normal.
      const t0 = Date.now() - 10_000;
      const volts = [120, 120, 100, 100, 100, 100, 120, 120];
      const messages: TriggerMessage[] = volts.map((rms, k) => ({ id: 7, time: t0 + Math.round((k * 1000) / 6), frequency: 60, rms, thd: 0.01 }));
      for (const message of messages) await triggers.send(['7', encodeTriggerMessage(message)]);

      const [frame] = await within(acquisition.receive(), 60_000, `the event request (stderr: ${stderr})`);
      assert.deepEqual(decodeRequestEventMessage(frame!), {
        startTimestampMsUtc: messages[2]!.time,
        endTimestampMsUtc: messages[6]!.time,
        triggerType: 'VOLTAGE_SAG',
        percentMagnitude: 16.67,
        boxIds: [7],
        requestee: 'sustained-sag',
        description: 'voltage below 108 V for 4 measurements',
        requestData: true,
      });

      const exited = new Promise<number | null>((done) => makai!.once('exit', (code) => done(code)));
      makai.kill('SIGTERM');
      assert.equal(await within(exited, 30_000, 'makai to exit'), 0, stderr);
      const store = await openSqliteStore({ path: join(project, 'makai.db') });
      try {
        assert.equal(await store.countMeasurements(), messages.length, 'every measurement stored');
      } finally {
        await store.close();
      }
    } finally {
      triggers.close();
      acquisition.close();
    }
  });
});
