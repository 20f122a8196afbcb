import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { asyncScheduler } from 'rxjs';
import * as zmq from 'zeromq';
import { RecordingLogger, type LogFields, type Logger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { decodeDataMessage } from '../../src/protocol/data-message-codec.js';
import type { DataMessage, RequestDataMessage, TriggerMessage } from '../../src/protocol/messages.js';
import { decodeRequestDataMessage, encodeRequestDataMessage } from '../../src/protocol/request-data-message-codec.js';
import { decodeTriggerMessage } from '../../src/protocol/trigger-message-codec.js';
import { parseCertificate, type CurveKeyPair } from '../../src/security/curve-certificate.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { ZapAuthenticator } from '../../src/security/zap-authenticator.js';
import { BoxConnection } from '../../src/simulator/box-connection.js';
import { ensureBoxKeyPairs } from '../../src/simulator/box-key-pairs.js';
import { startNetworkedFleet, type NetworkedFleet } from '../../src/simulator/networked-fleet.js';
import { parseCompactScenario } from '../../src/simulator/scenario.js';
import { SimulatedBox } from '../../src/simulator/simulated-box.js';
import { SimulatedFleet } from '../../src/simulator/simulated-fleet.js';
import { DEFAULT_CALIBRATION } from '../../src/protocol/box-adc.js';
import { cycleRms } from '../../src/protocol/cycle-rms.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { sendUntil, within } from '../helpers/zmq.js';

/**
 * Simulated boxes on real sockets: the test owns the three broker-side sockets (CURVE servers
 * behind a ZAP handler that only knows the boxes' own keys) and checks what the boxes send.
 */

const WAIT_MS = 10_000;
/** Box history before the test starts, so a READ finds data (and a past sag) at once. */
const HISTORY_MS = 4_000;
const WINDOW_MS = 1000 / 6;
const SAG = { atMs: 1_500, forMs: 1_000, depth: 0.2 };

/** Messages of one receiving socket, decoded by `decode`, with waits for the first match. */
class Collector<T> {
  readonly items: T[] = [];
  private waiters: { match: (item: T) => boolean; resolve: (item: T) => void }[] = [];
  readonly done: Promise<void>;

  constructor(socket: zmq.Socket & zmq.Readable, decode: (frames: Uint8Array[]) => T) {
    this.done = (async () => {
      try {
        for await (const frames of socket) {
          const item = decode(frames);
          this.items.push(item);
          this.waiters = this.waiters.filter((w) => (w.match(item) ? (w.resolve(item), false) : true));
        }
      } catch {
        // closed
      }
    })();
  }

  waitFor(match: (item: T) => boolean): Promise<T> {
    const seen = this.items.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

/** A logger that lets a test await a message. */
class WatchingLogger implements Logger {
  readonly messages: string[] = [];
  private waiters: { text: string; resolve: () => void }[] = [];
  debug(msg: string, _fields?: LogFields) { this.push(msg); }
  info(msg: string, _fields?: LogFields) { this.push(msg); }
  warn(msg: string, _fields?: LogFields) { this.push(msg); }
  error(msg: string, _fields?: LogFields) { this.push(msg); }
  child(): Logger {
    return this;
  }
  /** Resolves once a message starting with `text` was logged. */
  logged(text: string): Promise<void> {
    if (this.messages.some((m) => m.startsWith(text))) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ text, resolve }));
  }
  private push(msg: string): void {
    this.messages.push(msg);
    this.waiters = this.waiters.filter((w) => (msg.startsWith(w.text) ? (w.resolve(), false) : true));
  }
}

interface Reply {
  readonly header: RequestDataMessage;
  readonly data: DataMessage[];
}

describe('simulated boxes on the network', () => {
  let dir: TempDir;
  let server: CurveKeyPair;
  let keys: ReadonlyMap<number, CurveKeyPair>;
  const presentedKeys = new Set<string>();
  let zap: ZapAuthenticator;
  let triggerSub: zmq.Subscriber;
  let boxPub: zmq.Publisher;
  let boxPull: zmq.Pull;
  let triggers: Collector<{ topic: string; message: TriggerMessage }>;
  let replies: Collector<Reply>;
  let fleet: SimulatedFleet;
  let running: NetworkedFleet;
  let metrics: Metrics;
  let startMs: number;
  const extraSockets: zmq.Socket[] = [];

  const serverOptions = () => ({ linger: 0, curveServer: true, curveSecretKey: server.secretKey, zapDomain: 'global' });
  const evget = (request: RequestDataMessage) => boxPub.send(['evget', encodeRequestDataMessage(request)]);

  before(async () => {
    dir = await createTempDir('makai-simulator-network-');
    server = generateCurveKeyPair();
    const ensured = await ensureBoxKeyPairs(dir.path, [1, 2]);
    keys = ensured.keys;
    assert.deepEqual(ensured.generated, [1, 2]);
    const allowed = new Set([...keys.values()].map((k) => k.publicKey));
    zap = new ZapAuthenticator({
      isAllowed: (key) => {
        presentedKeys.add(key);
        return allowed.has(key);
      },
      logger: new RecordingLogger(),
      metrics: new Metrics(),
    });
    await zap.start();

    triggerSub = new zmq.Subscriber(serverOptions());
    triggerSub.subscribe();
    await triggerSub.bind('tcp://127.0.0.1:*');
    boxPub = new zmq.Publisher(serverOptions());
    await boxPub.bind('tcp://127.0.0.1:*');
    boxPull = new zmq.Pull(serverOptions());
    await boxPull.bind('tcp://127.0.0.1:*');
    triggers = new Collector(triggerSub, ([topic, body]) => ({ topic: Buffer.from(topic!).toString('latin1'), message: decodeTriggerMessage(body!) }));
    replies = new Collector(boxPull, ([header, ...data]) => ({ header: decodeRequestDataMessage(header!), data: data.map(decodeDataMessage) }));

    startMs = Date.now() - HISTORY_MS;
    const scenario = parseCompactScenario(`sag@${SAG.atMs}ms:boxes=1:depth=${SAG.depth * 100}%:for=${SAG.forMs}ms`);
    fleet = new SimulatedFleet({ boxes: [1, 2], seed: 7, scenario, startMs, scheduler: asyncScheduler });
    metrics = new Metrics();
    running = await startNetworkedFleet({
      fleet,
      triggerEndpoint: triggerSub.lastEndpoint!,
      boxPubEndpoint: boxPub.lastEndpoint!,
      boxPullEndpoint: boxPull.lastEndpoint!,
      serverPublicKey: server.publicKey,
      keys,
      logger: new RecordingLogger(),
      metrics,
    });
    // Until each box's SUB has subscribed, box_pub drops what it publishes: ping until both answer.
    let ping = 1_000;
    const bothAnswered = Promise.all([1, 2].map((boxId) => replies.waitFor((r) => r.header.type === 'PONG' && r.header.boxId === boxId)));
    await within(sendUntil(() => evget({ type: 'PING', sequenceNumber: ping++ }), bothAnswered), WAIT_MS, 'first PONGs');
  });

  after(async () => {
    await running?.stop();
    // The ZAP handler before the server sockets: libzmq can abort on the reverse order (see ZapAuthenticator).
    await zap?.close();
    triggerSub?.close();
    for (const socket of extraSockets) socket.close();
    boxPub?.close();
    boxPull?.close();
    await Promise.all([triggers?.done, replies?.done]);
    await dir?.remove();
  });

  it('should keep each box key pair in the original certificate layout', async () => {
    for (const [id, pair] of keys) {
      const secret = parseCertificate(await readFile(dir.file('private_keys', `opqbox${id}_secret`), 'utf8'), 'secret');
      const pub = parseCertificate(await readFile(dir.file('public_keys', `opqbox${id}.key`), 'utf8'), 'public');
      assert.equal(secret.secretKey, pair.secretKey);
      assert.equal(pub.publicKey, pair.publicKey);
      assert.equal(pub.secretKey, undefined);
      assert.equal((await stat(dir.file('private_keys', `opqbox${id}_secret`))).mode & 0o777, 0o600);
    }
    assert.notEqual(keys.get(1)!.publicKey, keys.get(2)!.publicKey);
    // Reading again returns the same keys and generates nothing.
    const again = await ensureBoxKeyPairs(dir.path, [1, 2]);
    assert.deepEqual(again.generated, []);
    assert.deepEqual([...again.keys], [...keys]);
  });

  it('should authenticate every socket of every box with that box own key', () => {
    assert.deepEqual([...presentedKeys].sort(), [...keys.values()].map((k) => k.publicKey).sort());
  });

  it('should publish [box id, TriggerMessage] with frame 0 equal to the decimal TriggerMessage.id', async () => {
    const seen = await within(
      Promise.all([1, 2].map((id) => triggers.waitFor((t) => t.message.id === id))),
      WAIT_MS,
      'a trigger from each box',
    );
    assert.equal(seen.length, 2);
    assert.ok(triggers.items.length >= 2);
    for (const { topic, message } of triggers.items) {
      assert.equal(topic, String(message.id));
      assert.ok(Math.abs(message.rms - 120) < 3, `rms ${message.rms}`);
      assert.ok(Math.abs(message.frequency - 60) < 0.1, `frequency ${message.frequency}`);
      assert.ok(message.time >= startMs);
    }
    for (const id of [1, 2]) {
      const times = triggers.items.filter((t) => t.message.id === id).map((t) => t.message.time);
      times.slice(1).forEach((time, i) => assert.ok(time > times[i]!, 'box times increase'));
    }
    assert.ok(running.stats.triggersSent >= triggers.items.length);
  });

  it('should answer a READ with RESP and DataMessages covering [back, forward), the sag visible in the samples', async () => {
    const back = startMs + 500;
    const forward = startMs + 2_900;
    await evget({ type: 'READ', sequenceNumber: 42, time: (back + forward) / 2, back, forward });
    const [one, two] = await within(
      Promise.all([1, 2].map((id) => replies.waitFor((r) => r.header.type === 'RESP' && r.header.sequenceNumber === 42 && r.header.boxId === id))),
      WAIT_MS,
      'RESP from both boxes',
    );
    for (const [id, reply] of [[1, one!], [2, two!]] as const) {
      assert.equal(reply.header.back, back);
      assert.equal(reply.header.forward, forward);
      assert.ok(reply.header.time! >= forward, 'reply stamped with the box clock');
      const windowTimes = reply.data.map((m) => m.cycles[0]!.time);
      assert.ok(windowTimes[0]! >= back && windowTimes[0]! < back + WINDOW_MS, `first window ${windowTimes[0]! - back} ms after back`);
      assert.ok(windowTimes.at(-1)! < forward && windowTimes.at(-1)! >= forward - WINDOW_MS, `last window ${forward - windowTimes.at(-1)!} ms before forward`);
      windowTimes.slice(1).forEach((t, i) => assert.ok(Math.abs(t - windowTimes[i]! - WINDOW_MS) <= 1, 'contiguous windows'));
      for (const m of reply.data) {
        assert.equal(m.id, id);
        assert.equal(m.cycles.length, 10);
        for (const c of m.cycles) assert.equal(c.data.length, 200);
      }
    }

    const rmsBetween = (reply: Reply, fromMs: number, toMs: number): number => {
      const values = reply.data
        .flatMap((m) => m.cycles)
        .filter((c) => c.time >= startMs + fromMs && c.time + 17 <= startMs + toMs)
        .map((c) => cycleRms(c.data, DEFAULT_CALIBRATION));
      assert.ok(values.length >= 10, `enough cycles between ${fromMs} and ${toMs}`);
      return values.reduce((a, b) => a + b, 0) / values.length;
    };
    const before1 = rmsBetween(one!, 500, SAG.atMs);
    const during1 = rmsBetween(one!, SAG.atMs + 50, SAG.atMs + SAG.forMs - 50);
    assert.ok(Math.abs(before1 - 120) < 3, `before the sag ${before1} V`);
    assert.ok(Math.abs(1 - during1 / before1 - SAG.depth) < 0.02, `sag depth ${1 - during1 / before1}`);
    // Box 2 was not in the sag.
    const before2 = rmsBetween(two!, 500, SAG.atMs);
    const during2 = rmsBetween(two!, SAG.atMs + 50, SAG.atMs + SAG.forMs - 50);
    assert.ok(Math.abs(1 - during2 / before2) < 0.02, `box 2 unchanged: ${during2} vs ${before2}`);
  });

  it('should answer PING with PONG and any other request type with ERROR', async () => {
    await evget({ type: 'PING', sequenceNumber: 7 });
    await evget({ type: 'RESP', sequenceNumber: 8 });
    for (const id of [1, 2]) {
      const pong = await within(replies.waitFor((r) => r.header.type === 'PONG' && r.header.sequenceNumber === 7 && r.header.boxId === id), WAIT_MS, 'PONG 7');
      assert.deepEqual(pong.data, []);
      const error = await within(replies.waitFor((r) => r.header.type === 'ERROR' && r.header.sequenceNumber === 8 && r.header.boxId === id), WAIT_MS, 'ERROR 8');
      assert.deepEqual(error.data, []);
    }
  });

  it('should survive garbage on box_pub, ignoring and counting it', async () => {
    const ignoredBefore = running.stats.boxes.map((b) => b.ignored);
    await boxPub.send(['evget', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])]);
    await boxPub.send(['evget']);
    await boxPub.send(['evnew', encodeRequestDataMessage({ type: 'PING', sequenceNumber: 9 })]);
    await boxPub.send(['evget', new Uint8Array([0x08, 0x03])]);
    // Delivery is in order per box, so the PONG to 99 means the garbage was handled first.
    await evget({ type: 'PING', sequenceNumber: 99 });
    for (const id of [1, 2]) {
      await within(replies.waitFor((r) => r.header.type === 'PONG' && r.header.sequenceNumber === 99 && r.header.boxId === id), WAIT_MS, 'PONG 99');
    }
    assert.deepEqual(
      running.stats.boxes.map((b, i) => b.ignored - ignoredBefore[i]!),
      [4, 4],
    );
    assert.equal(replies.items.filter((r) => r.header.sequenceNumber === 9).length, 0, 'no reply to another topic');
    assert.equal(await metrics.value('makai_simulator_requests_ignored_total', { reason: 'topic' }), 2);
    assert.equal(await metrics.value('makai_simulator_requests_ignored_total', { reason: 'frame-count' }), 2);
    assert.equal(await metrics.value('makai_simulator_requests_ignored_total'), 8);
  });

  it('should count what it sent and stop with every socket closed', async () => {
    const stats = running.stats;
    assert.equal(stats.requests.READ, 2);
    assert.ok(stats.requests.PING >= 4);
    assert.equal(stats.ignored, 8);
    assert.equal(stats.repliesDropped, 0);
    assert.ok(stats.dataMessagesSent >= 2 * 14);
    assert.equal(await metrics.value('makai_simulator_triggers_total', { outcome: 'sent' }), stats.triggersSent);
    // after() stops it again: stop is idempotent; an open handle would keep this process alive.
    await running.stop();
    assert.equal(running.stats.triggersSent, await metrics.value('makai_simulator_triggers_total', { outcome: 'sent' }));
  });

  it('should re-create a box SUB socket when box_pub stays silent, and log the loss once', async () => {
    const silentPub = new zmq.Publisher(serverOptions());
    extraSockets.push(silentPub);
    await silentPub.bind('tcp://127.0.0.1:*');
    const logger = new WatchingLogger();
    const connection = new BoxConnection({
      box: new SimulatedBox({ id: 9, seed: 1, startMs: Date.now() }),
      keys: keys.get(1)!,
      serverPublicKey: server.publicKey,
      triggerEndpoint: triggerSub.lastEndpoint!,
      boxPubEndpoint: silentPub.lastEndpoint!,
      boxPullEndpoint: boxPull.lastEndpoint!,
      scheduler: asyncScheduler,
      logger,
      metrics: new Metrics(),
      watchdogMs: 150,
    });
    try {
      await within(logger.logged('Lost connection with Makai'), WAIT_MS, 'watchdog fired');
      const answered = replies.waitFor((r) => r.header.type === 'PONG' && r.header.boxId === 9);
      await within(sendUntil(() => silentPub.send(['evget', encodeRequestDataMessage({ type: 'PING', sequenceNumber: 5 })]), answered), WAIT_MS, 'PONG after re-creation');
      assert.ok(connection.stats.resubscriptions >= 1);
      const established = logger.messages.indexOf('Established connection with Makai');
      assert.ok(established > 0);
      // Several silent periods before the first message, one line about it.
      assert.equal(logger.messages.slice(0, established).filter((m) => m.startsWith('Lost connection')).length, 1);
    } finally {
      await connection.close();
    }
  });
});
