import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import { decodeRequestEventMessage, encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { RequestEventMessage, TriggerMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { REFERENCE_PYTHON_PLUGIN, skipWithoutPython, testPython } from '../helpers/python.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { within } from '../helpers/zmq.js';

// `makai run` as a real process on a makai.json whose only plugin is the Python SDK's reference
// plugin, named by its `.py` path (run with MAKAI_PYTHON): a sag on two boxes is one request on
// the acquisition PULL, as for the built-in threshold plugin (test/integration/makai-run.test.ts).

const MINUTE = 60_000;
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
const MESSAGES_PER_BOX = 30;
const SAG = { from: 12, to: 17 };
const boxTime = (k: number) => T0 + Math.floor((k * 1000) / 6);

function message(box: number, k: number): TriggerMessage {
  const sagged = k >= SAG.from && k <= SAG.to;
  return { id: box, time: boxTime(k), frequency: 60, rms: sagged ? (box === 1 ? 96 : 95) : 120, thd: 0.02 };
}

describe('makai run with a Python plugin', skipWithoutPython(), () => {
  let dir: TempDir;
  let triggers: zmq.XPublisher;
  let acquisition: zmq.Pull;
  let makai: ChildProcess;
  let stderr = '';

  before(async () => {
    dir = await createTempDir('makai-run-python-');
    triggers = new zmq.XPublisher();
    await triggers.bind('tcp://127.0.0.1:*');
    acquisition = new zmq.Pull();
    await acquisition.bind('tcp://127.0.0.1:*');
    const config = {
      zmq_trigger_endpoint: triggers.lastEndpoint,
      zmq_acquisition_endpoint: acquisition.lastEndpoint,
      mongo_trends_update_interval_seconds: 1,
      plugins: [{ path: REFERENCE_PYTHON_PLUGIN, name: 'sag', nominalVoltage: 120, thresholdPercent: 10, minDurationMs: 500 }],
      store: `sqlite:${dir.file('makai.db')}`,
    };
    await writeFile(dir.file('makai.json'), JSON.stringify(config, null, 2));
    makai = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', dir.file('makai.json'), '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, MAKAI_PYTHON: testPython() },
    });
    makai.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  });

  after(async () => {
    if (makai.exitCode === null) makai.kill('SIGKILL');
    triggers.close();
    acquisition.close();
    await dir.remove();
  });

  it('requests one event for a sag on two boxes and stores every measurement', async () => {
    const [subscription] = await within(triggers.receive(), 30_000, `makai's subscription (stderr: ${stderr})`);
    assert.deepEqual([...subscription!], [1]);
    for (let k = 0; k < MESSAGES_PER_BOX; k++) {
      for (const box of [1, 2]) await triggers.send([String(box), encodeTriggerMessage(message(box, k))]);
    }

    const [frame, ...extra] = await within(acquisition.receive(), 30_000, `the event request (stderr: ${stderr})`);
    assert.equal(extra.length, 0, 'a request is one frame');
    const expected: RequestEventMessage = {
      startTimestampMsUtc: boxTime(SAG.from),
      endTimestampMsUtc: boxTime(SAG.to + 1),
      triggerType: 'VOLTAGE_SAG',
      percentMagnitude: ((120 - 95) / 120) * 100,
      boxIds: [1, 2],
      requestee: 'sag',
      description: 'sag: voltage sag of 20.8 % on boxes 1, 2',
      requestData: true,
    };
    assert.deepEqual(decodeRequestEventMessage(frame!), expected);

    // SIGTERM: the plugin is sent `finish` (nothing is open, so no second request), then makai exits 0.
    const exited = new Promise<number | null>((resolve) => makai.once('exit', (code) => resolve(code)));
    makai.kill('SIGTERM');
    assert.equal(await within(exited, 30_000, 'makai to exit'), 0, stderr);
    const store = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      assert.equal(await store.countMeasurements(), 2 * MESSAGES_PER_BOX);
    } finally {
      await store.close();
    }
    assert.doesNotMatch(stderr, /"level":"(error|warn)"/, 'no plugin failure or refusal logged');
  });
});
