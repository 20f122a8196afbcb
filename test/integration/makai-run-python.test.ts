import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RequestEventMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { MakaiRunRig } from '../helpers/fault-harness.js';
import { REFERENCE_PYTHON_PLUGIN, skipWithoutPython, testPython } from '../helpers/python.js';
import { MESSAGES_PER_BOX, SAG, twoBoxSag } from '../helpers/two-box-sag.js';

// `makai run` as a real process on a makai.json whose only plugin is the Python SDK's reference
// plugin, named by its `.py` path (run with MAKAI_PYTHON): a sag on two boxes is one request on
// the acquisition PULL, as for the built-in threshold plugin (test/integration/makai-run.test.ts).

describe('makai run with a Python plugin', skipWithoutPython(), () => {
  const sag = twoBoxSag();
  let rig: MakaiRunRig;

  before(async () => {
    const plugins = [{ path: REFERENCE_PYTHON_PLUGIN, name: 'sag', nominalVoltage: 120, thresholdPercent: 10, minDurationMs: 500 }];
    rig = await MakaiRunRig.start('makai-run-python-', { mongo_trends_update_interval_seconds: 1, plugins }, { MAKAI_PYTHON: testPython() });
  });

  after(async () => {
    await rig.close();
  });

  it('requests one event for a sag on two boxes and stores every measurement', async () => {
    const { sink, makai, dir } = rig;
    await rig.send(sag.messages());

    await sink.whenReceived(1, `the event request (stderr: ${makai.stderr})`);
    assert.equal(sink.frames[0]!.length, 1, 'a request is one frame');
    const expected: RequestEventMessage = {
      startTimestampMsUtc: sag.boxTime(SAG.from),
      endTimestampMsUtc: sag.boxTime(SAG.to + 1),
      triggerType: 'VOLTAGE_SAG',
      percentMagnitude: ((120 - 95) / 120) * 100,
      boxIds: [1, 2],
      requestee: 'sag',
      description: 'sag: voltage sag of 20.8 % on boxes 1, 2',
      requestData: true,
    };
    assert.deepEqual(sink.requests[0], expected);

    // SIGTERM: the plugin is sent `finish` (nothing is open, so no second request), then makai exits 0.
    assert.equal(await makai.stop(), 0, makai.stderr);
    const store = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      assert.equal(await store.countMeasurements(), 2 * MESSAGES_PER_BOX);
    } finally {
      await store.close();
    }
    assert.doesNotMatch(makai.stderr, /"level":"(error|warn)"/, 'no plugin failure or refusal logged');
  });
});
