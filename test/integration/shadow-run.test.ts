import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { main } from '../../src/cli/main.js';
import type { ShadowRequestDoc } from '../../src/protocol/documents.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { MakaiRunRig } from '../helpers/fault-harness.js';
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
  let rig: MakaiRunRig;

  before(async () => {
    rig = await MakaiRunRig.start('makai-shadow-', {
      plugins: [
        { plugin: 'threshold', frequencyPercent: 5 },
        { plugin: 'threshold', name: 'freq-watch', shadow: true, frequencyPercent: 0.1, voltagePercent: 50 },
      ],
    });
  });

  after(async () => {
    await rig.close();
  });

  it('sends the live plugin’s request to the broker and logs the shadow plugin’s, never sending it', async () => {
    const { sink, makai, dir } = rig;
    await rig.send(Array.from({ length: MESSAGES_PER_BOX }, (_, k) => [message(1, k), message(2, k)]).flat());
    await sink.whenReceived(1, `the event request (stderr: ${makai.stderr})`);
    const sent = sink.requests[0]!;
    assert.equal(sent.triggerType, 'VOLTAGE_SAG', 'the earlier frequency dip (the shadow plugin’s) did not reach the broker first');
    assert.deepEqual(sent.boxIds, [1, 2]);

    assert.equal(await makai.stop(), 0, makai.stderr);
    // What makai pushed before it exited has left its socket (linger): half a second for it to
    // arrive here, then nothing else may have come.
    await sleep(500);
    assert.equal(sink.requests.length, 1, 'no other request at the broker');

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
