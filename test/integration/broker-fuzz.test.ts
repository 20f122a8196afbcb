import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import type { AcquisitionActivity } from '../../src/brokers/acquisition-broker.js';
import { TriggerBroker } from '../../src/brokers/trigger-broker.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { encodeRequestDataMessage } from '../../src/protocol/request-data-message-codec.js';
import { encodeRequestEventMessage } from '../../src/protocol/request-event-message-codec.js';
import { encodeTriggerMessage } from '../../src/protocol/trigger-message-codec.js';
import { formatCertificate, writeCertificatePair } from '../../src/security/curve-certificate.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import {
  Requester,
  ScriptedBox,
  createAcquisitionFixture,
  expectedWaveform,
  sampleData,
  startBroker,
} from '../helpers/acquisition-harness.js';
import { eventRequest } from '../helpers/messages.js';
import { createTempDir } from '../helpers/temp-dir.js';
import { curveClientOptions, sendUntil, within } from '../helpers/zmq.js';

const WAIT_MS = 10_000;

/** Seeded bytes, so every run sends the same garbage. */
function garbage(seed: number, length: number): Uint8Array {
  let state = seed;
  return Uint8Array.from({ length }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state >>> 16;
  });
}

/** The fuzz messages of the brief: random bytes, truncated protobuf, an empty frame, 100 frames. */
function fuzzMessages(validProto: Uint8Array): Uint8Array[][] {
  return [
    [garbage(1, 37)],
    [garbage(2, 1)],
    [validProto.subarray(0, Math.max(1, validProto.length - 1))], // cut inside the last field
    [new Uint8Array()],
    Array.from({ length: 100 }, (_, i) => garbage(100 + i, 1 + (i % 17))),
  ];
}

/**
 * Writes bytes that are no ZMTP 3 greeting on raw TCP connections and closes them once written:
 * one starting like a signature (0xFF) but wrong, one random. On a plain socket libzmq reads a
 * greeting without 0xFF as ZMTP 1.0 and may hand the garbage to the broker as messages, at a
 * moment no test can observe, so counters are asserted before this step and valid traffic after.
 */
async function rawTcpGarbage(endpoint: string): Promise<void> {
  const { hostname, port } = new URL(endpoint.replace(/^tcp:/, 'http:'));
  const badSignature = Buffer.concat([Buffer.from([0xff]), Buffer.from(garbage(8, 63))]);
  for (const bytes of [badSignature, Buffer.from(garbage(7, 300))]) {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(bytes, () => {
          socket.destroy();
          resolve();
        });
      });
      socket.on('error', reject);
    });
  }
}

const text = (frame: Uint8Array | undefined): string => (frame ? Buffer.from(frame).toString('latin1') : '');

describe('broker fuzzing', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('should keep the triggering broker forwarding after garbage on both sockets and raw TCP', async () => {
    const dir = await createTempDir('makai-fuzz-trigger-');
    cleanups.push(() => dir.remove());
    const server = generateCurveKeyPair();
    const box = generateCurveKeyPair();
    const { secretFile } = await writeCertificatePair(dir.path, 'opqserver', server);
    await mkdir(dir.file('clients'));
    await writeFile(dir.file('clients', 'box.key'), formatCertificate('box', { publicKey: box.publicKey }));
    const metrics = new Metrics();
    const broker = new TriggerBroker(
      { client_certs: dir.file('clients'), server_cert: secretFile, interface: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*', white_list: true, key_refresh: 600_000 },
      { logger: new RecordingLogger(), metrics },
    );
    await broker.start();
    cleanups.push(() => broker.close());

    const publisher = new zmq.Publisher({ ...curveClientOptions(box, server.publicKey), zapDomain: 'global' });
    const backend = new zmq.XSubscriber({ linger: 0 });
    cleanups.push(() => publisher.close(), () => backend.close());
    publisher.connect(broker.endpoints.interface);
    backend.connect(broker.endpoints.backend);
    const received: Uint8Array[][] = [];
    const waiting = new Map<string, () => void>();
    void (async () => {
      for await (const frames of backend) {
        received.push(frames);
        waiting.get(text(frames[0]))?.();
      }
    })().catch(() => undefined);
    const arrival = (topic: string) => new Promise<void>((resolve) => waiting.set(topic, resolve));

    // Flow established first, so nothing below is dropped for want of a subscription.
    await backend.send(new Uint8Array([1]));
    const started = arrival('start');
    await within(sendUntil(() => publisher.send(['start', 'x']), started), WAIT_MS, 'flow established');

    const trigger = encodeTriggerMessage({ id: 1003, time: 1_700_000_000_000, frequency: 60, rms: 120, thd: 0.01 });
    const boxFuzz = fuzzMessages(trigger);
    for (const message of boxFuzz) await publisher.send(message);
    // Backend garbage: not subscriptions (first byte 2+), several frames, an empty frame.
    const backendFuzz = [[new Uint8Array([2, 3, 4])], [garbage(3, 50)], [new Uint8Array()], Array.from({ length: 100 }, (_, i) => garbage(200 + i, 3))];
    for (const message of backendFuzz) await backend.send(message);
    const done = arrival('end');
    await publisher.send(['end', trigger]);
    await within(done, WAIT_MS, 'valid message after the garbage');

    // The box side is a pure pass-through: every garbage message arrived unchanged, in order.
    const afterStart = received.slice(received.findIndex((f) => text(f[0]) === 'start')).filter((f) => text(f[0]) !== 'start');
    assert.deepEqual(afterStart.map((f) => f.map((frame) => Buffer.from(frame))), [...boxFuzz, ['end', trigger]].map((f) => f.map((frame) => Buffer.from(frame))));
    assert.equal(await metrics.value('makai_rejected_total', { source: 'trigger-broker.backend' }), backendFuzz.length);
    const inCount = await metrics.value('makai_trigger_broker_messages_total', { direction: 'in' });
    assert.equal(await metrics.value('makai_trigger_broker_messages_total', { direction: 'out' }), inCount);

    for (const endpoint of [broker.endpoints.interface, broker.endpoints.backend]) await rawTcpGarbage(endpoint);
    const again = arrival('after-raw');
    await within(sendUntil(() => publisher.send(['after-raw', trigger]), again), WAIT_MS, 'valid message after raw TCP garbage');
  });

  it('should keep the acquisition broker serving after garbage on every socket and raw TCP', async () => {
    const fixture = await createAcquisitionFixture();
    cleanups.push(() => fixture.remove());
    const running = await startBroker(fixture, { max_frame_bytes: 64 * 1024 });
    cleanups.push(() => running.stop());
    const { endpoints } = running.broker;
    const box = new ScriptedBox(1003, fixture.boxKeys, fixture.server.publicKey, endpoints, { answerPings: true });
    cleanups.push(() => box.close());
    await within(box.waitFor((r) => r.type === 'PING'), WAIT_MS, 'first PING');

    // Upstream garbage into both PUB sockets (an XSUB may send anything; a PUB must ignore it).
    const boxXsub = new zmq.XSubscriber({ ...curveClientOptions(fixture.boxKeys, fixture.server.publicKey), zapDomain: 'global' });
    const backendXsub = new zmq.XSubscriber({ linger: 0 });
    cleanups.push(() => boxXsub.close(), () => backendXsub.close());
    boxXsub.connect(endpoints.box_pub);
    backendXsub.connect(endpoints.backend_pub);
    for (const message of fuzzMessages(new Uint8Array([1, 2, 3]))) {
      await boxXsub.send(message);
      await backendXsub.send(message);
    }

    // A frame over twice max_frame_bytes: libzmq drops that connection; the broker never sees it
    // (frames between the limit and twice it are refused and counted: test/faults/bad-input-brokers.test.ts).
    const big = new zmq.Push({ ...curveClientOptions(fixture.boxKeys, fixture.server.publicKey), zapDomain: 'global' });
    cleanups.push(() => big.close());
    big.connect(endpoints.box_pull);
    await big.send(garbage(9, 200 * 1024));

    // Requests: garbage, then a valid one from the same PUSH (handled in order).
    const requests = new Requester(endpoints.backend_pull);
    cleanups.push(() => requests.close());
    const requestFuzz = fuzzMessages(encodeRequestEventMessage(eventRequest()));
    for (const message of requestFuzz) await requests.sendRaw(message);
    await requests.send(eventRequest());
    const read = await within(box.waitFor((r) => r.type === 'READ'), WAIT_MS, 'READ after request garbage');

    // Replies: garbage from the box, then the valid reply from the same PUSH.
    const header = encodeRequestDataMessage({ type: 'RESP', sequenceNumber: read.sequenceNumber, boxId: 1003 });
    const replyFuzz: Uint8Array[][] = [
      ...fuzzMessages(header),
      [header], // a RESP with no data frames
      [header, ...Array.from({ length: 100 }, (_, i) => garbage(300 + i, 20))], // 100 garbage data frames
      [encodeRequestDataMessage({ type: 'READ', sequenceNumber: 1 })], // a type a box never sends
      [encodeRequestDataMessage({ type: 'PONG', sequenceNumber: 1 })], // a PONG without boxId
    ];
    for (const message of replyFuzz) await box.sendFrames(message);
    const data = sampleData(1003, 3);
    await box.answer(read, data);
    const stored = (a: AcquisitionActivity) => a.kind === 'reply' && a.outcome === 'stored' && a.eventId === read.sequenceNumber;
    await within(running.activity.waitFor(stored), WAIT_MS, 'valid reply stored');

    assert.deepEqual(Buffer.from((await running.store.getWaveform(`event_${read.sequenceNumber}_1003`))!), expectedWaveform(data));
    const requestOutcomes = running.activity.requests().map((a) => a.outcome);
    assert.deepEqual(requestOutcomes, [...requestFuzz.map(() => 'malformed'), 'accepted']);
    assert.equal(await running.metrics.value('makai_rejected_total', { source: 'acquisition-broker.backend_pull' }), requestFuzz.length);
    const replyOutcomes = running.activity.seen.filter((a) => a.kind === 'reply').map((a) => (a.kind === 'reply' ? a.outcome : ''));
    assert.deepEqual(replyOutcomes, [
      'malformed', // random bytes
      'malformed', // one random byte
      'malformed', // truncated header
      'malformed', // empty frame
      'malformed', // 100 random frames
      'empty-reply',
      'malformed', // RESP + 100 garbage data frames
      'unexpected-type',
      'stored',
    ]);
    // Every refused frame is counted: 8 replies above plus the PONG without boxId.
    assert.equal(await running.metrics.value('makai_rejected_total', { source: 'acquisition-broker.box_pull' }), replyFuzz.length);
    // Raw TCP garbage on every port, then a whole request/reply cycle again.
    for (const endpoint of Object.values(endpoints)) await rawTcpGarbage(endpoint);
    await requests.send(eventRequest());
    const second = await within(box.waitFor((r) => r.type === 'READ' && r.sequenceNumber !== read.sequenceNumber), WAIT_MS, 'READ after raw TCP');
    await box.answer(second, data);
    await within(
      running.activity.waitFor((a) => a.kind === 'reply' && a.outcome === 'stored' && a.eventId === second.sequenceNumber),
      WAIT_MS,
      'reply stored after raw TCP',
    );
    // Still pinging and recording PONGs after all of it.
    const pongs = running.activity.seen.filter((a) => a.kind === 'pong').length;
    await within(running.activity.waitFor((a) => a.kind === 'pong' && running.activity.seen.filter((x) => x.kind === 'pong').length > pongs), WAIT_MS, 'a later PONG');
  });
});
