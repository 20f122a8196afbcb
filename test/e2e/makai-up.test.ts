import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GridFSBucket } from 'mongodb';
import { silentLogger } from '../../src/core/logger.js';
import { startLocalDeployment, type LocalDeployment } from '../../src/cli/local-deployment.js';
import { parseCompactScenario } from '../../src/simulator/scenario.js';
import { DEFAULT_CALIBRATION, SAMPLES_PER_CYCLE } from '../../src/protocol/box-adc.js';
import { cycleRms } from '../../src/protocol/cycle-rms.js';
import { openStore } from '../../src/stores/open-store.js';
import type { BoxEventDoc, EventDoc } from '../../src/protocol/documents.js';
import type { Store } from '../../src/stores/store.js';
import { dropDatabase, mongoTestTarget, uniqueDatabaseName, withRawClient } from '../helpers/mongodb.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';

// The whole loop, as `makai up` runs it, on loopback with random ports and a temp dir: three
// simulated CURVE boxes, both brokers, the triggering service with the threshold plugin, one
// store (SQLite, and MongoDB when MAKAI_TEST_MONGODB_URI names a server). Box 1 and 2 sag to 70 %
// at 3 s for 1 s; box 3 swells at 7 s.

const SAG_DEPTH = 0.3;
const TREND_WINDOW_MS = 1000;
const WAIT_MS = 40_000;

/** RMS of every cycle of a stored waveform, with the cycle's box time. */
function cycleRmsSeries(boxEvent: BoxEventDoc, waveform: Uint8Array): { time: number; volts: number }[] {
  const samples = new Int16Array(waveform.buffer.slice(waveform.byteOffset, waveform.byteOffset + waveform.byteLength));
  return boxEvent.window_timestamps_ms.map((time, i) => ({
    time,
    volts: cycleRms(samples.subarray(i * SAMPLES_PER_CYCLE, (i + 1) * SAMPLES_PER_CYCLE), DEFAULT_CALIBRATION),
  }));
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** How to point the deployment at one kind of store, and clean it up. */
interface StoreUnderTest {
  readonly name: string;
  readonly skip: string | false;
  uri(dir: TempDir): string;
  cleanup(): Promise<void>;
}

const sqlite: StoreUnderTest = { name: 'sqlite', skip: false, uri: (dir) => `sqlite:${dir.file('makai.db')}`, cleanup: async () => {} };

const mongo = mongoTestTarget();
const mongoDatabase = uniqueDatabaseName('makai_e2e');
const mongodb: StoreUnderTest = {
  name: 'mongodb',
  skip: mongo.missingInCi ? false : mongo.skip,
  uri: () => {
    // Under CI a missing server must fail, not skip.
    if (!mongo.uri) throw new Error('MAKAI_TEST_MONGODB_URI is not set (required under CI=true)');
    const url = new URL(mongo.uri);
    url.pathname = `/${mongoDatabase}`;
    return url.toString();
  },
  cleanup: async () => {
    if (mongo.uri) await dropDatabase(mongo.uri, mongoDatabase);
  },
};

for (const target of [sqlite, mongodb]) endToEnd(target);

function endToEnd(target: StoreUnderTest): void {
describe(`makai up on ${target.name}: simulated fleet through brokers, triggering service and store`, { skip: target.skip }, () => {
  let dir: TempDir;
  let deployment: LocalDeployment;
  let store: Store;
  let events: EventDoc[];
  let messagesIn: number;
  let measurementsWritten: number;

  before(async () => {
    dir = await createTempDir('makai-up-');
    deployment = await startLocalDeployment({
      dataDir: dir.path,
      storeUri: target.uri(dir),
      ports: 'random',
      boxes: 3,
      seed: 7,
      scenario: parseCompactScenario(['sag@3s:boxes=1,2:depth=30%:for=1s', 'swell@7s:boxes=3:depth=12%:for=500ms']),
      trendWindowMs: TREND_WINDOW_MS,
      logger: silentLogger,
    });
    // Until both events have waveforms from every box.
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const status = await deployment.status();
      if (status.events.length >= 2 && status.events.every((e) => e.replies.length === 3)) break;
      if (Date.now() > deadline) assert.fail(`timed out; status ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await deployment.stop();
    ({ messagesIn, measurementsWritten } = await deployment.status());
    store = await openStore(target.uri(dir));
    events = (await store.listEvents()).reverse();
  });

  after(async () => {
    await store?.close();
    await deployment?.stop();
    await target.cleanup();
    await dir?.remove();
  });

  it('should detect exactly one event listing both sagged boxes, and number events increasingly', () => {
    const sags = events.filter((e) => e.type === 'VOLTAGE_SAG');
    assert.equal(sags.length, 1, JSON.stringify(events));
    assert.deepEqual(sags[0]!.boxes_triggered, ['1', '2']);
    const swells = events.filter((e) => e.type === 'VOLTAGE_SWELL');
    assert.deepEqual(swells.map((e) => e.boxes_triggered), [['3']]);
    const ids = events.map((e) => e.event_id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.ok(sags[0]!.event_id < swells[0]!.event_id, 'the earlier anomaly has the smaller id');
  });

  it('should store each box waveform, with the sag visible at about the injected depth', async () => {
    const sag = events.find((e) => e.type === 'VOLTAGE_SAG')!;
    const boxEvents = await store.listBoxEvents(sag.event_id);
    assert.deepEqual(boxEvents.map((b) => b.box_id).sort(), ['1', '2', '3']);
    // The request window is the sag padded by 1 s on both sides.
    const sagStart = sag.target_event_start_timestamp_ms + 1000;
    const sagEnd = sag.target_event_end_timestamp_ms - 1000;
    for (const boxEvent of boxEvents) {
      const waveform = await store.getWaveform(boxEvent.data_fs_filename);
      assert.ok(waveform, `waveform ${boxEvent.data_fs_filename}`);
      assert.equal(waveform.byteLength, boxEvent.window_timestamps_ms.length * SAMPLES_PER_CYCLE * 2, 'int16 per sample, 200 per cycle');
      const series = cycleRmsSeries(boxEvent, waveform);
      const before = mean(series.filter((c) => c.time < sagStart - 50).map((c) => c.volts));
      const during = mean(series.filter((c) => c.time > sagStart + 50 && c.time < sagEnd - 200).map((c) => c.volts));
      if (boxEvent.box_id === '3') {
        assert.ok(Math.abs(during / before - 1) < 0.02, `box 3 did not sag: ${during} vs ${before}`);
      } else {
        assert.ok(Math.abs(during / before - (1 - SAG_DEPTH)) < 0.03, `box ${boxEvent.box_id}: ${during} V during vs ${before} V before`);
      }
    }
  });

  it('should store every measurement the brokers received', async () => {
    assert.ok(messagesIn > 0);
    assert.equal(measurementsWritten, messagesIn);
    assert.equal(await store.countMeasurements(), messagesIn);
  });

  it('should write trend windows that cover the whole run for every box', async () => {
    for (const box of ['1', '2', '3']) {
      const measurements = await store.queryMeasurements({ box_id: box });
      const trends = await store.queryTrends({ box_id: box });
      const first = Math.floor(measurements[0]!.timestamp_ms / TREND_WINDOW_MS) * TREND_WINDOW_MS;
      const last = Math.floor(measurements.at(-1)!.timestamp_ms / TREND_WINDOW_MS) * TREND_WINDOW_MS;
      assert.deepEqual(
        trends.map((t) => t.window_start_ms),
        Array.from({ length: (last - first) / TREND_WINDOW_MS + 1 }, (_, i) => first + i * TREND_WINDOW_MS),
        `box ${box}: one trend per window from the first to the last measurement`,
      );
      assert.equal(trends.reduce((n, t) => n + t.count, 0), measurements.length);
      assert.ok(trends.every((t) => t.location === 'simulated'));
    }
  });

  if (target === mongodb) {
    it('should leave data that OPQ View and Mauka read with plain driver queries', async () => {
      const sag = events.find((e) => e.type === 'VOLTAGE_SAG')!;
      await withRawClient(mongo.uri!, async (client) => {
        const db = client.db(mongoDatabase);
        const event = await db.collection('events').findOne({ event_id: sag.event_id }, { promoteLongs: false });
        assert.ok(event, 'events by event_id');
        assert.equal(event['type'], 'VOLTAGE_SAG');
        assert.deepEqual(event['boxes_triggered'], ['1', '2']);
        assert.equal(event['target_event_start_timestamp_ms']._bsontype, 'Long');
        const boxEvents = await db.collection('box_events').find({ event_id: sag.event_id }).toArray();
        assert.deepEqual(boxEvents.map((b) => b['box_id']).sort(), ['1', '2', '3']);
        for (const boxEvent of boxEvents.filter((b) => b['box_id'] !== '3')) {
          // Mauka: numpy.frombuffer(gridfs.get_last_version(filename).read(), int16).
          const chunks: Buffer[] = [];
          for await (const chunk of new GridFSBucket(db).openDownloadStreamByName(boxEvent['data_fs_filename'] as string)) chunks.push(chunk as Buffer);
          const bytes = new Uint8Array(Buffer.concat(chunks));
          const series = cycleRmsSeries(boxEvent as unknown as BoxEventDoc, bytes);
          const sagStart = sag.target_event_start_timestamp_ms + 1000;
          const before = mean(series.filter((c) => c.time < sagStart - 50).map((c) => c.volts));
          const minimum = Math.min(...series.map((c) => c.volts));
          assert.ok(minimum / before < 1 - SAG_DEPTH + 0.03, `box ${boxEvent['box_id']} waveform shows the sag`);
        }
      });
    });
  }
});
}
