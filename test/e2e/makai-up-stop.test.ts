import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventSummary } from '../../src/cli/commands/up.js';
import { startLocalDeployment, type DeploymentStatus, type LocalDeployment } from '../../src/cli/local-deployment.js';
import { silentLogger } from '../../src/core/logger.js';
import { parseCompactScenario } from '../../src/simulator/scenario.js';
import { DEFAULT_CALIBRATION } from '../../src/protocol/box-adc.js';
import type { BoxEventDoc, BoxRecord, EventDoc } from '../../src/protocol/documents.js';
import { openStore } from '../../src/stores/open-store.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';

// Issue 14 finding 7, as `makai up` runs: stopped while an anomaly is still open, the triggering
// service's flush requests the last event, and that event must still get every box's waveform
// (the fleet used to stop first, so nobody answered the READ while the summary said otherwise).
// Also: the box registry entries `makai up` writes carry the simulator's calibration_constant,
// which OPQ Mauka's acquire_data reads for every box of an event.

const BOXES = 3;
const WAIT_MS = 30_000;

describe('makai up: stopping keeps the last event\'s waveforms, and boxes are registered with their calibration', () => {
  let dir: TempDir;
  let deployment: LocalDeployment;
  let status: DeploymentStatus;
  let events: EventDoc[];
  let boxEvents: Map<number, BoxEventDoc[]>;
  let boxes: BoxRecord[];

  before(async () => {
    dir = await createTempDir('makai-up-stop-');
    deployment = await startLocalDeployment({
      dataDir: dir.path,
      ports: 'random',
      boxes: BOXES,
      seed: 3,
      // Sagging from 2 s for a minute: still open when the deployment stops.
      scenario: parseCompactScenario(['sag@2s:boxes=1,2:depth=30%:for=60s']),
      trendWindowMs: 1000,
      logger: silentLogger,
    });
    // Until the sag has been seen for a while (about 4 s of box time from three boxes at 6/s).
    const deadline = Date.now() + WAIT_MS;
    while ((await deployment.status()).messagesIn < BOXES * 6 * 4) {
      if (Date.now() > deadline) assert.fail('the fleet did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await deployment.status()).events.length, 0, 'the sag is still open: no event yet');
    await deployment.stop(10_000);
    status = await deployment.status();
    const store = await openStore(`sqlite:${dir.file('makai.db')}`);
    try {
      events = await store.listEvents();
      boxEvents = new Map(await Promise.all(events.map(async (e) => [e.event_id, await store.listBoxEvents(e.event_id)] as const)));
      boxes = await store.listBoxes();
    } finally {
      await store.close();
    }
  });

  after(async () => {
    await deployment?.stop();
    await dir?.remove();
  });

  it('should store the event the flush requested, with a waveform from every box', () => {
    assert.equal(events.length, 1, JSON.stringify(events));
    const [sag] = events;
    assert.equal(sag!.type, 'VOLTAGE_SAG');
    assert.deepEqual(sag!.boxes_triggered, ['1', '2']);
    assert.deepEqual([...sag!.boxes_received].sort(), ['1', '2', '3']);
    assert.deepEqual(boxEvents.get(sag!.event_id)!.map((b) => b.box_id).sort(), ['1', '2', '3']);
    for (const boxEvent of boxEvents.get(sag!.event_id)!) assert.ok(boxEvent.window_timestamps_ms.length > 0, `cycles from box ${boxEvent.box_id}`);
  });

  it('should say in the summary what was stored', () => {
    assert.deepEqual(status.events.map((e) => [...e.replies].sort()), [['1', '2', '3']]);
    assert.equal(eventSummary(status.events, BOXES), '1 events (1 with waveforms from all 3 boxes, 0 from some, 0 without)');
  });

  it('should register every simulated box with the simulator\'s calibration_constant', () => {
    assert.deepEqual(
      boxes.map((b) => [b.box_id, b.calibration_constant]),
      Array.from({ length: BOXES }, (_, i) => [String(i + 1), DEFAULT_CALIBRATION]),
    );
  });
});

describe('eventSummary', () => {
  it('should tell complete, partial and missing waveforms apart', () => {
    assert.equal(
      eventSummary([{ replies: ['1', '2'] }, { replies: ['1'] }, { replies: [] }], 2),
      '3 events (1 with waveforms from all 2 boxes, 1 from some, 1 without)',
    );
    assert.equal(eventSummary([{ replies: ['7'] }, { replies: [] }], 0), '2 events (1 with waveforms)');
  });
});
