import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { asyncScheduler } from 'rxjs';
import * as zmq from 'zeromq';
import { AcquisitionBroker } from '../../src/brokers/acquisition-broker.js';
import { TriggerBroker } from '../../src/brokers/trigger-broker.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { encodeDataMessage } from '../../src/protocol/data-message-codec.js';
import { encodeRequestDataMessage } from '../../src/protocol/request-data-message-codec.js';
import { encodeRequestEventMessage } from '../../src/protocol/request-event-message-codec.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { deadLetterLog } from '../../src/sinks/dead-letter-log.js';
import { DeadLetterStore } from '../../src/sinks/dead-letter-store.js';
import { openStore } from '../../src/stores/open-store.js';
import {
  ActivityRecorder,
  Requester,
  ScriptedBox,
  createAcquisitionFixture,
  sampleData,
  startBroker,
  testSettings,
  type AcquisitionFixture,
} from '../helpers/acquisition-harness.js';
import { eventRequest } from '../helpers/messages.js';
import { curveClientOptions, nextEvent, sendUntil, within } from '../helpers/zmq.js';

// Issue 14 findings 1, 5 and 6 at the brokers, with real sockets on loopback: a flood of event
// requests from one client, box ids that name no box, handshakes that fail before ZAP sees a
// key, a world-readable secret certificate, and messages a slow backend subscriber cannot take.

const WAIT_MS = 120_000;
const FLOOD_SOCKETS = 4;
/** Per socket: half identical (merged), half with windows of their own (refused by the bounds). */
const FLOOD_PER_SOCKET = 4000;
/** Requests without data (each would be an event row) from a second flooding requester. */
const NO_DATA_FLOOD = 4000;
const BASE_MS = 1_700_000_000_000;

describe('faults: admission control and counted losses at the brokers', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function fixture(): Promise<AcquisitionFixture> {
    const f = await createAcquisitionFixture();
    cleanups.push(() => f.remove());
    return f;
  }

  it('should keep a flood of event requests to the limits, serve a legitimate request within 1 s, and count and keep every refusal', async (t) => {
    const f = await fixture();
    const store = await openStore(f.storeUri);
    cleanups.push(() => store.close());
    const metrics = new Metrics();
    const logger = new RecordingLogger();
    const deadLetters = new DeadLetterStore({ store, capacity: 50_000, logger, metrics });
    const rejected = deadLetterLog({ logger, metrics, scheduler: asyncScheduler, keep: deadLetters.keep });
    // Defaults for the limits (16 outstanding READs per requester, 5/s burst 20); READs that no
    // box answers stay outstanding for the whole test.
    const broker = new AcquisitionBroker(testSettings(f, { read_timeout: 600_000 }), { logger, metrics, store, rejected });
    await broker.start();
    const activity = new ActivityRecorder(broker);
    cleanups.push(async () => {
      await broker.close();
      activity.stop();
      await deadLetters.close();
    });

    const flooders = Array.from({ length: FLOOD_SOCKETS }, () => new Requester(broker.endpoints.backend_pull));
    const noData = new Requester(broker.endpoints.backend_pull);
    const legit = new Requester(broker.endpoints.backend_pull);
    cleanups.push(() => [...flooders, noData, legit].forEach((r) => r.close()));
    const identical = encodeRequestEventMessage(eventRequest({ requestee: 'flood' }));
    const startedAt = Date.now();
    const flood = Promise.all([
      ...flooders.map(async (r, s) => {
        for (let i = 0; i < FLOOD_PER_SOCKET; i++) {
          const own = BASE_MS + 3_600_000 + (s * FLOOD_PER_SOCKET + i) * 10_000;
          await r.sendRaw([i % 2 === 0 ? identical : encodeRequestEventMessage(eventRequest({ requestee: 'flood', startTimestampMsUtc: own, endTimestampMsUtc: own + 2000 }))]);
        }
      }),
      (async () => {
        for (let i = 0; i < NO_DATA_FLOOD; i++) {
          const at = BASE_MS + 86_400_000 + i * 10;
          await noData.send(eventRequest({ requestee: 'flood-no-data', requestData: false, startTimestampMsUtc: at, endTimestampMsUtc: at + 1 }));
        }
      })(),
    ]);

    // Mid-flood, once the broker has a backlog: the triggering service asks for an event.
    await within(activity.waitFor(() => activity.seen.length >= 2000), WAIT_MS, 'flood under way');
    const sentAt = Date.now();
    await legit.send(eventRequest({ requestee: 'makai', description: 'the real one', startTimestampMsUtc: BASE_MS - 60_000, endTimestampMsUtc: BASE_MS - 58_000 }));
    const real = await within(
      activity.waitFor((a) => a.kind === 'request' && a.outcome === 'accepted' && a.requestee === 'makai'),
      WAIT_MS,
      'the legitimate request accepted',
    );
    const latencyMs = Date.now() - sentAt;
    await flood;
    const total = FLOOD_SOCKETS * FLOOD_PER_SOCKET + NO_DATA_FLOOD + 1;
    await within(activity.waitFor(() => activity.requests().length === total), WAIT_MS, 'every request handled');
    const elapsedS = Math.ceil((Date.now() - startedAt) / 1000);

    const outcomesSeen = countBy(activity.requests().map((a) => a.outcome));
    t.diagnostic(`flood: ${total} requests handled in ${Date.now() - startedAt} ms; legitimate request accepted after ${latencyMs} ms; ${JSON.stringify([...outcomesSeen])}`);
    assert.ok(latencyMs < 1000, `legitimate request accepted after ${latencyMs} ms`);
    assert.ok(real.kind === 'request' && real.eventId !== undefined);

    const outcomes = countBy(activity.requests().map((a) => a.outcome));
    const events = await store.listEvents({ limit: 100_000 });
    const floodEvents = events.filter((e) => e.description === 'a test event');
    // Data requests: the first identical one and 15 of its own window, then the requester's
    // 16 outstanding READs are taken and nothing more gets through (no box answers).
    const withData = floodEvents.filter((e) => e.target_event_end_timestamp_ms - e.target_event_start_timestamp_ms === 2000);
    assert.equal(withData.length, 16, 'data requests stop at max_outstanding_reads_per_requester');
    // Requests without data: the burst, then 5 per second at most.
    const noDataEvents = floodEvents.length - withData.length;
    assert.ok(noDataEvents >= 20 && noDataEvents <= 20 + 5 * elapsedS, `${noDataEvents} events without data in ${elapsedS} s`);
    assert.equal(events.length, 16 + noDataEvents + 1, 'and the legitimate one');
    assert.equal(outcomes.get('accepted'), events.length);
    assert.equal(outcomes.get('merged'), (FLOOD_SOCKETS * FLOOD_PER_SOCKET) / 2 - 1, 'every identical request but the first merged');
    assert.equal(outcomes.get('too-many-outstanding'), (FLOOD_SOCKETS * FLOOD_PER_SOCKET) / 2 - 15);
    assert.equal(outcomes.get('rate-limited'), NO_DATA_FLOOD - noDataEvents);
    assert.equal(await metrics.value('makai_acquisition_outstanding_reads'), 17);

    // Every merge and refusal counted by reason, in /metrics and in the dead letters.
    for (const reason of ['merged', 'too-many-outstanding', 'rate-limited'] as const) {
      const n = outcomes.get(reason)!;
      assert.equal(await metrics.value('makai_acquisition_admission_total', { reason }), n, reason);
      assert.equal(await metrics.value('makai_rejected_total', { source: 'acquisition-broker.backend_pull', reason }), n, reason);
    }
    await deadLetters.close();
    const letters = countBy((await store.listDeadLetters({ limit: 50_000 })).map((d) => d.reason));
    for (const reason of ['merged', 'too-many-outstanding', 'rate-limited'] as const) assert.equal(letters.get(reason), outcomes.get(reason), `dead letters ${reason}`);
    assert.ok(logger.records.filter((r) => r.msg === 'refused input').length <= 30, 'refusals logged at a bounded rate');
  });

  it('should refuse box ids that name no box (PONG, box reply, event request) with a reason, and create no rows', async () => {
    const f = await fixture();
    const running = await startBroker(f);
    cleanups.push(() => running.stop());
    const { endpoints } = running.broker;
    // An allowed key, claiming box 4294967291 (−5 as uint32) in its PONG and −5 in its data.
    const box = new ScriptedBox(4_294_967_291, f.boxKeys, f.server.publicKey, endpoints, { answerPings: true });
    cleanups.push(() => box.close());
    await within(running.activity.waitFor((a) => a.kind === 'pong'), 30_000, 'a PONG');
    const requests = new Requester(endpoints.backend_pull);
    cleanups.push(() => requests.close());
    await requests.send(eventRequest({ boxIds: [1003, -5], requestee: 'negative' }));
    await requests.send(eventRequest({ requestData: true, requestee: 'valid' }));
    const accepted = await within(running.activity.waitFor((a) => a.kind === 'request' && a.outcome === 'accepted'), 30_000, 'the valid request');
    const read = await within(box.waitFor((r) => r.type === 'READ'), 30_000, 'READ');
    await box.sendFrames([
      encodeRequestDataMessage({ type: 'RESP', sequenceNumber: read.sequenceNumber, boxId: 4_294_967_291, time: 1 }),
      ...sampleData(-5, 1).map(encodeDataMessage),
    ]);
    await within(running.activity.waitFor((a) => a.kind === 'reply'), 30_000, 'the reply');

    const requestOutcomes = running.activity.requests().map((a) => a.outcome);
    assert.deepEqual(requestOutcomes, ['invalid-box-id', 'accepted']);
    const pong = running.activity.seen.find((a) => a.kind === 'pong')!;
    assert.equal(pong.kind === 'pong' && pong.outcome, 'invalid-box-id');
    const reply = running.activity.seen.find((a) => a.kind === 'reply')!;
    assert.equal(reply.kind === 'reply' && reply.outcome, 'invalid-box-id');
    assert.match((reply.kind === 'reply' && reply.detail) || '', /box id 4294967291 is not a whole number from 0 to 2147483647/);

    assert.deepEqual(await running.store.listBoxStatus(), [], 'no box_status row');
    assert.equal((await running.store.listEvents()).length, 1, 'no event for box −5');
    assert.equal(accepted.kind === 'request' && (await running.store.listBoxEvents(accepted.eventId!)).length, 0, 'no box_events row');
    assert.ok((await running.metrics.value('makai_acquisition_pongs_total', { outcome: 'invalid-box-id' })) >= 1);
    assert.equal(await running.metrics.value('makai_acquisition_requests_total', { outcome: 'invalid-box-id' }), 1);
    assert.equal(await running.metrics.value('makai_acquisition_replies_total', { outcome: 'invalid-box-id' }), 1);
    assert.ok((await running.metrics.value('makai_rejected_total', { source: 'acquisition-broker.box_pull', reason: 'out-of-range' })) >= 2);
  });

  it('should count failed handshakes by kind: plaintext, wrong server key, unknown key', async () => {
    const f = await fixture();
    const running = await startBroker(f, { count_handshake_failures: true });
    cleanups.push(() => running.stop());
    const clients = {
      'refused-key': new zmq.Push({ ...curveClientOptions(generateCurveKeyPair(), f.server.publicKey), zapDomain: 'global' }),
      'wrong-server-key': new zmq.Push({ ...curveClientOptions(f.boxKeys, generateCurveKeyPair().publicKey), zapDomain: 'global' }),
    };
    cleanups.push(() => Object.values(clients).forEach((c) => c.close()));
    for (const client of Object.values(clients)) client.connect(running.broker.endpoints.box_pull);
    cleanups.push(await plaintextPeer(running.broker.endpoints.box_pull));
    await within(
      waitForMetric(running.metrics, () =>
        Promise.all([...Object.keys(clients), 'plaintext'].map((kind) => running.metrics.value('makai_handshake_failures_total', { socket: 'box_pull', kind }))),
      ),
      30_000,
      'every kind counted',
    );
    assert.ok(running.logger.records.some((r) => r.msg === 'handshake failed' && r['kind'] === 'plaintext'));
  });

  it('should warn about and flag a secret certificate readable by others, and count handshake failures at the trigger broker', async () => {
    const f = await fixture();
    await chmod(f.serverCertFile, 0o666);
    const running = await startBroker(f);
    cleanups.push(() => running.stop());
    assert.equal(await running.metrics.value('makai_secret_certificate_exposed'), 1);
    assert.ok(running.logger.records.some((r) => r.level === 'warn' && /SECRET CERTIFICATE EXPOSED.*0666/.test(r.msg)));

    const metrics = new Metrics();
    const logger = new RecordingLogger();
    const trigger = new TriggerBroker(
      {
        client_certs: f.clientCerts,
        server_cert: f.serverCertFile,
        interface: 'tcp://127.0.0.1:*',
        backend: 'tcp://127.0.0.1:*',
        white_list: true,
        key_refresh: 600_000,
        count_handshake_failures: true,
      },
      { logger, metrics },
    );
    await trigger.start();
    cleanups.push(() => trigger.close());
    cleanups.push(await plaintextPeer(trigger.endpoints.interface));
    await within(waitForMetric(metrics, async () => [await metrics.value('makai_handshake_failures_total', { socket: 'interface', kind: 'plaintext' })]), 30_000, 'plaintext counted');
    assert.equal(await metrics.value('makai_secret_certificate_exposed'), 1);
  });

  it('should count, not silently drop, what a slow backend subscriber cannot take', async () => {
    const f = await fixture();
    const metrics = new Metrics();
    const trigger = new TriggerBroker(
      { client_certs: f.clientCerts, server_cert: f.serverCertFile, interface: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*', white_list: true, key_refresh: 600_000 },
      { logger: new RecordingLogger(), metrics },
    );
    await trigger.start();
    cleanups.push(() => trigger.close());
    // A subscriber that never reads, with a tiny queue.
    const slow = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 1 });
    cleanups.push(() => slow.close());
    slow.connect(trigger.endpoints.backend);
    slow.subscribe();
    await within(waitForMetric(metrics, async () => [await metrics.value('makai_trigger_broker_subscriptions_total')]), 30_000, 'subscribed');
    const box = new zmq.Publisher({ ...curveClientOptions(f.boxKeys, f.server.publicKey), zapDomain: 'global', sendHighWaterMark: 0 });
    cleanups.push(() => box.close());
    const handshake = nextEvent(box, 'handshake');
    box.connect(trigger.endpoints.interface);
    await within(handshake, 30_000, 'box handshake');
    const payload = new Uint8Array(4096).fill(7);
    const received = () => metrics.value('makai_trigger_broker_messages_total', { direction: 'in' });
    const handed = async () =>
      (await metrics.value('makai_trigger_broker_messages_total', { direction: 'out' })) + (await metrics.value('makai_trigger_broker_dropped_total', { reason: 'backend-hwm' }));
    // The box's PUB sends nothing until the forwarded subscription reaches it.
    await within(sendUntil(() => box.send(['1003', payload]), waitForMetric(metrics, async () => [await received()])), 30_000, 'first message through');
    const before = await received();
    const sent = 20_000;
    for (let i = 0; i < sent; i++) await box.send(['1003', payload]);
    await within(waitForMetric(metrics, async () => [(await received()) >= before + sent ? 1 : 0, (await handed()) === (await received()) ? 1 : 0]), WAIT_MS, 'all forwarded or dropped');
    const inCount = await received();
    const out = await metrics.value('makai_trigger_broker_messages_total', { direction: 'out' });
    const dropped = await metrics.value('makai_trigger_broker_dropped_total', { reason: 'backend-hwm' });
    assert.ok(dropped > 0, `a subscriber that never reads loses messages (in ${inCount}, out ${out})`);
    assert.equal(out + dropped, inCount, 'every message is either handed on or counted as dropped');
  });
});


/**
 * A plaintext ZeroMQ peer that greets with the NULL mechanism (ZMTP 3.0, RFC 23) and then
 * waits, so the server is the one that finds the mismatch. A libzmq NULL client finds it too
 * and hangs up, and whichever side is first decides what the server sees (a mismatch, or a
 * broken pipe); a real plaintext client does either. Returns its cleanup.
 */
async function plaintextPeer(endpoint: string): Promise<() => void> {
  const { hostname, port } = new URL(endpoint.replace('tcp://', 'http://'));
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(Number(port), hostname, () => resolve(s));
    s.on('error', reject);
  });
  socket.on('error', () => undefined);
  const greeting = Buffer.alloc(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3; // version 3.0
  greeting.write('NULL', 12, 'ascii'); // mechanism, zero-padded to 20 bytes; as-server 0; filler
  socket.write(greeting);
  return () => void socket.destroy();
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/** Resolves once every value `read` returns is positive (polled; the outer `within` bounds it). */
async function waitForMetric(_metrics: Metrics, read: () => Promise<number[]>): Promise<void> {
  while (!(await read()).every((v) => v > 0)) await new Promise((r) => setTimeout(r, 20));
}
