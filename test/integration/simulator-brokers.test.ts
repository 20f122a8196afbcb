import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { asyncScheduler } from 'rxjs';
import * as zmq from 'zeromq';
import { AcquisitionBroker, type AcquisitionActivity } from '../../src/brokers/acquisition-broker.js';
import { TriggerBroker } from '../../src/brokers/trigger-broker.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { decodeTriggerMessage } from '../../src/protocol/trigger-message-codec.js';
import { writeCertificatePair } from '../../src/security/curve-certificate.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { ensureBoxKeyPairs } from '../../src/simulator/box-key-pairs.js';
import { startNetworkedFleet, type NetworkedFleet } from '../../src/simulator/networked-fleet.js';
import { parseCompactScenario } from '../../src/simulator/scenario.js';
import { SimulatedFleet } from '../../src/simulator/simulated-fleet.js';
import { DEFAULT_CALIBRATION, SAMPLES_PER_CYCLE } from '../../src/protocol/box-adc.js';
import { cycleRms } from '../../src/protocol/cycle-rms.js';
import { openStore } from '../../src/stores/open-store.js';
import type { Store } from '../../src/stores/store.js';
import { ActivityRecorder, Requester, expectedWaveform } from '../helpers/acquisition-harness.js';
import { eventRequest } from '../helpers/messages.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { within } from '../helpers/zmq.js';

/**
 * The simulated fleet through both real brokers, with keys in the original layout
 * (`curve/private_keys/opqserver_secret`, `curve/public_keys/opqbox<N>.key` as the brokers'
 * client_certs, white_list on): triggers reach the triggering broker's backend, and an event
 * request to the acquisition broker ends with each box's waveform in a SQLite store.
 */

const WAIT_MS = 15_000;
const HISTORY_MS = 4_000;
const SAG = { atMs: 1_500, forMs: 1_000, depth: 0.2 };
const BOXES = [1, 2];

describe('simulated boxes through the triggering and acquisition brokers', () => {
  let dir: TempDir;
  let store: Store;
  let triggerBroker: TriggerBroker;
  let acquisitionBroker: AcquisitionBroker;
  let activity: ActivityRecorder;
  let backend: zmq.Subscriber;
  let requester: Requester;
  let fleet: SimulatedFleet;
  let running: NetworkedFleet;
  let startMs: number;

  before(async () => {
    dir = await createTempDir('makai-simulator-brokers-');
    const curveDir = dir.file('curve');
    const server = generateCurveKeyPair();
    const { secretFile } = await writeCertificatePair(curveDir, 'opqserver', server);
    const { keys } = await ensureBoxKeyPairs(curveDir, BOXES);
    const clientCerts = dir.file('curve', 'public_keys');
    store = await openStore(`sqlite:${dir.file('opq.db')}`);
    const logger = new RecordingLogger();
    const metrics = new Metrics();

    triggerBroker = new TriggerBroker(
      { client_certs: clientCerts, server_cert: secretFile, interface: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*', white_list: true, key_refresh: 600_000 },
      { logger, metrics, store },
    );
    await triggerBroker.start();
    acquisitionBroker = new AcquisitionBroker(
      {
        client_certs: clientCerts,
        server_cert: secretFile,
        box_pub: 'tcp://127.0.0.1:*',
        box_pull: 'tcp://127.0.0.1:*',
        backend_pull: 'tcp://127.0.0.1:*',
        backend_pub: 'tcp://127.0.0.1:*',
        white_list: true,
        key_refresh: 600_000,
        max_event_window: 600_000,
        // Fast pings: a PONG from a box tells that its subscription to box_pub is live.
        ping_interval: 50,
        max_frame_bytes: 1_048_576,
        store_retry_initial: 5,
        store_retry_limit: 2_000,
      },
      { logger, metrics, store },
    );
    await acquisitionBroker.start();
    activity = new ActivityRecorder(acquisitionBroker);
    backend = new zmq.Subscriber({ linger: 0 });
    backend.subscribe();
    backend.connect(triggerBroker.endpoints.backend);
    requester = new Requester(acquisitionBroker.endpoints.backend_pull);

    startMs = Date.now() - HISTORY_MS;
    const scenario = parseCompactScenario(`sag@${SAG.atMs}ms:boxes=1,2:depth=${SAG.depth * 100}%:for=${SAG.forMs}ms`);
    fleet = new SimulatedFleet({ boxes: BOXES, seed: 11, scenario, startMs, scheduler: asyncScheduler });
    running = await startNetworkedFleet({
      fleet,
      triggerEndpoint: triggerBroker.endpoints.interface,
      boxPubEndpoint: acquisitionBroker.endpoints.box_pub,
      boxPullEndpoint: acquisitionBroker.endpoints.box_pull,
      serverPublicKey: server.publicKey,
      keys,
      logger,
      metrics: new Metrics(),
    });
  });

  after(async () => {
    await running?.stop();
    requester?.close();
    backend?.close();
    await acquisitionBroker?.close();
    activity?.stop();
    await triggerBroker?.close();
    await store?.close();
    await dir?.remove();
  });

  it('should deliver every box TriggerMessages to the triggering broker backend as [box id, TriggerMessage]', async () => {
    const seen = new Set<number>();
    await within(
      (async () => {
        for await (const [topic, body] of backend) {
          const message = decodeTriggerMessage(body!);
          assert.equal(Buffer.from(topic!).toString(), String(message.id));
          assert.ok(BOXES.includes(message.id));
          seen.add(message.id);
          if (seen.size === BOXES.length) return;
        }
      })(),
      WAIT_MS,
      'a trigger from each box at the backend',
    );
    assert.deepEqual([...seen].sort(), BOXES);
  });

  it('should answer the acquisition broker: PONGs recorded, and a READ stored as each box sagging waveform', async () => {
    type Pong = Extract<AcquisitionActivity, { kind: 'pong' }>;
    for (const id of BOXES) {
      await within(activity.waitFor((a): a is Pong => a.kind === 'pong' && a.boxId === String(id) && a.outcome === 'recorded'), WAIT_MS, `PONG from box ${id}`);
    }
    const start = startMs + 1_000;
    const end = startMs + 3_000;
    await requester.send(eventRequest({ startTimestampMsUtc: start, endTimestampMsUtc: end, boxIds: BOXES, triggerType: 'VOLTAGE_SAG' }));
    type Reply = Extract<AcquisitionActivity, { kind: 'reply' }>;
    const stored = await within(
      Promise.all(BOXES.map((id) => activity.waitFor((a): a is Reply => a.kind === 'reply' && a.outcome === 'stored' && a.boxId === String(id)))),
      WAIT_MS,
      'both replies stored',
    );
    const eventId = stored[0]!.eventId!;
    assert.ok(stored.every((r) => r.eventId === eventId));

    const event = await store.getEvent(eventId);
    assert.deepEqual([...event!.boxes_received].sort(), BOXES.map(String));
    assert.deepEqual([...event!.boxes_triggered].sort(), BOXES.map(String));
    const boxEvents = await store.listBoxEvents(eventId);
    assert.equal(boxEvents.length, BOXES.length);
    for (const boxEvent of boxEvents) {
      const box = fleet.box(Number(boxEvent.box_id))!;
      // What the box holds for [start, end) is exactly what was stored: the data came from it.
      const data = box.read(start, end);
      const waveform = await store.getWaveform(boxEvent.data_fs_filename);
      assert.ok(waveform && waveform.length > 0);
      assert.deepEqual(Buffer.from(waveform), expectedWaveform(data));
      const cycleTimes = data.flatMap((m) => m.cycles.map((c) => c.time));
      assert.deepEqual(boxEvent.window_timestamps_ms, cycleTimes);
      assert.ok(cycleTimes[0]! >= start && cycleTimes.at(-1)! < end);

      // RMS of the stored samples, per cycle, before and during the sag.
      const bytes = Buffer.from(waveform);
      const samples = Int16Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readInt16LE(2 * i));
      const rms = (fromMs: number, toMs: number) => {
        const values = cycleTimes
          .map((t, i) => ({ t, v: cycleRms(samples.subarray(i * SAMPLES_PER_CYCLE, (i + 1) * SAMPLES_PER_CYCLE), DEFAULT_CALIBRATION) }))
          .filter(({ t }) => t >= startMs + fromMs && t + 17 <= startMs + toMs)
          .map(({ v }) => v);
        assert.ok(values.length >= 10);
        return values.reduce((a, b) => a + b, 0) / values.length;
      };
      const before = rms(1_000, SAG.atMs);
      const during = rms(SAG.atMs + 50, SAG.atMs + SAG.forMs - 50);
      assert.ok(Math.abs(before - 120) < 3, `box ${boxEvent.box_id} before the sag: ${before} V`);
      assert.ok(Math.abs(1 - during / before - SAG.depth) < 0.02, `box ${boxEvent.box_id} sag depth ${1 - during / before}`);
    }
    assert.equal(running.stats.requests.READ, BOXES.length);
    assert.equal(running.stats.repliesDropped, 0);
  });
});
