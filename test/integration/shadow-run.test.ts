import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import { main } from '../../src/cli/main.js';
import { decodeRequestEventMessage, encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { ShadowRequestDoc } from '../../src/protocol/documents.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { within } from '../helpers/zmq.js';
import { captureIo } from '../unit/cli/sag-event-fixture.js';

// `makai run` with a live and a shadow plugin, as a real process: the live threshold plugin
// (frequency limit 5 %) sees only the voltage sag; the shadow one ("freq-watch", frequency
// limit 0.1 %, voltage 50 %) sees only the earlier frequency dip. The sag must be the only
// request at the acquisition endpoint; the dip must be in the shadow log.

const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
const MESSAGES_PER_BOX = 30;
const boxTime = (k: number) => T0 + Math.floor((k * 1000) / 6);

function message(box: number, k: number): TriggerMessage {
  const dip = k >= 3 && k <= 5; // 59.8 Hz: −0.33 %
  const sag = k >= 12 && k <= 17; // 95 V: −20.8 %
  return { id: box, time: boxTime(k), frequency: dip ? 59.8 : 60, rms: sag ? 95 : 120, thd: 0.02 };
}

describe('makai run with a shadow plugin', () => {
  let dir: TempDir;
  let triggers: zmq.XPublisher;
  let acquisition: zmq.Pull;
  let makai: ChildProcess;
  let stderr = '';

  before(async () => {
    dir = await createTempDir('makai-shadow-');
    triggers = new zmq.XPublisher();
    await triggers.bind('tcp://127.0.0.1:*');
    acquisition = new zmq.Pull();
    await acquisition.bind('tcp://127.0.0.1:*');
    const config = {
      zmq_trigger_endpoint: triggers.lastEndpoint,
      zmq_acquisition_endpoint: acquisition.lastEndpoint,
      plugins: [
        { plugin: 'threshold', frequencyPercent: 5 },
        { plugin: 'threshold', name: 'freq-watch', shadow: true, frequencyPercent: 0.1, voltagePercent: 50 },
      ],
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

  it('sends the live plugin’s request to the broker and logs the shadow plugin’s, never sending it', async () => {
    await within(triggers.receive(), 30_000, `makai's subscription (stderr: ${stderr})`);
    for (let k = 0; k < MESSAGES_PER_BOX; k++) {
      for (const box of [1, 2]) await triggers.send([String(box), encodeTriggerMessage(message(box, k))]);
    }
    const [frame] = await within(acquisition.receive(), 30_000, `the event request (stderr: ${stderr})`);
    const sent = decodeRequestEventMessage(frame!);
    assert.equal(sent.triggerType, 'VOLTAGE_SAG', 'the earlier frequency dip (the shadow plugin’s) did not reach the broker first');
    assert.deepEqual(sent.boxIds, [1, 2]);

    const exited = new Promise<number | null>((resolve) => makai.once('exit', (code) => resolve(code)));
    makai.kill('SIGTERM');
    assert.equal(await within(exited, 30_000, 'makai to exit'), 0, stderr);
    // Everything makai pushed before it exited has arrived by now: nothing else was sent.
    acquisition.receiveTimeout = 500;
    await assert.rejects(acquisition.receive(), (error: Error & { code?: string }) => error.code === 'EAGAIN', 'no other request at the broker');

    const { io, text } = captureIo();
    assert.equal(await main(['shadow', 'list', '--store', `sqlite:${dir.file('makai.db')}`, '--json'], io), 0);
    const logged = JSON.parse(text()) as ShadowRequestDoc[];
    assert.deepStrictEqual(
      logged.map((doc) => [doc.plugin, doc.type, doc.boxes]),
      [['freq-watch', 'FREQUENCY_SAG', ['1', '2']]],
    );
    assert.equal(logged[0]!.start_ms, boxTime(3) - 1000, 'the dip padded by 1 s, in box time');

    const table = captureIo();
    assert.equal(await main(['shadow', 'list', '--store', `sqlite:${dir.file('makai.db')}`], table.io), 0);
    assert.match(table.text(), /freq-watch\s+FREQUENCY_SAG\s+1,2\s/);
    assert.match(table.text(), /1 shadow request, newest first/);
  });
});
