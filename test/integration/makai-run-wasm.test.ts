import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RequestEventMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { MakaiRunProcess, RequestSink, TriggerFeed, triggerFrames } from '../helpers/fault-harness.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { MESSAGES_PER_BOX, SAG, twoBoxSag } from '../helpers/two-box-sag.js';
import { WASM_BUILD_DIR, WASM_EXAMPLES, skipUnlessBuilt, wasmExampleMissing } from '../helpers/wasm-plugins.js';
import { within } from '../helpers/zmq.js';

// `makai run` as a real process on a makai.json whose only plugin is a WebAssembly one (the C
// and the Rust example, one run each): a sag on two boxes must become one request for both at
// the test's acquisition PULL, and every measurement must be stored. As makai-run.test.ts.

for (const lang of ['c', 'rust'] as const) {
  describe(`makai run with a WebAssembly plugin (${lang})`, skipUnlessBuilt(lang), () => {
    const sag = twoBoxSag();
    let dir: TempDir | undefined;
    let feed: TriggerFeed | undefined;
    let sink: RequestSink | undefined;
    let makai: MakaiRunProcess | undefined;

    before(async () => {
      const missing = wasmExampleMissing(lang);
      if (missing !== undefined) assert.fail(missing);
      dir = await createTempDir('makai-run-wasm-');
      feed = await TriggerFeed.bind();
      sink = await RequestSink.bind();
      const config = {
        zmq_trigger_endpoint: feed.endpoint,
        zmq_acquisition_endpoint: sink.endpoint,
        mongo_trends_update_interval_seconds: 1,
        event_request_expiration_window_ms: 1800000,
        plugins: [{ path: `${WASM_BUILD_DIR}${WASM_EXAMPLES[lang]}`, name: `sag-swell-${lang}`, thresholdPercent: 10 }],
        store: `sqlite:${dir.file('makai.db')}`,
      };
      makai = await MakaiRunProcess.start(dir.file('makai.json'), config);
    });

    after(async () => {
      await makai?.dispose();
      await feed?.close();
      await sink?.close();
      await dir?.remove();
    });

    it('requests one event for a sag on two boxes and stores every measurement', async () => {
      await within(feed!.whenSubscribed(), 30_000, `makai's subscription (stderr: ${makai!.stderr})`);
      for (const message of sag.messages()) await feed!.send(triggerFrames(message));

      await sink!.whenReceived(1, `the event request (stderr: ${makai!.stderr})`);
      assert.equal(sink!.frames[0]!.length, 1, 'a request is one frame');
      const expected: RequestEventMessage = {
        startTimestampMsUtc: sag.boxTime(SAG.from),
        endTimestampMsUtc: sag.boxTime(SAG.to + 1),
        triggerType: 'VOLTAGE_SAG',
        percentMagnitude: ((120 - 95) / 120) * 100, // the worst box's deviation
        boxIds: [1, 2],
        requestee: `sag-swell-${lang}`,
        description: `sag-swell-${lang}: voltage sag of 20.8 % on boxes 1, 2`,
        requestData: true,
      };
      assert.deepEqual(sink!.requests[0], expected);

      assert.equal(await makai!.stop(), 0, makai!.stderr);
      const store = await openSqliteStore({ path: dir!.file('makai.db') });
      try {
        assert.equal(await store.countMeasurements(), 2 * MESSAGES_PER_BOX);
      } finally {
        await store.close();
      }
    });
  });
}
