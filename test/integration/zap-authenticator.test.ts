import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as zmq from 'zeromq';
import { ConnectionError } from '../../src/core/errors.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { z85Decode } from '../../src/security/z85.js';
import { ZAP_ENDPOINT, ZapAuthenticator } from '../../src/security/zap-authenticator.js';
import { zmqSubscriber } from '../../src/sources/zmq-subscriber.js';
import { framesText, nextEvent, within } from '../helpers/zmq.js';

const LIMIT = 10_000;

function authenticator(isAllowed: (key: string) => boolean) {
  const logger = new RecordingLogger();
  const metrics = new Metrics();
  return { zap: new ZapAuthenticator({ isAllowed, logger, metrics }), logger, metrics };
}

/** Talks ZAP 1.0 to the handler directly, as libzmq would. */
async function ask(client: zmq.Request, request: (string | Uint8Array)[]): Promise<string[]> {
  await client.send(request);
  return framesText(await client.receive());
}

describe('ZapAuthenticator over inproc://zeromq.zap.01', () => {
  it('should answer ZAP 1.0 requests with version, request id, status, text, user id and metadata', async () => {
    const client = generateCurveKeyPair();
    const { zap } = authenticator((key) => key === client.publicKey);
    await zap.start();
    const requester = new zmq.Request({ linger: 0 });
    requester.connect(ZAP_ENDPOINT);
    try {
      const base = ['1.0', 'req-7', 'global', '127.0.0.1', ''];
      assert.deepEqual(await ask(requester, [...base, 'CURVE', z85Decode(client.publicKey)]), ['1.0', 'req-7', '200', 'OK', '', '']);
      const stranger = generateCurveKeyPair().publicKey;
      assert.deepEqual(await ask(requester, [...base, 'CURVE', z85Decode(stranger)]), ['1.0', 'req-7', '400', 'Forbidden', '', '']);
      assert.deepEqual(await ask(requester, [...base, 'PLAIN', 'admin', 'secret']), ['1.0', 'req-7', '400', 'Forbidden', '', '']);
      assert.deepEqual(await ask(requester, [...base, 'NULL']), ['1.0', 'req-7', '400', 'Forbidden', '', '']);
      // Too few frames: still answered (REP must reply), and refused.
      assert.deepEqual(await ask(requester, ['1.0', 'req-8']), ['1.0', 'req-8', '400', 'Forbidden', '', '']);
    } finally {
      // Handler first: see ZapAuthenticator on libzmq's shutdown race.
      await zap.close();
      requester.close();
    }
  });

  it('should refuse a second handler in the same context and free the endpoint on close', async () => {
    const first = authenticator(() => true).zap;
    const second = authenticator(() => true).zap;
    await first.start();
    try {
      await assert.rejects(second.start(), (error: unknown) => {
        assert.ok(error instanceof ConnectionError);
        assert.equal(error.endpoint, ZAP_ENDPOINT);
        assert.equal(error.operation, 'bind');
        return true;
      });
    } finally {
      await first.close();
    }
    const third = authenticator(() => true).zap;
    await third.start();
    await third.close();
  });

  it('should refuse a NULL-mechanism client on a ZAP domain: plaintext gets nothing through', async () => {
    const { zap, metrics } = authenticator(() => true);
    await zap.start();
    let ready!: (endpoint: string) => void;
    const bound = new Promise<string>((resolve) => (ready = resolve));
    // A plain socket that still asks ZAP (it has a domain): the authenticator must say no.
    const server = zmqSubscriber({ endpoint: 'tcp://127.0.0.1:*', bind: true, zapDomain: 'global', onReady: ready }).subscribe();
    const client = new zmq.Publisher({ linger: 0 });
    try {
      const refused = nextEvent(client, 'handshake:error:auth', 'handshake');
      client.connect(await within(bound, LIMIT, 'bound'));
      const event = await within(refused, LIMIT, 'handshake outcome');
      assert.equal(event.type, 'handshake:error:auth');
      assert.equal(await metrics.value('makai_zap_rejections_total', { reason: 'mechanism' }), 1);
    } finally {
      // Handler first: see ZapAuthenticator on libzmq's shutdown race.
      await zap.close();
      client.close();
      server.unsubscribe();
    }
  });
});
