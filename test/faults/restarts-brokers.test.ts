import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { afterEach, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import { AcquisitionBroker, type AcquisitionActivity } from '../../src/brokers/acquisition-broker.js';
import { TriggerBroker, type TriggerBrokerSettings } from '../../src/brokers/trigger-broker.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { formatCertificate, writeCertificatePair, type CurveKeyPair } from '../../src/security/curve-certificate.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { openStore } from '../../src/stores/open-store.js';
import type { Store } from '../../src/stores/store.js';
import { ScriptedBox, createAcquisitionFixture, expectedWaveform, sampleData, testSettings, type AcquisitionFixture } from '../helpers/acquisition-harness.js';
import { TriggerFeed, garbage, makaiSettings, recentT0, startServiceUnderTest, triggerFrames, validTrigger, waitUntil } from '../helpers/fault-harness.js';
import { createTempDir } from '../helpers/temp-dir.js';
import { curveClientOptions, sendUntil, within } from '../helpers/zmq.js';

// Killing and restarting a broker mid-stream, on the same endpoints: the triggering service and
// the boxes reconnect on their own and carry on. What was sent while the broker was down may be
// lost (PUB/SUB keeps nothing for an absent peer, as in the original); everything before and
// everything after is stored exactly once, and event numbers stay increasing and unique.

const WAIT_MS = 15_000;

describe('broker restarts', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('should carry on after the triggering broker is restarted: boxes and the service reconnect, nothing before or after is lost', async () => {
    const dir = await createTempDir('makai-faults-trigger-restart-');
    cleanups.push(() => dir.remove());
    const server = generateCurveKeyPair();
    const { secretFile } = await writeCertificatePair(dir.path, 'opqserver', server);
    await mkdir(dir.file('clients'));
    const keys = new Map<number, CurveKeyPair>();
    for (const box of [1, 2]) {
      keys.set(box, generateCurveKeyPair());
      await writeFile(dir.file('clients', `opqbox${box}.key`), formatCertificate(`opqbox${box}`, { publicKey: keys.get(box)!.publicKey }));
    }
    const brokerSettings = (endpoints: { interface: string; backend: string }): TriggerBrokerSettings => ({
      client_certs: dir.file('clients'),
      server_cert: secretFile,
      ...endpoints,
      white_list: true,
      key_refresh: 600_000,
    });
    const startBroker = async (endpoints: { interface: string; backend: string }) => {
      const broker = new TriggerBroker(brokerSettings(endpoints), { logger: new RecordingLogger(), metrics: new Metrics() });
      await broker.start();
      cleanups.push(() => broker.close());
      return broker;
    };
    const first = await startBroker({ interface: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*' });
    const endpoints = first.endpoints;

    const settings = makaiSettings({ zmq_trigger_endpoint: endpoints.backend, measurement_batch_size: 20, measurement_flush: '100ms' });
    const { service, metrics, logger } = await startServiceUnderTest({ settings, storeUri: `sqlite:${dir.file('makai.db')}`, baseDir: dir.path });
    cleanups.push(async () => void (await service.stop()));
    const boxes = new Map<number, zmq.Publisher>();
    for (const [box, pair] of keys) {
      const publisher = new zmq.Publisher({ ...curveClientOptions(pair, server.publicKey), zapDomain: 'global' });
      publisher.connect(endpoints.interface);
      cleanups.push(() => publisher.close());
      boxes.set(box, publisher);
    }
    const send = async (messages: readonly TriggerMessage[]) => {
      for (const message of messages) await boxes.get(message.id)!.send(triggerFrames(message));
    };
    // A box's path to the service is up once a garbage marker from it is refused there: PUB
    // drops until the subscription has made it back through the broker, so repeat until then.
    const pathUp = async (box: number) => {
      const refused = await metrics.value('makai_rejected_total');
      const seen = waitUntil(async () => (await metrics.value('makai_rejected_total')) > refused, `box ${box} reaches the service`, { timeoutMs: WAIT_MS });
      await sendUntil(() => boxes.get(box)!.send([String(box), garbage(box, 3)]), seen);
    };
    const written = () => metrics.value('makai_store_written_total', { collection: 'measurements' });
    const t0 = recentT0();
    const traffic = (from: number, to: number) => [1, 2].flatMap((box) => Array.from({ length: to - from }, (_, i) => validTrigger(box, from + i, t0)));

    for (const box of [1, 2]) await pathUp(box);
    const before = traffic(0, 30);
    await send(before);
    await waitUntil(async () => (await written()) === before.length, 'everything before the restart written');

    await first.close();
    const down = traffic(30, 36);
    await send(down);
    const second = await startBroker(endpoints);
    assert.deepEqual(second.endpoints, endpoints, 'restarted on the same endpoints');
    for (const box of [1, 2]) await pathUp(box);
    const after = traffic(42, 72);
    await send(after);
    await waitUntil(async () => (await written()) >= before.length + after.length, 'everything after the restart written', { timeoutMs: WAIT_MS });
    assert.equal(await service.stop(), true);

    const store = await openStore(`sqlite:${dir.file('makai.db')}`);
    try {
      const key = (box: string | number, time: number) => `${box}@${time}`;
      const stored = (await store.queryMeasurements({})).map((m) => key(m.box_id, m.timestamp_ms));
      assert.equal(new Set(stored).size, stored.length, 'nothing stored twice');
      const storedSet = new Set(stored);
      const missing = [...before, ...after].filter((m) => !storedSet.has(key(m.id, m.time)));
      assert.deepEqual(missing, [], 'everything sent before and after the restart is stored');
      const allowed = new Set([...before, ...down, ...after].map((m) => key(m.id, m.time)));
      assert.ok(stored.every((k) => allowed.has(k)), 'nothing but what was sent');
    } finally {
      await store.close();
    }
    assert.ok((await metrics.value('makai_rejected_total', { reason: 'out-of-range' })) === 0, 'no late trend messages');
    assert.deepEqual(logger.records.filter((r) => r.level === 'error'), [], 'no errors in the triggering service');
  });

  it('should carry on after the acquisition broker is restarted: requests reconnect and event ids stay increasing and unique', async () => {
    const fixture: AcquisitionFixture = await createAcquisitionFixture();
    cleanups.push(() => fixture.remove());
    const startBroker = async (overrides: Partial<ReturnType<typeof testSettings>> = {}) => {
      const store: Store = await openStore(fixture.storeUri);
      const broker = new AcquisitionBroker(testSettings(fixture, { store_retry_limit: 60_000, ...overrides }), {
        logger: new RecordingLogger(),
        metrics: new Metrics(),
        store,
      });
      await broker.start();
      const activity: AcquisitionActivity[] = [];
      const subscription = broker.activity.subscribe((a) => activity.push(a));
      const stop = async () => {
        await broker.close();
        subscription.unsubscribe();
        await store.close();
      };
      cleanups.push(stop);
      return { broker, store, activity, stop };
    };
    const first = await startBroker();
    const endpoints = first.broker.endpoints;
    const box = new ScriptedBox(1003, fixture.boxKeys, fixture.server.publicKey, endpoints, { answerPings: true });
    cleanups.push(() => box.close());
    await within(box.waitFor((r) => r.type === 'PING'), WAIT_MS, 'first PING');

    const feed = await TriggerFeed.bind();
    cleanups.push(() => feed.close());
    const settings = makaiSettings({
      zmq_trigger_endpoint: feed.endpoint,
      zmq_acquisition_endpoint: endpoints.backend_pull,
      measurement_flush: '100ms',
      plugins: [{ plugin: 'threshold' }],
    });
    const { service, metrics, logger } = await startServiceUnderTest({ settings, storeUri: fixture.storeUri, baseDir: fixture.dir.path });
    cleanups.push(async () => void (await service.stop()));
    await feed.whenSubscribed();
    const t0 = recentT0();
    /** 5 s of box 1003 with a 1 s sag at the start of second `s` of box time. */
    const sagAt = async (s: number) => {
      for (let k = 6 * s - 12; k < 6 * s + 18; k++) {
        const sagged = k >= 6 * s && k < 6 * s + 6;
        await feed.send(triggerFrames(validTrigger(1003, k, t0, sagged ? 95 : undefined)));
      }
    };
    const accepted = (activity: AcquisitionActivity[]) => activity.filter((a) => a.kind === 'request' && a.outcome === 'accepted').map((a) => (a as { eventId: number }).eventId);
    const answerNextRead = async (seen: number) => {
      const read = await within(box.waitFor((r) => r.type === 'READ' && box.requests.filter((q) => q.type === 'READ').length > seen), WAIT_MS, 'a READ');
      await box.answer(read, sampleData(1003, 2));
      return read.sequenceNumber;
    };

    // Before: one event, requested by the service, its waveform stored.
    await sagAt(2);
    const eventA = await answerNextRead(0);
    await waitUntil(() => first.activity.some((a) => a.kind === 'reply' && a.outcome === 'stored'), 'first reply stored', { timeoutMs: WAIT_MS });

    // Down: the service detects a sag while the broker is gone; its request waits in its PUSH queue.
    // Only once the PUSH has seen the disconnect: a request written before that goes into the
    // dying connection and is lost (this test's one flaky failure, before it waited).
    const acquisition = { endpoint: endpoints.backend_pull };
    assert.equal(await metrics.value('makai_zmq_connections', acquisition), 1, 'the service is connected to the broker');
    await first.stop();
    await waitUntil(async () => (await metrics.value('makai_zmq_connections', acquisition)) === 0, 'the service sees the broker gone', { timeoutMs: WAIT_MS });
    const sent = await metrics.value('makai_zmq_messages_sent_total');
    await sagAt(7);
    await waitUntil(async () => (await metrics.value('makai_zmq_messages_sent_total')) === sent + 1, 'the request queued while the broker is down', {
      timeoutMs: WAIT_MS,
    });

    // Up again on the same endpoints: the queued request arrives and is numbered after the first.
    const second = await startBroker({
      box_pub: endpoints.box_pub,
      box_pull: endpoints.box_pull,
      backend_pull: endpoints.backend_pull,
      backend_pub: endpoints.backend_pub,
    });
    assert.deepEqual(second.broker.endpoints, endpoints, 'restarted on the same endpoints');
    await waitUntil(() => accepted(second.activity).length === 1, 'the request sent while the broker was down', {
      timeoutMs: WAIT_MS,
      // Refused or merged (then it arrived), or nothing at all (lost on the old connection).
      describe: () => second.activity.filter((a) => a.kind === 'request'),
    });
    // Its READ may go out before the box has re-subscribed to the new broker, and is then lost (a
    // known limit, docs/reliability.md), so the test does not answer it. Once the box sees the
    // new broker's PINGs, the next event's READ reaches it.
    const pings = box.requests.filter((r) => r.type === 'PING').length;
    await within(box.waitFor((r) => r.type === 'PING' && box.requests.filter((q) => q.type === 'PING').length > pings), WAIT_MS, 'a PING from the new broker');
    const reads = box.requests.filter((r) => r.type === 'READ').length;
    await sagAt(12);
    const eventC = await answerNextRead(reads);
    await waitUntil(() => second.activity.some((a) => a.kind === 'reply' && a.outcome === 'stored' && a.eventId === eventC), 'third reply stored', {
      timeoutMs: WAIT_MS,
    });

    const ids = [...accepted(first.activity), ...accepted(second.activity)];
    assert.deepEqual(ids, [eventA, eventA + 1, eventA + 2], 'event ids increase by one across the restart, none reused');
    assert.equal(eventC, eventA + 2);
    const events = (await second.store.listEvents()).reverse();
    assert.deepEqual(events.map((e) => e.event_id), ids);
    assert.deepEqual(events.map((e) => e.boxes_received), [['1003'], [], ['1003']]);
    for (const id of [eventA, eventC]) {
      assert.deepEqual(Buffer.from((await second.store.getWaveform(`event_${id}_1003`))!), expectedWaveform(sampleData(1003, 2)));
    }
    assert.deepEqual(logger.records.filter((r) => r.level === 'error'), [], 'no errors in the triggering service');
  });
});
