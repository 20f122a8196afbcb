import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom, of, Subject, toArray, type Subscription } from 'rxjs';
import * as zmq from 'zeromq';
import { ConfigError, ConnectionError } from '../../src/core/errors.js';
import { Metrics } from '../../src/core/metrics.js';
import { ZmqSender, type SendReceipt, type ZmqMessage } from '../../src/sinks/zmq-sender.js';
import { zmqPublisher } from '../../src/sinks/zmq-publisher.js';
import { zmqPusher } from '../../src/sinks/zmq-pusher.js';
import { zmqPuller } from '../../src/sources/zmq-puller.js';
import { zmqSubscriber } from '../../src/sources/zmq-subscriber.js';
import { frames, Inbox, sendUntil, within } from '../helpers/zmq.js';
import { waitUntil } from '../helpers/fault-harness.js';
import { createTempDir } from '../helpers/temp-dir.js';

const LIMIT = 10_000;

/** Binds, retrying while the port is still held by a socket closed just before (bounded by LIMIT). */
async function bindWhenReleased(socket: zmq.Socket, endpoint: string): Promise<void> {
  const deadline = Date.now() + LIMIT;
  for (;;) {
    try {
      return await socket.bind(endpoint);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EADDRINUSE' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Subscribes `source` with an inbox; resolves the resolved endpoint once bound. */
function bindInbox(make: (onReady: (endpoint: string) => void) => import('rxjs').Observable<Uint8Array[]>) {
  const inbox = new Inbox();
  let errors: unknown[] = [];
  let resolveEndpoint!: (e: string) => void;
  const endpoint = new Promise<string>((resolve) => (resolveEndpoint = resolve));
  const subscription = make(resolveEndpoint).subscribe({ next: inbox.push, error: (e: unknown) => (errors = [...errors, e]) });
  return { inbox, endpoint, subscription, errors: () => errors };
}

// Messages with the awkward shapes: empty frames, binary, many frames, a large one.
const batch: Uint8Array[][] = [
  frames('1003', 'trigger'),
  [new Uint8Array(0)],
  [new Uint8Array([0, 255, 1, 254]), new Uint8Array(0), new Uint8Array([7])],
  frames('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
  [new Uint8Array(200_000).fill(42)],
];

describe('ZeroMQ sources and sinks on loopback', () => {
  it('should deliver PUB → SUB frames unchanged', async () => {
    const metrics = new Metrics();
    const outgoing = new Subject<ZmqMessage>();
    const receipts: SendReceipt[] = [];
    let pubEndpoint!: (e: string) => void;
    const bound = new Promise<string>((resolve) => (pubEndpoint = resolve));
    const pub = outgoing
      .pipe(zmqPublisher({ endpoint: 'tcp://127.0.0.1:*', bind: true, metrics, onReady: pubEndpoint }))
      .subscribe((r) => receipts.push(r));
    const endpoint = await within(bound, LIMIT, 'publisher bound');
    const sub = bindInbox(() => zmqSubscriber({ endpoint, metrics }));
    try {
      // Publishers drop until the subscription has arrived; probe until it has.
      await within(sendUntil(async () => outgoing.next(frames('probe')), sub.inbox.waitFor((m) => m[0] === 'probe')), LIMIT, 'probe');
      const start = sub.inbox.messages.length;
      for (const message of batch) outgoing.next(message);
      const last = Buffer.from(batch.at(-1)![0]!).toString('utf8');
      await within(sub.inbox.waitFor((m) => m.length === 1 && m[0] === last), LIMIT, 'batch');
      const received = sub.inbox.messages.slice(start).filter((m) => m[0] !== 'probe');
      assert.deepEqual(received, batch.map((m) => m.map((f) => Buffer.from(f).toString('utf8'))));
      assert.ok(receipts.every((r) => r.sent));
      assert.ok((await metrics.value('makai_zmq_messages_received_total', { endpoint })) >= batch.length);
      assert.deepEqual(sub.errors(), []);
    } finally {
      sub.subscription.unsubscribe();
      pub.unsubscribe();
    }
  });

  it('should deliver PUSH → PULL frames unchanged and in order', async () => {
    const metrics = new Metrics();
    const pull = bindInbox((onReady) => zmqPuller({ endpoint: 'tcp://127.0.0.1:*', bind: true, onReady }));
    const outgoing = new Subject<ZmqMessage>();
    let push: Subscription | undefined;
    try {
      const endpoint = await within(pull.endpoint, LIMIT, 'puller bound');
      const receipts: SendReceipt[] = [];
      push = outgoing.pipe(zmqPusher({ endpoint, metrics })).subscribe((r) => receipts.push(r));
      for (const message of batch) outgoing.next(message);
      await within(pull.inbox.waitFor(() => pull.inbox.messages.length === batch.length), LIMIT, 'batch');
      assert.deepEqual(pull.inbox.messages, batch.map((m) => m.map((f) => Buffer.from(f).toString('utf8'))));
      assert.equal(receipts.length, batch.length);
      assert.equal(await metrics.value('makai_zmq_messages_sent_total', { endpoint }), batch.length);
    } finally {
      push?.unsubscribe();
      pull.subscription.unsubscribe();
    }
  });

  it('should subscribe to topics by prefix', async () => {
    const pub = new zmq.Publisher({ linger: 0 });
    await pub.bind('tcp://127.0.0.1:*');
    const sub = bindInbox(() => zmqSubscriber({ endpoint: pub.lastEndpoint!, topics: ['10', 'evnew'] }));
    try {
      await within(sendUntil(() => pub.send(['1003', 'probe']), sub.inbox.waitFor((m) => m[1] === 'probe')), LIMIT, 'probe');
      await pub.send(['2001', 'other box']);
      await pub.send(['evget', 'request']);
      await pub.send(['1', 'shorter than the prefix']);
      await pub.send(['evnew', '4711']);
      await within(sub.inbox.waitFor((m) => m[0] === 'evnew'), LIMIT, 'evnew');
      assert.deepEqual(new Set(sub.inbox.messages.map((m) => m[0])), new Set(['1003', 'evnew']));
    } finally {
      sub.subscription.unsubscribe();
      pub.close();
    }
  });

  it('should bind on subscribe, close on unsubscribe, and let the endpoint be bound again', async () => {
    const first = bindInbox((onReady) => zmqPuller({ endpoint: 'tcp://127.0.0.1:*', bind: true, onReady }));
    const endpoint = await within(first.endpoint, LIMIT, 'first bind');
    first.subscription.unsubscribe();

    let ready: () => void = () => undefined;
    const source = zmqPuller({ endpoint, bind: true, onReady: () => ready() });
    // Cold: building the observable opens nothing, so the endpoint is still free for another socket
    // (once libzmq's I/O thread has released it after the first close, which happens in the
    // background: a bind right after may still see EADDRINUSE, as the sources' own binds retry).
    const other = new zmq.Pull({ linger: 0 });
    await bindWhenReleased(other, endpoint);
    other.close();

    // Each subscription of the same observable binds anew; each unsubscribe releases the port.
    for (let round = 1; round <= 2; round++) {
      const inbox = new Inbox();
      const isReady = new Promise<void>((resolve) => (ready = resolve));
      const failures: unknown[] = [];
      const subscription = source.subscribe({ next: inbox.push, error: (e: unknown) => failures.push(e) });
      const push = new zmq.Push({ linger: 0 });
      try {
        await within(isReady, LIMIT, `bind round ${round}`);
        push.connect(endpoint);
        await push.send(`round ${round}`);
        assert.deepEqual(await within(inbox.waitFor(() => true), LIMIT, `message round ${round}`), [`round ${round}`]);
        assert.deepEqual(failures, []);
      } finally {
        push.close();
        subscription.unsubscribe();
      }
    }
  });

  it('should error with a ConnectionError naming the endpoint when the address is in use', async () => {
    const holder = new zmq.Pull({ linger: 0 });
    await holder.bind('tcp://127.0.0.1:*');
    const endpoint = holder.lastEndpoint!;
    try {
      const error = await within(firstValueFrom(zmqPuller({ endpoint, bind: true })).catch((e: unknown) => e), LIMIT, 'bind error');
      assert.ok(error instanceof ConnectionError);
      assert.equal(error.endpoint, endpoint);
      assert.equal(error.operation, 'bind');
      assert.equal((error.cause as { code?: string }).code, 'EADDRINUSE');

      const sinkError = await within(
        lastValueFrom(of(frames('x')).pipe(zmqPublisher({ endpoint, bind: true, metrics: new Metrics() }))).catch((e: unknown) => e),
        LIMIT,
        'sink bind error',
      );
      assert.ok(sinkError instanceof ConnectionError);
      assert.equal(sinkError.endpoint, endpoint);
      assert.equal(sinkError.operation, 'bind');
    } finally {
      holder.close();
    }
  });

  it('should error with a ConnectionError when libzmq refuses the endpoint', async () => {
    const dir = await createTempDir();
    try {
      const endpoint = `ipc://${dir.path}/missing-directory/socket`;
      const error = await within(firstValueFrom(zmqSubscriber({ endpoint, bind: true })).catch((e: unknown) => e), LIMIT, 'ipc error');
      assert.ok(error instanceof ConnectionError);
      assert.equal(error.endpoint, endpoint);
      assert.ok(error.message.includes(endpoint));
    } finally {
      await dir.remove();
    }
  });

  it('should refuse malformed endpoints and options with a ConfigError when built', () => {
    const cases: [() => unknown, string, RegExp][] = [
      [() => zmqSubscriber({ endpoint: 'tcp://127.0.0.1' }), 'endpoint', /tcp:\/\/127\.0\.0\.1/],
      [() => zmqSubscriber({ endpoint: '127.0.0.1:5555' }), 'endpoint', /is not an endpoint/],
      [() => zmqPuller({ endpoint: 'udp://127.0.0.1:5555' }), 'endpoint', /unsupported transport/],
      [() => zmqPuller({ endpoint: 'tcp://127.0.0.1:70000', bind: true }), 'endpoint', /out of range/],
      [() => zmqSubscriber({ endpoint: 'tcp://*:5555' }), 'endpoint', /concrete host and port/],
      [() => zmqSubscriber({ endpoint: 'tcp://127.0.0.1:5555', topics: [] }), 'topics', /at least one topic/],
      [() => zmqPuller({ endpoint: 'tcp://127.0.0.1:5555', receiveHighWaterMark: -1 }), 'receiveHighWaterMark', /non-negative/],
      [() => zmqPusher({ endpoint: 'tcp://127.0.0.1:5555', sendTimeout: 'soon', metrics: new Metrics() }), 'sendTimeout', /not a duration/],
      [() => zmqPusher({ endpoint: 'tcp://127.0.0.1:5555', maxQueued: 0, metrics: new Metrics() }), 'maxQueued', /positive/],
      [
        () => zmqPuller({ endpoint: 'tcp://*:5555', bind: true, curve: { role: 'server', secretKey: 'not-a-key' } }),
        'curve.secretKey',
        /bad length/,
      ],
    ];
    for (const [build, path, message] of cases) {
      assert.throws(build, (error: unknown) => {
        assert.ok(error instanceof ConfigError, path);
        assert.equal(error.path, path);
        assert.match(error.message, message);
        return true;
      });
    }
    // A malformed key is described, never echoed.
    const secret = 'x'.repeat(39);
    assert.throws(
      () => zmqPuller({ endpoint: 'tcp://*:1', bind: true, curve: { role: 'server', secretKey: secret } }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes(secret),
    );
  });

  it('should drop and count messages that find no peer within sendTimeout', async () => {
    const metrics = new Metrics();
    // A bound PUSH with no PULL peer has nowhere to put a message.
    const receipts = await within(
      lastValueFrom(of(frames('a'), frames('b'), frames('c')).pipe(zmqPusher({ endpoint: 'tcp://127.0.0.1:*', bind: true, sendTimeout: 0, metrics }), toArray())),
      LIMIT,
      'receipts',
    );
    assert.deepEqual(receipts.map((r) => (r.sent ? 'sent' : r.reason)), ['timeout', 'timeout', 'timeout']);
    assert.equal(await metrics.value('makai_zmq_messages_dropped_total', { endpoint: 'tcp://127.0.0.1:*', reason: 'timeout' }), 3);
    assert.equal(await metrics.value('makai_zmq_messages_sent_total'), 0);
  });

  it('should drop and count publisher messages once a subscriber reaches its high-water mark', async () => {
    const metrics = new Metrics();
    const sender = new ZmqSender('publisher', { endpoint: 'tcp://127.0.0.1:*', bind: true, sendHighWaterMark: 1, sendTimeout: 0, metrics });
    const endpoint = await within(sender.whenReady(), LIMIT, 'publisher bound');
    // A subscriber that never reads: its queue and the kernel buffers fill up.
    const stuck = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 1 });
    stuck.subscribe();
    stuck.connect(endpoint);
    try {
      const big = new Uint8Array(256 * 1024);
      let dropped = 0;
      for (let i = 0; i < 2000 && dropped === 0; i++) {
        const receipt = await sender.send([big]);
        if (!receipt.sent) {
          assert.equal(receipt.reason, 'timeout');
          dropped++;
        }
        // Give libzmq's I/O thread a turn so the subscription can arrive.
        if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(dropped, 1);
      assert.equal(await metrics.value('makai_zmq_messages_dropped_total', { endpoint: 'tcp://127.0.0.1:*', reason: 'timeout' }), 1);
    } finally {
      sender.close();
      stuck.close();
    }
  });

  it('should bound the in-process queue and drop what waits when closed', async () => {
    const metrics = new Metrics();
    const sender = new ZmqSender('pusher', { endpoint: 'tcp://127.0.0.1:*', bind: true, sendTimeout: '10s', maxQueued: 2, metrics });
    await within(sender.whenReady(), LIMIT, 'bound');
    const first = sender.send(frames('in flight'));
    const second = sender.send(frames('waiting'));
    const third = await sender.send(frames('one too many'));
    assert.deepEqual(third, { sent: false, reason: 'queue-full', message: frames('one too many') });
    sender.close();
    assert.deepEqual([(await first).sent, (await second).sent], [false, false]);
    assert.equal(((await first) as { reason: string }).reason, 'closed');
    assert.equal(await metrics.value('makai_zmq_messages_dropped_total', { reason: 'queue-full' }), 1);
    assert.equal(await metrics.value('makai_zmq_messages_dropped_total', { reason: 'closed' }), 2);
    assert.deepEqual(await sender.send(frames('after close')), { sent: false, reason: 'closed', message: frames('after close') });
  });

  it('should gauge the TCP connections of a sending socket, and queue for a peer that is down once it has seen the disconnect', async () => {
    const metrics = new Metrics();
    const pull = new zmq.Pull({ linger: 0 });
    await pull.bind('tcp://127.0.0.1:*');
    const endpoint = pull.lastEndpoint!;
    const sender = new ZmqSender('pusher', { endpoint, sendTimeout: '10s', metrics, countConnections: true });
    const connections = () => metrics.value('makai_zmq_connections', { endpoint });
    try {
      await waitUntil(async () => (await connections()) === 1, 'connected');
      pull.close();
      await waitUntil(async () => (await connections()) === 0, 'the disconnect seen');
      // The connecting PUSH keeps its pipe: the message waits in libzmq for the peer to return.
      assert.equal((await sender.send(frames('while down'))).sent, true);
      const back = new zmq.Pull({ linger: 0 });
      try {
        await bindWhenReleased(back, endpoint);
        const [frame] = await within(back.receive(), LIMIT, 'the queued message after the restart');
        assert.equal(Buffer.from(frame!).toString(), 'while down');
        await waitUntil(async () => (await connections()) === 1, 'reconnected');
      } finally {
        back.close();
      }
    } finally {
      sender.close();
      if (!pull.closed) pull.close();
    }
    assert.equal(await connections(), 0, 'a closed sender takes its connections out of the gauge');
  });
});
