import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RequestEventMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { MakaiRunRig } from '../helpers/fault-harness.js';
import { MESSAGES_PER_BOX, SAG, twoBoxSag } from '../helpers/two-box-sag.js';
import { WASM_BUILD_DIR, WASM_EXAMPLES, skipUnlessBuilt, wasmExampleMissing } from '../helpers/wasm-plugins.js';

// `makai run` as a real process on a makai.json whose only plugin is a WebAssembly one (the C
// and the Rust example, one run each): a sag on two boxes must become one request for both at
// the test's acquisition PULL, and every measurement must be stored. As makai-run.test.ts.

for (const lang of ['c', 'rust'] as const) {
  describe(`makai run with a WebAssembly plugin (${lang})`, skipUnlessBuilt(lang), () => {
    const sag = twoBoxSag();
    let rig: MakaiRunRig | undefined;

    before(async () => {
      const missing = wasmExampleMissing(lang);
      if (missing !== undefined) assert.fail(missing);
      rig = await MakaiRunRig.start('makai-run-wasm-', {
        mongo_trends_update_interval_seconds: 1,
        event_request_expiration_window_ms: 1800000,
        plugins: [{ path: `${WASM_BUILD_DIR}${WASM_EXAMPLES[lang]}`, name: `sag-swell-${lang}`, thresholdPercent: 10 }],
      });
    });

    after(async () => {
      await rig?.close();
    });

    it('requests one event for a sag on two boxes and stores every measurement', async () => {
      const { sink, makai, dir } = rig!;
      await rig!.send(sag.messages());

      await sink.whenReceived(1, `the event request (stderr: ${makai.stderr})`);
      assert.equal(sink.frames[0]!.length, 1, 'a request is one frame');
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
      assert.deepEqual(sink.requests[0], expected);

      assert.equal(await makai.stop(), 0, makai.stderr);
      const store = await openSqliteStore({ path: dir.file('makai.db') });
      try {
        assert.equal(await store.countMeasurements(), 2 * MESSAGES_PER_BOX);
      } finally {
        await store.close();
      }
    });
  });
}
