import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as zmq from 'zeromq';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import type { CurveKeyPair } from '../../src/security/curve-certificate.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { ZapAuthenticator } from '../../src/security/zap-authenticator.js';
import { zmqSubscriber } from '../../src/sources/zmq-subscriber.js';
import { curveClientOptions, Inbox, nextEvent, sendUntil, within } from '../helpers/zmq.js';

const LIMIT = 10_000;

/** Any sign that a client's connection did not get through the handshake. */
const FAILED: zmq.EventType[] = ['handshake:error:auth', 'handshake:error:protocol', 'handshake:error:other', 'disconnect'];

interface Fixture {
  readonly server: CurveKeyPair;
  readonly endpoint: string;
  readonly inbox: Inbox;
  readonly allowed: Set<string>;
  readonly metrics: Metrics;
  readonly logger: RecordingLogger;
  readonly zap: ZapAuthenticator;
  /** A client socket, closed after the test. */
  client(options: ConstructorParameters<typeof zmq.Publisher>[0]): zmq.Publisher;
}

/**
 * A CURVE-server SUB (the broker side, through zmqSubscriber) behind a running authenticator
 * whose allow-list is a Set the test may change.
 */
async function withCurveServer(test: (f: Fixture) => Promise<void>): Promise<void> {
  const server = generateCurveKeyPair();
  const allowed = new Set<string>();
  const metrics = new Metrics();
  const logger = new RecordingLogger();
  const zap = new ZapAuthenticator({ isAllowed: (key) => allowed.has(key), logger, metrics });
  await zap.start();
  const inbox = new Inbox();
  let ready!: (endpoint: string) => void;
  const bound = new Promise<string>((resolve) => (ready = resolve));
  const subscription = zmqSubscriber({
    endpoint: 'tcp://127.0.0.1:*',
    bind: true,
    curve: { role: 'server', secretKey: server.secretKey },
    zapDomain: 'global',
    onReady: ready,
  }).subscribe(inbox.push);
  const clients: zmq.Publisher[] = [];
  try {
    const endpoint = await within(bound, LIMIT, 'server bound');
    await test({
      server,
      endpoint,
      inbox,
      allowed,
      metrics,
      logger,
      zap,
      client(options) {
        const socket = new zmq.Publisher({ linger: 0, ...options });
        clients.push(socket);
        return socket;
      },
    });
    // No secret key ever reaches a log record.
    const logged = JSON.stringify(logger.records);
    assert.ok(!logged.includes(server.secretKey));
  } finally {
    // Handler first: see ZapAuthenticator on libzmq's shutdown race.
    await zap.close();
    for (const socket of clients) socket.close();
    subscription.unsubscribe();
  }
}

/** An allowed client that has completed its handshake. */
async function allowedClient(f: Fixture): Promise<zmq.Publisher> {
  const keys = generateCurveKeyPair();
  f.allowed.add(keys.publicKey);
  const socket = f.client(curveClientOptions(keys, f.server.publicKey));
  const handshake = nextEvent(socket, 'handshake', ...FAILED);
  socket.connect(f.endpoint);
  assert.equal((await within(handshake, LIMIT, 'allowed handshake')).type, 'handshake');
  return socket;
}

/**
 * The deterministic check that `bad` got nothing through: it has already failed its handshake;
 * it sends, and only then an allowed client sends a control message. Once the control message
 * has arrived, nothing of the bad client's may be in the inbox.
 */
async function assertNothingThrough(f: Fixture, bad: zmq.Publisher, label: string): Promise<void> {
  await bad.send(['bad', label]);
  const control = await allowedClient(f);
  await within(sendUntil(() => control.send(['control', label]), f.inbox.waitFor((m) => m[1] === label)), LIMIT, `control ${label}`);
  assert.deepEqual(
    f.inbox.messages.filter((m) => m[0] === 'bad'),
    [],
  );
}

describe('CURVE server sockets behind the ZAP authenticator', () => {
  it('should let a client with an allowed key reach the server', async () => {
    await withCurveServer(async (f) => {
      const client = await allowedClient(f);
      const arrived = f.inbox.waitFor((m) => m[0] === '1003');
      await within(sendUntil(() => client.send(['1003', 'trigger']), arrived), LIMIT, 'message');
      assert.deepEqual(await arrived, ['1003', 'trigger']);
      assert.ok((await f.metrics.value('makai_zap_acceptances_total')) >= 1);
    });
  });

  it('should refuse a client whose key is not allowed, and log and count it', async () => {
    await withCurveServer(async (f) => {
      const stranger = generateCurveKeyPair();
      const bad = f.client(curveClientOptions(stranger, f.server.publicKey));
      const outcome = nextEvent(bad, 'handshake', ...FAILED);
      bad.connect(f.endpoint);
      const event = await within(outcome, LIMIT, 'handshake outcome');
      assert.equal(event.type, 'handshake:error:auth');
      assert.equal((event as { error: { status?: number } }).error.status, 400);
      await assertNothingThrough(f, bad, 'unknown key');

      assert.equal(await f.metrics.value('makai_zap_rejections_total', { reason: 'unknown-key' }), 1);
      const record = f.logger.records.find((r) => r.msg === 'ZAP refused a client');
      assert.equal(record?.['publicKey'], stranger.publicKey);
      assert.equal(record?.['address'], '127.0.0.1');
      assert.ok(!JSON.stringify(f.logger.records).includes(stranger.secretKey));
    });
  });

  it('should give a plaintext client nothing', async () => {
    await withCurveServer(async (f) => {
      const bad = f.client({});
      const outcome = nextEvent(bad, 'handshake', ...FAILED);
      bad.connect(f.endpoint);
      const event = await within(outcome, LIMIT, 'handshake outcome');
      assert.notEqual(event.type, 'handshake');
      await assertNothingThrough(f, bad, 'plaintext');
    });
  });

  it('should give a client that uses the wrong server public key nothing', async () => {
    await withCurveServer(async (f) => {
      const keys = generateCurveKeyPair();
      // Its own key is even allowed: only the server key is wrong.
      f.allowed.add(keys.publicKey);
      const bad = f.client(curveClientOptions(keys, generateCurveKeyPair().publicKey));
      const outcome = nextEvent(bad, 'handshake', ...FAILED);
      bad.connect(f.endpoint);
      const event = await within(outcome, LIMIT, 'handshake outcome');
      assert.notEqual(event.type, 'handshake');
      await assertNothingThrough(f, bad, 'wrong server key');
    });
  });

  it('should accept a key added to the allow-list while running', async () => {
    await withCurveServer(async (f) => {
      const keys = generateCurveKeyPair();
      const before = f.client(curveClientOptions(keys, f.server.publicKey));
      const refused = nextEvent(before, 'handshake', ...FAILED);
      before.connect(f.endpoint);
      assert.equal((await within(refused, LIMIT, 'refused')).type, 'handshake:error:auth');

      f.allowed.add(keys.publicKey);
      const after = f.client(curveClientOptions(keys, f.server.publicKey));
      const accepted = nextEvent(after, 'handshake', ...FAILED);
      after.connect(f.endpoint);
      assert.equal((await within(accepted, LIMIT, 'accepted')).type, 'handshake');
      const arrived = f.inbox.waitFor((m) => m[0] === 'late');
      await within(sendUntil(() => after.send(['late', 'box']), arrived), LIMIT, 'message');
    });
  });

  it('should refuse every client while no authenticator runs (fail closed)', async () => {
    await withCurveServer(async (f) => {
      await f.zap.close();
      const keys = generateCurveKeyPair();
      f.allowed.add(keys.publicKey);
      const client = f.client(curveClientOptions(keys, f.server.publicKey));
      const outcome = nextEvent(client, 'handshake', ...FAILED);
      client.connect(f.endpoint);
      assert.notEqual((await within(outcome, LIMIT, 'handshake outcome')).type, 'handshake');
    });
  });
});
