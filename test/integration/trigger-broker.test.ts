import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { firstValueFrom, filter } from 'rxjs';
import * as zmq from 'zeromq';
import { TriggerBroker } from '../../src/brokers/trigger-broker.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { formatCertificate, writeCertificatePair, type CurveKeyPair } from '../../src/security/curve-certificate.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { openStore } from '../../src/stores/open-store.js';
import type { Store } from '../../src/stores/store.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { curveClientOptions, nextEvent, sendUntil, within } from '../helpers/zmq.js';

const WAIT_MS = 10_000;

interface Harness {
  readonly dir: TempDir;
  readonly server: CurveKeyPair;
  readonly clientCerts: string;
  readonly store: Store;
  readonly metrics: Metrics;
  readonly logger: RecordingLogger;
  readonly broker: TriggerBroker;
  readonly sockets: zmq.Socket[];
}

async function startHarness(options: { whiteList?: boolean; allowed?: CurveKeyPair[]; keyRefreshMs?: number } = {}): Promise<Harness> {
  const dir = await createTempDir('makai-trigger-broker-');
  const server = generateCurveKeyPair();
  const { secretFile } = await writeCertificatePair(dir.path, 'opqserver', server);
  const clientCerts = dir.file('client_certs');
  await mkdir(clientCerts);
  for (const [i, keys] of (options.allowed ?? []).entries()) await addCertificate(clientCerts, `opqbox${i}`, keys);
  const store = await openStore(`sqlite:${dir.file('opq.db')}`);
  const metrics = new Metrics();
  const logger = new RecordingLogger();
  const broker = new TriggerBroker(
    {
      client_certs: clientCerts,
      server_cert: secretFile,
      interface: 'tcp://127.0.0.1:*',
      backend: 'tcp://127.0.0.1:*',
      white_list: options.whiteList ?? true,
      key_refresh: options.keyRefreshMs ?? 250,
    },
    { logger, metrics, store },
  );
  await broker.start();
  return { dir, server, clientCerts, store, metrics, logger, broker, sockets: [] };
}

async function stopHarness(h: Harness): Promise<void> {
  for (const socket of h.sockets) socket.close();
  await h.broker.close();
  await h.store.close();
  await h.dir.remove();
}

async function addCertificate(dir: string, name: string, keys: CurveKeyPair): Promise<void> {
  await writeFile(`${dir}/${name}.key`, formatCertificate(name, { publicKey: keys.publicKey }));
}

/** A box: a CURVE client PUB connected to the broker's interface. */
function boxPublisher(h: Harness, keys: CurveKeyPair, serverPublicKey = h.server.publicKey): zmq.Publisher {
  const socket = new zmq.Publisher({ ...curveClientOptions(keys, serverPublicKey), zapDomain: 'global' });
  h.sockets.push(socket);
  return socket;
}

/** A backend subscriber collecting raw frames. */
function backendSubscriber(h: Harness, ...topics: string[]): { socket: zmq.Subscriber; received: Uint8Array[][]; next: (match: (f: Uint8Array[]) => boolean) => Promise<Uint8Array[]> } {
  const socket = new zmq.Subscriber({ linger: 0 });
  h.sockets.push(socket);
  socket.connect(h.broker.endpoints.backend);
  socket.subscribe(...topics);
  const received: Uint8Array[][] = [];
  let waiters: { match: (f: Uint8Array[]) => boolean; resolve: (f: Uint8Array[]) => void }[] = [];
  void (async () => {
    try {
      for await (const frames of socket) {
        received.push(frames);
        waiters = waiters.filter((w) => (w.match(frames) ? (w.resolve(frames), false) : true));
      }
    } catch {
      // closed
    }
  })();
  return {
    socket,
    received,
    next: (match) => {
      const seen = received.find(match);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

const text = (frame: Uint8Array | undefined): string => (frame ? Buffer.from(frame).toString('utf8') : '');
const topicIs = (topic: string) => (frames: Uint8Array[]) => text(frames[0]) === topic;

/** Resolves with the outcome of the socket's first handshake: `handshake` or a `handshake:error:*`. */
function handshakeOutcome(socket: zmq.Socket): Promise<zmq.EventType> {
  return nextEvent(socket, 'handshake', 'handshake:error:auth', 'handshake:error:protocol', 'handshake:error:other').then((e) => e.type);
}

describe('TriggerBroker', () => {
  const boxA = generateCurveKeyPair();
  const boxB = generateCurveKeyPair();
  let h: Harness;

  afterEach(async () => {
    if (h) await stopHarness(h);
  });

  it('should forward an allowed box message to a backend SUB with the exact frames and count it', async () => {
    h = await startHarness({ allowed: [boxA] });
    const sub = backendSubscriber(h, '');
    const box = boxPublisher(h, boxA);
    box.connect(h.broker.endpoints.interface);
    // A TriggerMessage-like binary payload with bytes that text handling would mangle.
    const payload = new Uint8Array([0x08, 0xe8, 0x07, 0x00, 0xff, 0x80, 0x7f, 0x0a]);
    const got = sub.next(topicIs('1000'));
    await within(sendUntil(() => box.send(['1000', payload]), got), WAIT_MS, 'message through the broker');
    const frames = await got;
    assert.equal(frames.length, 2);
    assert.deepEqual(Buffer.from(frames[0]!), Buffer.from('1000'));
    assert.deepEqual(Buffer.from(frames[1]!), Buffer.from(payload));
    assert.ok((await h.metrics.value('makai_trigger_broker_messages_total', { direction: 'in' })) >= 1);
    assert.ok((await h.metrics.value('makai_trigger_broker_messages_total', { direction: 'out' })) >= 1);
    assert.ok((await h.metrics.value('makai_trigger_broker_subscriptions_total', { kind: 'subscribe' })) >= 1);
  });

  it('should refuse an unknown key, a plaintext client and a wrong server key, and let only the allowed box through', async () => {
    h = await startHarness({ allowed: [boxA] });
    const sub = backendSubscriber(h, '');
    const stranger = boxPublisher(h, generateCurveKeyPair());
    const plaintext = new zmq.Publisher({ linger: 0 });
    h.sockets.push(plaintext);
    const wrongServer = boxPublisher(h, boxA, generateCurveKeyPair().publicKey);
    const outcomes = Promise.all([handshakeOutcome(stranger), handshakeOutcome(plaintext), handshakeOutcome(wrongServer)]);
    for (const socket of [stranger, plaintext, wrongServer]) socket.connect(h.broker.endpoints.interface);
    const [strangerOutcome, plaintextOutcome, wrongServerOutcome] = await within(outcomes, WAIT_MS, 'handshake outcomes');
    assert.equal(strangerOutcome, 'handshake:error:auth');
    assert.match(plaintextOutcome, /^handshake:error:/);
    assert.match(wrongServerOutcome, /^handshake:error:/);

    // The refused clients keep publishing while the allowed box gets a message through.
    const box = boxPublisher(h, boxA);
    box.connect(h.broker.endpoints.interface);
    const got = sub.next(topicIs('good'));
    await within(
      sendUntil(async () => {
        await stranger.send(['bad-stranger', 'x']);
        await plaintext.send(['bad-plaintext', 'x']);
        await wrongServer.send(['bad-wrong-server', 'x']);
        await box.send(['good', 'x']);
      }, got),
      WAIT_MS,
      'allowed message',
    );
    assert.deepEqual([...new Set(sub.received.map((f) => text(f[0])))], ['good']);
    assert.ok((await h.metrics.value('makai_zap_rejections_total', { reason: 'unknown-key' })) >= 1);
    const logged = h.logger.records.find((r) => r.msg === 'ZAP refused a client' && r['publicKey'] !== undefined);
    assert.ok(logged, 'a rejection is logged with the client key');
  });

  it('should accept a certificate dropped into client_certs while running', async () => {
    h = await startHarness({ allowed: [boxA] });
    const sub = backendSubscriber(h, '');
    const early = boxPublisher(h, boxB);
    const refused = handshakeOutcome(early);
    early.connect(h.broker.endpoints.interface);
    assert.equal(await within(refused, WAIT_MS, 'first handshake'), 'handshake:error:auth');

    const accepted = firstValueFrom(h.broker.allowList.changes.pipe(filter((keys) => keys.has(boxB.publicKey))));
    await addCertificate(h.clientCerts, 'opqbox-new', boxB);
    await within(accepted, WAIT_MS, 'new certificate in the allow-list');
    // A refused libzmq client never retries by itself; the box's next connection gets in.
    const box = boxPublisher(h, boxB);
    const handshake = handshakeOutcome(box);
    box.connect(h.broker.endpoints.interface);
    assert.equal(await within(handshake, WAIT_MS, 'second handshake'), 'handshake');
    const got = sub.next(topicIs('2002'));
    await within(sendUntil(() => box.send(['2002', 'hello']), got), WAIT_MS, 'message from the new box');
  });

  it('should accept a box added to the store registry while running, on its first connection', async () => {
    // No periodic rescan during the test: the unknown key itself triggers the re-read.
    h = await startHarness({ allowed: [], keyRefreshMs: 600_000 });
    const sub = backendSubscriber(h, '');
    await h.store.upsertBox({ box_id: '2001', location: 'lab', public_key: boxB.publicKey });
    assert.equal(h.broker.allowList.keys().has(boxB.publicKey), false);
    const box = boxPublisher(h, boxB);
    const handshake = handshakeOutcome(box);
    box.connect(h.broker.endpoints.interface);
    assert.equal(await within(handshake, WAIT_MS, 'handshake'), 'handshake');
    assert.equal(h.broker.allowList.keys().has(boxB.publicKey), true);
    const got = sub.next(topicIs('2001'));
    await within(sendUntil(() => box.send(['2001', 'hello']), got), WAIT_MS, 'message from the registered box');
  });

  it('should propagate prefix subscriptions to the boxes', async () => {
    h = await startHarness({ allowed: [boxA] });
    const sub = backendSubscriber(h, '1');
    const box = boxPublisher(h, boxA);
    box.connect(h.broker.endpoints.interface);
    const got = sub.next(topicIs('1000'));
    // One socket, one path: ZeroMQ keeps order, so a "2001" let through would arrive before the "1000" after it.
    await within(
      sendUntil(async () => {
        await box.send(['2001', 'a']);
        await box.send(['1003', 'b']);
        await box.send(['1000', 'c']);
      }, got),
      WAIT_MS,
      'prefix-matched message',
    );
    const topics = new Set(sub.received.map((f) => text(f[0])));
    assert.equal(topics.has('2001'), false);
    assert.ok(topics.has('1000'));
    assert.ok(topics.has('1003'), '"1" is a prefix of "1003" too');
  });

  it('should let any key in with white_list false and warn about it at start', async () => {
    h = await startHarness({ whiteList: false, allowed: [] });
    assert.ok(h.logger.records.some((r) => r.level === 'warn' && /WHITELISTING DISABLED/.test(r.msg)));
    const sub = backendSubscriber(h, '');
    const box = boxPublisher(h, generateCurveKeyPair());
    box.connect(h.broker.endpoints.interface);
    const got = sub.next(topicIs('7'));
    await within(sendUntil(() => box.send(['7', 'x']), got), WAIT_MS, 'message from any key');
  });
});
