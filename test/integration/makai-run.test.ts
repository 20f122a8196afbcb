import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import { decodeRequestEventMessage, encodeRequestEventMessage, encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { RequestEventMessage, TriggerMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { within } from '../helpers/zmq.js';

// `makai run` as a real process on an original-format makai.json: the test owns the PUB side of
// the trigger stream (an XPUB, so it sees makai's subscription arrive instead of guessing when
// it has connected) and the PULL side of the acquisition endpoint.

const MINUTE = 60_000;
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE; // aligned box time, recent
const MESSAGES_PER_BOX = 30; // 5 s at 6 Hz
const SAG = { from: 12, to: 17 }; // messages 12..17 (box time T0+2000 .. T0+2833) are sagged
const boxTime = (k: number) => T0 + Math.floor((k * 1000) / 6);

function message(box: number, k: number): TriggerMessage {
  const sagged = k >= SAG.from && k <= SAG.to;
  return { id: box, time: boxTime(k), frequency: 60, rms: sagged ? (box === 1 ? 96 : 95) : 120, thd: 0.02 };
}

describe('makai run on an original makai.json', () => {
  let dir: TempDir;
  let triggers: zmq.XPublisher;
  let acquisition: zmq.Pull;
  let makai: ChildProcess;
  let stderr = '';

  before(async () => {
    dir = await createTempDir('makai-run-');
    triggers = new zmq.XPublisher();
    await triggers.bind('tcp://127.0.0.1:*');
    acquisition = new zmq.Pull();
    await acquisition.bind('tcp://127.0.0.1:*');
    const config = {
      zmq_trigger_endpoint: triggers.lastEndpoint,
      zmq_acquisition_endpoint: acquisition.lastEndpoint,
      mongo_host: 'localhost',
      mongo_port: 27017,
      mongo_measurement_expiration_seconds: 86400,
      mongo_trends_update_interval_seconds: 1,
      event_request_expiration_window_ms: 1800000,
      plugins: [{ path: '/usr/local/lib/opq/plugins/libthreshold_plugin.so' }],
      store: `sqlite:${dir.file('makai.db')}`,
    };
    await writeFile(dir.file('makai.json'), JSON.stringify(config, null, 2));
    makai = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', dir.file('makai.json'), '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    makai.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  });

  after(async () => {
    if (makai.exitCode === null) makai.kill('SIGKILL');
    triggers.close();
    acquisition.close();
    await dir.remove();
  });

  it('stores every measurement, trends for every window, and requests one event for a sag on two boxes', async () => {
    // makai's SUB subscribing to everything reaches us as the frame [0x01].
    const [subscription] = await within(triggers.receive(), 30_000, `makai's subscription (stderr: ${stderr})`);
    assert.deepEqual([...subscription!], [1]);

    for (let k = 0; k < MESSAGES_PER_BOX; k++) {
      for (const box of [1, 2]) await triggers.send([String(box), encodeTriggerMessage(message(box, k))]);
    }

    const [frame, ...extra] = await within(acquisition.receive(), 30_000, `the event request (stderr: ${stderr})`);
    assert.equal(extra.length, 0, 'a request is one frame');
    const expected: RequestEventMessage = {
      startTimestampMsUtc: boxTime(SAG.from) - 1000,
      endTimestampMsUtc: boxTime(SAG.to + 1) + 1000,
      triggerType: 'VOLTAGE_SAG',
      percentMagnitude: 20.833,
      boxIds: [1, 2],
      requestee: 'Makai: threshold plugin',
      description: 'Voltage sag to 95.0 V (-20.8 %) on boxes 1, 2 for 1.0 s',
      requestData: true,
    };
    assert.deepEqual(decodeRequestEventMessage(frame!), expected);
    assert.deepEqual(Buffer.from(frame!), Buffer.from(encodeRequestEventMessage(expected)));

    // SIGTERM flushes the open trend windows and the measurement batch, then exits 0.
    const exited = new Promise<number | null>((resolve) => makai.once('exit', (code) => resolve(code)));
    makai.kill('SIGTERM');
    assert.equal(await within(exited, 30_000, 'makai to exit'), 0, stderr);

    const store = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      assert.equal(await store.countMeasurements(), 2 * MESSAGES_PER_BOX);
      const stored = await store.queryMeasurements({ box_id: '1' });
      assert.deepEqual(
        stored.map((m) => [m.timestamp_ms, m.voltage]),
        Array.from({ length: MESSAGES_PER_BOX }, (_, k) => [boxTime(k), message(1, k).rms]),
      );
      assert.ok(stored.every((m) => m.expireAt.getTime() > Date.now() + 86_000_000), 'expireAt = receipt + 24 h');

      for (const box of ['1', '2']) {
        const trends = await store.queryTrends({ box_id: box });
        assert.deepEqual(
          trends.map((t) => [t.window_start_ms, t.timestamp_ms, t.count]),
          [0, 1, 2, 3, 4].map((s) => [T0 + s * 1000, T0 + (s + 1) * 1000, 6]),
          `box ${box}: one trend per second of box time, 6 messages each`,
        );
        const sagWindow = trends[2]!;
        assert.deepEqual(sagWindow.voltage, { min: box === '1' ? 96 : 95, max: box === '1' ? 96 : 95, average: box === '1' ? 96 : 95 });
        assert.deepEqual(trends[0]!.voltage, { min: 120, max: 120, average: 120 });
        assert.equal(sagWindow.location, 'unknown');
      }
    } finally {
      await store.close();
    }
  });
});
