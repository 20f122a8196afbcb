import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeRequestEventMessage } from '../../src/protocol/codec.js';
import type { RequestEventMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { MakaiRunRig } from '../helpers/fault-harness.js';
import { MESSAGES_PER_BOX, SAG, twoBoxSag } from '../helpers/two-box-sag.js';

// `makai run` as a real process on an original-format makai.json: the test owns the PUB side of
// the trigger stream (an XPUB, so it sees makai's subscription arrive instead of guessing when
// it has connected) and the PULL side of the acquisition endpoint.

describe('makai run on an original makai.json', () => {
  const sag = twoBoxSag();
  const T0 = sag.t0;
  let rig: MakaiRunRig;

  before(async () => {
    rig = await MakaiRunRig.start('makai-run-', {
      mongo_host: 'localhost',
      mongo_port: 27017,
      mongo_measurement_expiration_seconds: 86400,
      mongo_trends_update_interval_seconds: 1,
      event_request_expiration_window_ms: 1800000,
      plugins: [{ path: '/usr/local/lib/opq/plugins/libthreshold_plugin.so' }],
    });
  });

  after(async () => {
    await rig.close();
  });

  it('stores every measurement, trends for every window, and requests one event for a sag on two boxes', async () => {
    // makai's SUB subscribing to everything reaches the XPUB as the frame [0x01]; then the stream.
    const { sink, makai, dir } = rig;
    await rig.send(sag.messages());

    await sink.whenReceived(1, `the event request (stderr: ${makai.stderr})`);
    const [frame, ...extra] = sink.frames[0]!;
    assert.equal(extra.length, 0, 'a request is one frame');
    const expected: RequestEventMessage = {
      startTimestampMsUtc: sag.boxTime(SAG.from) - 1000,
      endTimestampMsUtc: sag.boxTime(SAG.to + 1) + 1000,
      triggerType: 'VOLTAGE_SAG',
      percentMagnitude: 20.833,
      boxIds: [1, 2],
      requestee: 'Makai: threshold plugin',
      description: 'Voltage sag to 95.0 V (-20.8 %) on boxes 1, 2 for 1.0 s',
      requestData: true,
    };
    assert.deepEqual(sink.requests[0], expected);
    assert.deepEqual(Buffer.from(frame!), Buffer.from(encodeRequestEventMessage(expected)));

    // SIGTERM flushes the open trend windows and the measurement batch, then exits 0.
    assert.equal(await makai.stop(), 0, makai.stderr);

    const store = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      assert.equal(await store.countMeasurements(), 2 * MESSAGES_PER_BOX);
      const stored = await store.queryMeasurements({ box_id: '1' });
      assert.deepEqual(
        stored.map((m) => [m.timestamp_ms, m.voltage]),
        Array.from({ length: MESSAGES_PER_BOX }, (_, k) => [sag.boxTime(k), sag.message(1, k).rms]),
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
