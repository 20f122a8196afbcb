import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { DecodeFailure } from '../../src/core/errors.js';
import { encodeRequestDataMessage, encodeRequestEventMessage, encodeTriggerMessage } from '../../src/protocol/codec.js';
import { encodeDataMessage } from '../../src/protocol/data-message-codec.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { deadLetters, decodeTriggers, measurementStore, triggerSubscription, trendStore, trends } from '../../src/nodes/index.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { defineTopology } from '../../src/topology.js';
import {
  RequestSink,
  TriggerFeed,
  garbage,
  makaiSettings,
  recentT0,
  startServiceUnderTest,
  triggerFrames,
  validTrigger,
  waitUntil,
} from '../helpers/fault-harness.js';
import { createTempDir } from '../helpers/temp-dir.js';

// Bad input on the trigger stream, as the triggering service receives it from the triggering
// broker's backend: every kind of garbage interleaved with valid traffic from two boxes. Each
// garbage message must be refused with its own reason, counted per reason, logged at a bounded
// rate, and the valid messages must all be stored exactly as sent, with their trends.

const bytes = (text: string) => new Uint8Array(Buffer.from(text));
/** How often each kind of garbage is sent: more than the 10 log lines a reason may have per minute. */
const REPEATS = 14;
/** The dead-letter log's limit per source and reason per minute (its default). */
const LOG_LINES_PER_REASON = 10;
const VALID_PER_BOX = 60;

/** One kind of garbage and the reason it must be refused with. */
interface Garbage {
  readonly name: string;
  readonly reason: DecodeFailure;
  frames(i: number): Uint8Array[];
}

function triggerGarbage(t0: number): Garbage[] {
  const valid = (k: number): TriggerMessage => validTrigger(1, k, t0);
  const body = (message: TriggerMessage) => encodeTriggerMessage(message);
  const yearMs = 365 * 24 * 3600 * 1000;
  return [
    // Random bytes after a box id: seed 1 reads as a field with a wire type that cannot be skipped,
    // seed 3 as a field cut short.
    { name: 'random bytes', reason: 'wrong-wire-type', frames: () => [bytes('1'), garbage(1, 40)] },
    { name: 'other random bytes', reason: 'truncated', frames: () => [bytes('1'), garbage(3, 40)] },
    { name: 'one frame of random bytes', reason: 'frame-count', frames: (i) => [garbage(10 + i, 30)] },
    { name: 'three frames', reason: 'frame-count', frames: (i) => [...triggerFrames(valid(i)), bytes('extra')] },
    { name: 'truncated message', reason: 'truncated', frames: (i) => [bytes('1'), body(valid(i)).subarray(0, 12)] },
    { name: 'empty message', reason: 'missing-field', frames: () => [bytes('1'), new Uint8Array()] },
    { name: 'oversized frame', reason: 'frame-too-large', frames: (i) => [bytes('1'), garbage(20 + i, 5000)] },
    { name: 'oversized box id frame', reason: 'frame-too-large', frames: (i) => [garbage(40 + i, 4097), body(valid(i))] },
    {
      name: 'a RequestEventMessage',
      reason: 'wrong-wire-type',
      frames: (i) => [
        bytes('1'),
        encodeRequestEventMessage({
          startTimestampMsUtc: t0,
          endTimestampMsUtc: t0 + 1000 + i,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 10,
          boxIds: [1],
          requestee: 'x',
          description: 'y',
          requestData: true,
        }),
      ],
    },
    { name: 'a RequestDataMessage (PING)', reason: 'missing-field', frames: (i) => [bytes('1'), encodeRequestDataMessage({ type: 'PING', sequenceNumber: i })] },
    {
      name: 'a DataMessage',
      reason: 'wrong-wire-type',
      frames: (i) => [bytes('1'), encodeDataMessage({ id: 1, cycles: [{ time: t0 + i, data: new Int32Array(200) }] })],
    },
    { name: 'NaN voltage', reason: 'out-of-range', frames: (i) => [bytes('1'), body({ ...valid(i), rms: Number.NaN })] },
    { name: 'negative voltage', reason: 'out-of-range', frames: (i) => [bytes('1'), body({ ...valid(i), rms: -120 })] },
    { name: 'infinite frequency', reason: 'out-of-range', frames: (i) => [bytes('1'), body({ ...valid(i), frequency: Number.POSITIVE_INFINITY })] },
    { name: 'box time 3 years ago', reason: 'out-of-range', frames: (i) => [bytes('1'), body({ ...valid(i), time: t0 - 3 * yearMs })] },
    { name: 'box time 5 years ahead', reason: 'out-of-range', frames: (i) => [bytes('1'), body({ ...valid(i), time: t0 + 5 * yearMs })] },
    { name: 'frame box id is not the message id', reason: 'box-id-mismatch', frames: (i) => [bytes('2'), body(valid(i))] },
    { name: 'frame box id zero-padded', reason: 'box-id-mismatch', frames: (i) => [bytes('01'), body(valid(i))] },
  ];
}

describe('bad input on the trigger stream (triggering service)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('should refuse every kind of garbage with its reason, count and rate-limit it, and store every valid message', async () => {
    const dir = await createTempDir('makai-faults-bad-input-');
    cleanups.push(() => dir.remove());
    const feed = await TriggerFeed.bind();
    cleanups.push(() => feed.close());
    const storeUri = `sqlite:${dir.file('makai.db')}`;
    const settings = makaiSettings({ zmq_trigger_endpoint: feed.endpoint, measurement_batch_size: 50, measurement_flush: '100ms' });
    const { service, metrics, logger } = await startServiceUnderTest({ settings, storeUri, baseDir: dir.path });
    cleanups.push(async () => void (await service.stop()));
    await feed.whenSubscribed();

    const t0 = recentT0();
    const kinds = triggerGarbage(t0);
    const sentGarbage = new Map<DecodeFailure, number>();
    const sentValid: TriggerMessage[] = [];
    // Interleaved: a valid message of each box, then one garbage message, round-robin over the kinds.
    let next = 0;
    for (let k = 0; k < VALID_PER_BOX || next < kinds.length * REPEATS; k++) {
      if (k < VALID_PER_BOX) {
        for (const box of [1, 2]) {
          const message = validTrigger(box, k, t0);
          sentValid.push(message);
          await feed.send(triggerFrames(message));
        }
      }
      for (let g = 0; g < 4 && next < kinds.length * REPEATS; g++, next++) {
        const kind = kinds[next % kinds.length]!;
        await feed.send(kind.frames(Math.floor(next / kinds.length)));
        sentGarbage.set(kind.reason, (sentGarbage.get(kind.reason) ?? 0) + 1);
      }
    }
    const garbageTotal = kinds.length * REPEATS;
    // One subscriber, one connection: messages arrive in order, so once the last garbage is
    // counted every valid message before it has been decoded too.
    await waitUntil(async () => (await metrics.value('makai_rejected_total', { source: 'decode' })) === garbageTotal, 'every garbage message counted', {
      describe: () => metrics.value('makai_rejected_total'),
    });
    // A graceful stop writes the open batch and the open trend windows.
    assert.equal(await service.stop(), true, 'stopped cleanly');

    for (const [reason, count] of sentGarbage) {
      assert.equal(await metrics.value('makai_rejected_total', { source: 'decode', reason }), count, `refusals counted as ${reason}`);
      const lines = logger.records.filter((r) => r.msg === 'refused input' && r['source'] === 'decode' && r['reason'] === reason);
      assert.equal(lines.length, Math.min(count, LOG_LINES_PER_REASON), `log lines for ${reason}: bounded, not one per message`);
      assert.ok(lines.every((r) => typeof r['preview'] === 'string' && (r['preview'] as string).length <= 64), 'a bounded preview of the bytes');
    }
    // Nothing else was refused (no late trend messages: the valid stream is in order).
    assert.equal(await metrics.value('makai_rejected_total'), garbageTotal);
    assert.deepEqual(logger.records.filter((r) => r.level === 'error'), [], 'no errors logged');

    const store = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      for (const box of [1, 2]) {
        const stored = await store.queryMeasurements({ box_id: String(box) });
        const sent = sentValid.filter((m) => m.id === box);
        assert.deepEqual(
          stored.map((m) => [m.timestamp_ms, m.voltage, m.frequency, m.thd]),
          sent.map((m) => [m.time, m.rms, m.frequency, m.thd]),
          `box ${box}: every valid message stored once, as sent`,
        );
        const trendDocs = await store.queryTrends({ box_id: String(box) });
        assert.equal(trendDocs.reduce((n, t) => n + t.count, 0), sent.length, `box ${box}: trends cover every valid message`);
        assert.deepEqual(trendDocs.map((t) => t.window_start_ms), Array.from({ length: VALID_PER_BOX / 6 }, (_, s) => t0 + s * 1000));
      }
      assert.equal(await store.countMeasurements(), sentValid.length, 'no garbage stored');
      // Kept in the bounded dead-letter store, where `makai deadletters` lists them: one per
      // garbage message, each with its source, reason and first bytes.
      const letters = await store.listDeadLetters();
      assert.equal(letters.length, garbageTotal);
      const byReason = letters.reduce((m, l) => m.set(l.reason, (m.get(l.reason) ?? 0) + 1), new Map<string, number>());
      assert.deepEqual(byReason, sentGarbage);
      assert.ok(letters.every((l) => l.source === 'decode' && l.preview.length <= 64 && l.at_ms > 0));
    } finally {
      await store.close();
    }
  });

  it('should refuse implausible readings and invalid box ids: stored nowhere, triggering nothing, valid traffic unaffected', async () => {
    const dir = await createTempDir('makai-faults-implausible-');
    cleanups.push(() => dir.remove());
    const feed = await TriggerFeed.bind();
    cleanups.push(() => feed.close());
    const requests = await RequestSink.bind();
    cleanups.push(() => requests.close());
    const settings = makaiSettings({
      zmq_trigger_endpoint: feed.endpoint,
      zmq_acquisition_endpoint: requests.endpoint,
      measurement_batch_size: 50,
      measurement_flush: '100ms',
      plugins: [{ plugin: 'threshold' }],
    });
    const { service, metrics } = await startServiceUnderTest({ settings, storeUri: `sqlite:${dir.file('makai.db')}`, baseDir: dir.path });
    cleanups.push(async () => void (await service.stop()));
    await feed.whenSubscribed();

    // Two boxes, 10 s each. Box 1 has one real sag (k 40-42, 100 V); in between come the
    // attack's readings, each on a slot of its own: 1e30 Hz, 5000 V, THD 300 %, box -5 and
    // box -2^31 (the smallest int32).
    const t0 = recentT0();
    const sag = (k: number) => k >= 40 && k <= 42;
    const suspicious: Record<number, TriggerMessage> = {
      15: { ...validTrigger(1, 15, t0), frequency: 1e30 },
      20: { ...validTrigger(2, 20, t0), rms: 5000 },
      25: { ...validTrigger(1, 25, t0), thd: 3 },
      30: { ...validTrigger(1, 30, t0), id: -5 },
      35: { ...validTrigger(2, 35, t0), id: -(2 ** 31) },
    };
    const sentValid: TriggerMessage[] = [];
    for (let k = 0; k < 60; k++) {
      for (const box of [1, 2]) {
        const message = validTrigger(box, k, t0, box === 1 && sag(k) ? 100 : undefined);
        sentValid.push(message);
        await feed.send(triggerFrames(message));
      }
      const odd = suspicious[k];
      if (odd) await feed.send(triggerFrames(odd));
    }
    await waitUntil(async () => (await metrics.value('makai_rejected_total', { source: 'decode' })) === 5, 'the five refusals counted', {
      describe: () => metrics.value('makai_rejected_total'),
    });
    await waitUntil(() => requests.requests.some((r) => r.triggerType === 'VOLTAGE_SAG'), 'the real sag requested');
    assert.equal(await service.stop(), true, 'stopped cleanly');

    assert.equal(await metrics.value('makai_rejected_total', { source: 'decode', reason: 'implausible' }), 3);
    assert.equal(await metrics.value('makai_rejected_total', { source: 'decode', reason: 'invalid-box-id' }), 2);
    assert.deepEqual(
      requests.requests.map((r) => [r.triggerType, r.boxIds]),
      [['VOLTAGE_SAG', [1]]],
      'only the real sag triggered a request; 1e30 Hz triggered nothing',
    );
    const store = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      const stored = await store.queryMeasurements({});
      assert.deepEqual(
        stored.map((m) => [m.box_id, m.timestamp_ms, m.frequency, m.voltage]).sort(),
        sentValid.map((m) => [String(m.id), m.time, m.frequency, m.rms]).sort(),
        'every valid message stored as sent, nothing else',
      );
      assert.ok(stored.every((m) => m.frequency < 100 && m.voltage < 1000), 'no implausible value stored');
      for (const box of ['1', '2']) {
        const trendDocs = await store.queryTrends({ box_id: box });
        assert.equal(trendDocs.reduce((n, t) => n + t.count, 0), 60, `box ${box}: trends of every valid message`);
        assert.ok(trendDocs.every((t) => t.frequency!.max < 100), `box ${box}: no 1e30 Hz in a trend`);
      }
      assert.deepEqual((await store.listBoxStatus()).map((b) => b.box_id), ['1', '2'], 'no status row for box -5 or -2147483648');
      const letters = await store.listDeadLetters();
      assert.deepEqual(letters.map((l) => l.reason).sort(), ['implausible', 'implausible', 'implausible', 'invalid-box-id', 'invalid-box-id']);
      assert.ok(letters.some((l) => l.detail === 'TriggerMessage.frequency: 1.0000000150474662e+30 Hz is outside the plausible range [40, 70]'), JSON.stringify(letters));
    } finally {
      await store.close();
    }
  });

  it('should take the largest accepted frame from the topology', async () => {
    const dir = await createTempDir('makai-faults-frame-limit-');
    cleanups.push(() => dir.remove());
    const feed = await TriggerFeed.bind();
    cleanups.push(() => feed.close());
    const settings = makaiSettings({ zmq_trigger_endpoint: feed.endpoint, measurement_flush: '100ms' });
    // A topology declared in code sets the limit on its decode stage.
    const topology = defineTopology('small-frames', ({ source, pipe, merge, sink }) => {
      const frames = source('trigger', triggerSubscription({ endpoint: feed.endpoint }));
      const measurements = pipe('decode', frames, decodeTriggers({ maxFrameBytes: 24 }));
      sink('measurement-store', measurements, measurementStore({ ttl: '24h', batchSize: 100, flush: '100ms' }));
      const windows = pipe('trends', measurements, trends({ window: '1s', grace: '200ms' }));
      sink('trend-store', windows, trendStore());
      sink('dead-letters', merge('refused', [measurements.rejections, windows.late]), deadLetters());
    });
    const { service, metrics } = await startServiceUnderTest({ settings, storeUri: `sqlite:${dir.file('makai.db')}`, topology, baseDir: dir.path });
    cleanups.push(async () => void (await service.stop()));
    await feed.whenSubscribed();

    const t0 = recentT0();
    const small = validTrigger(1, 0, t0);
    assert.equal(encodeTriggerMessage(small).length, 24, 'a typical message fits');
    await feed.send(triggerFrames(small));
    await feed.send([bytes('1'), garbage(5, 25)]);
    await feed.send(triggerFrames({ ...validTrigger(1, 1, t0), lastGps: 1, currentCount: 2, flags: 3 })); // valid, but longer
    await feed.send(triggerFrames(validTrigger(1, 2, t0)));
    await waitUntil(async () => (await metrics.value('makai_rejected_total')) === 2, 'two refusals');
    await service.stop();
    assert.equal(await metrics.value('makai_rejected_total', { source: 'decode', reason: 'frame-too-large' }), 2);
    const store = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      assert.deepEqual((await store.queryMeasurements({})).map((m) => m.timestamp_ms), [t0, validTrigger(1, 2, t0).time]);
    } finally {
      await store.close();
    }
  });
});
