import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import type { AcquisitionActivity } from '../../src/brokers/acquisition-broker.js';
import { StoreError } from '../../src/core/errors.js';
import { encodeRequestEventMessage } from '../../src/protocol/request-event-message-codec.js';
import type { Store } from '../../src/stores/store.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import {
  Requester,
  ScriptedBox,
  createAcquisitionFixture,
  expectedWaveform,
  sampleData,
  startBroker,
  type AcquisitionFixture,
  type RunningBroker,
} from '../helpers/acquisition-harness.js';
import { eventRequest } from '../helpers/messages.js';
import { sendUntil, within } from '../helpers/zmq.js';

const WAIT_MS = 10_000;

type RequestActivity = Extract<AcquisitionActivity, { kind: 'request' }>;
type ReplyActivity = Extract<AcquisitionActivity, { kind: 'reply' }>;
const accepted = (a: AcquisitionActivity): a is RequestActivity => a.kind === 'request' && a.outcome === 'accepted';
const acceptedNumber = (n: number) => (a: AcquisitionActivity): a is RequestActivity => accepted(a) && a.eventId === n;
const reply = (outcome: ReplyActivity['outcome'], eventId?: number) => (a: AcquisitionActivity): a is ReplyActivity =>
  a.kind === 'reply' && a.outcome === outcome && (eventId === undefined || a.eventId === eventId);

describe('AcquisitionBroker', () => {
  let fixture: AcquisitionFixture;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeEach(async () => {
    fixture = await createAcquisitionFixture();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await fixture.remove();
  });

  async function broker(overrides: Parameters<typeof startBroker>[1] = {}, wrap?: Parameters<typeof startBroker>[2]): Promise<RunningBroker> {
    const running = await startBroker(fixture, overrides, wrap);
    cleanups.push(() => running.stop());
    return running;
  }

  function requester(running: RunningBroker): Requester {
    const r = new Requester(running.broker.endpoints.backend_pull);
    cleanups.push(() => r.close());
    return r;
  }

  /** A box whose subscription is live: it has received a PING. */
  async function connectedBox(running: RunningBroker, options: { answerPings?: boolean } = {}): Promise<ScriptedBox> {
    const box = new ScriptedBox(1003, fixture.boxKeys, fixture.server.publicKey, running.broker.endpoints, options);
    cleanups.push(() => box.close());
    await within(box.waitFor((r) => r.type === 'PING'), WAIT_MS, 'first PING at the box');
    return box;
  }

  it('should record an event, ask the boxes, and store a scripted box reply exactly', async () => {
    const running = await broker();
    await running.store.upsertBox({ box_id: '1003', location: 'campus' });
    // Location is read from the registry, which the allow-list refreshes: refresh it now.
    await running.broker.allowList.refresh();
    const box = await connectedBox(running);
    const backend = new zmq.Subscriber({ linger: 0 });
    cleanups.push(() => backend.close());
    backend.connect(running.broker.endpoints.backend_pub);
    backend.subscribe('evnew');
    const notices: string[] = [];
    const noticed = new Promise<void>((resolve) => {
      void (async () => {
        for await (const [topic, id] of backend) {
          notices.push(`${Buffer.from(topic!).toString()} ${Buffer.from(id!).toString()}`);
          resolve();
        }
      })().catch(() => undefined);
    });
    const requests = requester(running);
    // The SUB misses notices until its subscription reached the broker: warm up with log-only events.
    await within(sendUntil(() => requests.send(eventRequest({ requestData: false })), noticed, { gapMs: 20 }), WAIT_MS, 'first evnew');

    const start = 1_700_000_000_000;
    const end = 1_700_000_002_001;
    await requests.send(eventRequest({ startTimestampMsUtc: start, endTimestampMsUtc: end, boxIds: [1003, 1004], triggerType: 'FREQUENCY_SAG' }));
    const read = await within(box.waitFor((r) => r.type === 'READ'), WAIT_MS, 'READ at the box');
    const eventId = read.sequenceNumber;
    const acceptance = await within(running.activity.waitFor(acceptedNumber(eventId)), WAIT_MS, 'accepted');
    assert.equal(acceptance.kind, 'request');
    assert.deepEqual(read, { type: 'READ', sequenceNumber: eventId, time: Math.floor((start + end) / 2), back: start, forward: end });

    const data = sampleData(1003, 2);
    await box.answer(read, data);
    const stored = await within(running.activity.waitFor(reply('stored', eventId)), WAIT_MS, 'reply stored');
    assert.equal(stored.boxId, '1003');

    const event = await running.store.getEvent(eventId);
    assert.ok(event);
    assert.equal(event.type, 'FREQUENCY_SAG');
    assert.equal(event.description, 'a test event');
    assert.deepEqual(event.boxes_triggered, ['1003', '1004']);
    assert.deepEqual(event.boxes_received, ['1003']);
    assert.equal(event.latencies_ms.length, 1);
    assert.equal(event.target_event_start_timestamp_ms, start);
    assert.equal(event.target_event_end_timestamp_ms, end);
    assert.equal(event.reply_latencies_ms?.length, 1);
    assert.ok(event.reply_latencies_ms![0]! >= 0);
    assert.ok(event.reply_latencies_ms![0]! <= event.latencies_ms[0]!, 'a duration, not an absolute time');

    const [boxEvent, ...more] = await running.store.listBoxEvents(eventId);
    assert.equal(more.length, 0);
    const cycles = data.flatMap((m) => m.cycles);
    assert.deepEqual(boxEvent, {
      event_id: eventId,
      box_id: '1003',
      event_start_timestamp_ms: cycles[0]!.time,
      event_end_timestamp_ms: Math.trunc(cycles.at(-1)!.time + (1000 / 12000) * 200),
      window_timestamps_ms: cycles.map((c) => c.time),
      data_fs_filename: `event_${eventId}_1003`,
      location: 'campus',
    });
    const waveform = await running.store.getWaveform(`event_${eventId}_1003`);
    assert.ok(waveform);
    assert.deepEqual(Buffer.from(waveform), expectedWaveform(data));
    assert.equal(waveform.length, 2 * 10 * 200 * 2);

    assert.ok(notices.includes(`evnew ${eventId}`), `evnew ${eventId} published`);
    assert.equal(await running.metrics.value('makai_acquisition_replies_total', { outcome: 'stored' }), 1);
    assert.ok((await running.metrics.value('makai_acquisition_published_total', { topic: 'evget-read' })) >= 1);
  });

  it('should refuse malformed, empty, mismatched, unknown-event and duplicate replies without touching stored data', async () => {
    const running = await broker();
    const box = await connectedBox(running);
    const requests = requester(running);
    await requests.send(eventRequest());
    const read = await within(box.waitFor((r) => r.type === 'READ'), WAIT_MS, 'READ');
    const data = sampleData(1003, 1);
    await box.answer(read, data);
    await within(running.activity.waitFor(reply('stored', read.sequenceNumber)), WAIT_MS, 'first reply stored');

    await box.answer(read, sampleData(1003, 2)); // the same box again: a duplicate
    await box.answer(read, []); // RESP without data frames
    await box.answer(read, [{ id: 1004, cycles: data[0]!.cycles }]); // DataMessage of another box
    await box.sendFrames([new Uint8Array([0x08, 0x04, 0x10])]); // truncated header
    await box.answer(read, data, { sequenceNumber: 999_999 }); // an event that does not exist
    await box.answer(read, data); // the first reply once more
    // Replies on one PUSH are handled in order: the last duplicate comes after all the others.
    await within(
      running.activity.waitFor((a) => reply('duplicate', read.sequenceNumber)(a) && running.activity.seen.filter(reply('duplicate')).length === 2),
      WAIT_MS,
      'second duplicate',
    );
    const outcomes = running.activity.seen.filter((a): a is ReplyActivity => a.kind === 'reply').map((a) => a.outcome);
    assert.deepEqual(outcomes, ['stored', 'duplicate', 'empty-reply', 'box-id-mismatch', 'malformed', 'unknown-event', 'duplicate']);

    const event = await running.store.getEvent(read.sequenceNumber);
    assert.deepEqual(event?.boxes_received, ['1003']);
    assert.equal(event?.latencies_ms.length, 1);
    assert.equal((await running.store.listBoxEvents(read.sequenceNumber)).length, 1);
    assert.deepEqual(Buffer.from((await running.store.getWaveform(`event_${read.sequenceNumber}_1003`))!), expectedWaveform(data));
    assert.equal(await running.store.getEvent(999_999), undefined);
    assert.equal(await running.metrics.value('makai_acquisition_replies_total', { outcome: 'duplicate' }), 2);
    assert.equal(await running.metrics.value('makai_rejected_total', { source: 'acquisition-broker.box_pull' }), 3);
  });

  it('should refuse invalid requests with a counted reason and consume no event number', async () => {
    const running = await broker({ max_event_window: 600_000 });
    const requests = requester(running);
    await requests.send(eventRequest({ requestData: false }));
    const first = await within(running.activity.waitFor(accepted), WAIT_MS, 'first accepted');
    const valid = eventRequest({ requestData: false });
    const truncated = encodeRequestEventMessage(valid).subarray(0, 9);
    await requests.send(eventRequest({ startTimestampMsUtc: 2_000, endTimestampMsUtc: 1_000 }));
    await requests.send(eventRequest({ startTimestampMsUtc: 0, endTimestampMsUtc: 600_001 }));
    await requests.sendRaw([new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])]);
    await requests.sendRaw([truncated]);
    await requests.send(valid);
    const next = await within(running.activity.waitFor(acceptedNumber(first.eventId! + 1)), WAIT_MS, 'next accepted');
    assert.equal(next.eventId, first.eventId! + 1);
    assert.deepEqual(
      running.activity.requests().map((a) => a.outcome),
      ['accepted', 'end-before-start', 'window-too-long', 'malformed', 'malformed', 'accepted'],
    );
    assert.equal(await running.metrics.value('makai_acquisition_requests_total', { outcome: 'end-before-start' }), 1);
    assert.equal(await running.metrics.value('makai_acquisition_requests_total', { outcome: 'window-too-long' }), 1);
    assert.equal(await running.metrics.value('makai_acquisition_requests_total', { outcome: 'malformed' }), 2);
    assert.equal(await running.metrics.value('makai_rejected_total', { source: 'acquisition-broker.backend_pull' }), 4);
    assert.equal((await running.store.listEvents()).length, 2);
  });

  it('should continue event numbers after a restart', async () => {
    const before = await startBroker(fixture);
    const r1 = new Requester(before.broker.endpoints.backend_pull);
    await r1.send(eventRequest({ requestData: false }));
    await r1.send(eventRequest({ requestData: false }));
    await within(before.activity.waitFor((a) => accepted(a) && before.activity.requests().length === 2), WAIT_MS, 'two accepted');
    const last = before.activity.requests()[1]!.eventId!;
    r1.close();
    await before.stop();

    const after = await broker();
    await requester(after).send(eventRequest({ requestData: false }));
    const next = await within(after.activity.waitFor(accepted), WAIT_MS, 'accepted after restart');
    assert.equal(next.eventId, last + 1);
  });

  it('should allocate unique event numbers with two brokers on one store', async () => {
    const a = await broker();
    const b = await broker();
    const perBroker = 15;
    const ra = requester(a);
    const rb = requester(b);
    await Promise.all(
      Array.from({ length: perBroker }, async () => {
        await ra.send(eventRequest({ requestData: false }));
        await rb.send(eventRequest({ requestData: false }));
      }),
    );
    const done = (running: RunningBroker) =>
      running.activity.waitFor(() => running.activity.requests().filter((x) => x.outcome === 'accepted').length === perBroker);
    await within(Promise.all([done(a), done(b)]), WAIT_MS, 'all accepted');
    const ids = [...a.activity.requests(), ...b.activity.requests()].map((x) => x.eventId!);
    assert.equal(new Set(ids).size, 2 * perBroker, `no collision in ${ids.join(',')}`);
    assert.deepEqual(
      (await a.store.listEvents({ limit: 100 })).map((e) => e.event_id).sort((x, y) => x - y),
      [...ids].sort((x, y) => x - y),
    );
  });

  it('should ping the boxes and record their PONGs as box status', async () => {
    const running = await broker();
    await connectedBox(running, { answerPings: true });
    const pong = await within(running.activity.waitFor((a) => a.kind === 'pong' && a.outcome === 'recorded'), WAIT_MS, 'pong recorded');
    assert.equal(pong.kind === 'pong' && pong.boxId, '1003');
    const status = (await running.store.listBoxStatus()).find((s) => s.box_id === '1003');
    assert.ok(status?.last_pong_ms !== undefined && status.last_pong_ms > 0);
    assert.ok((await running.metrics.value('makai_acquisition_pings_total')) >= 1);
    assert.ok((await running.metrics.value('makai_acquisition_pongs_total', { outcome: 'recorded' })) >= 1);
  });

  it('should refuse a box with an unknown key on both box sockets', async () => {
    const running = await broker();
    const stranger = new ScriptedBox(1003, generateCurveKeyPair(), fixture.server.publicKey, running.broker.endpoints);
    cleanups.push(() => stranger.close());
    const [sub, push] = await within(
      Promise.all([ScriptedBox.handshake(stranger.sub), ScriptedBox.handshake(stranger.push)]),
      WAIT_MS,
      'handshakes',
    );
    assert.equal(sub, 'handshake:error:auth');
    assert.equal(push, 'handshake:error:auth');
  });

  it('should retry a store outage and refuse (counted) what still fails, without stopping', async () => {
    let allocationFailures = 2;
    let insertFailures = 1;
    const flaky = (store: Store): Store =>
      Object.assign(Object.create(store) as Store, {
        allocateEventId: () =>
          allocationFailures-- > 0 ? Promise.reject(new StoreError('allocateEventId', 'database is locked', true)) : store.allocateEventId(),
        insertEvent: (doc: Parameters<Store['insertEvent']>[0]) =>
          insertFailures-- > 0 ? Promise.reject(new StoreError('insertEvent', 'document refused', false)) : store.insertEvent(doc),
      });
    const running = await broker({}, flaky);
    const requests = requester(running);
    await requests.send(eventRequest({ requestData: false }));
    await requests.send(eventRequest({ requestData: false }));
    await within(running.activity.waitFor(accepted), WAIT_MS, 'accepted after retries');
    assert.deepEqual(running.activity.requests().map((a) => a.outcome), ['store-error', 'accepted']);
    assert.equal(await running.metrics.value('makai_acquisition_requests_total', { outcome: 'store-error' }), 1);
    assert.ok(running.logger.records.some((r) => r.msg === 'store unavailable; retrying with back-off'));
  });
});
