/**
 * Child process of `test/integration/zmq-process-exit.test.ts`. It opens every kind of handle
 * this project's ZeroMQ code owns (a ZAP authenticator, CURVE SUB/PUB, PULL/PUSH, a bind
 * waiting for a taken address, a send blocked on its timeout), receives a message on each
 * path, unsubscribes and closes — and then must exit by itself. It never calls process.exit: if anything still holds the event loop,
 * the parent sees it hang.
 */
import { firstValueFrom, interval, map, Subject, take } from 'rxjs';
import * as zmq from 'zeromq';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { ZmqSender } from '../../src/sinks/zmq-sender.js';
import { zmqPublisher } from '../../src/sinks/zmq-publisher.js';
import { zmqPusher } from '../../src/sinks/zmq-pusher.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { ZapAuthenticator } from '../../src/security/zap-authenticator.js';
import { zmqPuller } from '../../src/sources/zmq-puller.js';
import { zmqSubscriber } from '../../src/sources/zmq-subscriber.js';

const metrics = new Metrics();
const server = generateCurveKeyPair();
const client = generateCurveKeyPair();
const zap = new ZapAuthenticator({ isAllowed: (key) => key === client.publicKey, logger: silentLogger, metrics });
await zap.start();

// CURVE SUB (server, bound) ← PUB (client): the publisher repeats until the first message lands.
const subReady = new Subject<string>();
const messages = new Subject<Uint8Array[]>();
const received = firstValueFrom(messages);
const subscribing = zmqSubscriber({
  endpoint: 'tcp://127.0.0.1:*',
  bind: true,
  curve: { role: 'server', secretKey: server.secretKey },
  onReady: (e) => subReady.next(e),
}).subscribe(messages);
const subEndpoint = await firstValueFrom(subReady);
const publishing = interval(10)
  .pipe(
    map(() => [Buffer.from('1003'), Buffer.from('hello')]),
    zmqPublisher({ endpoint: subEndpoint, curve: { role: 'client', serverPublicKey: server.publicKey, ...client }, metrics }),
  )
  .subscribe();
const message = await received;
// Handler before the server socket: see ZapAuthenticator on libzmq's shutdown race.
await zap.close();
subscribing.unsubscribe();
publishing.unsubscribe();
process.stdout.write(`received ${message.map((f) => Buffer.from(f).toString()).join(',')}\n`);

// PULL (bound) ← PUSH.
const pullReady = new Subject<string>();
const pulled = firstValueFrom(zmqPuller({ endpoint: 'tcp://127.0.0.1:*', bind: true, onReady: (e) => pullReady.next(e) }));
const pullEndpoint = await firstValueFrom(pullReady);
const pushing = interval(10).pipe(take(1000), map(() => Buffer.from('request')), zmqPusher({ endpoint: pullEndpoint, metrics })).subscribe();
await pulled;
pushing.unsubscribe();
process.stdout.write('pulled\n');

// A bind that waits for a taken address to free up: unsubscribing must cancel the wait's timer.
const holder = new zmq.Pull({ linger: 0 });
await holder.bind('tcp://127.0.0.1:*');
const waiting = zmqPuller({ endpoint: holder.lastEndpoint!, bind: true }).subscribe({ error: () => undefined });
// Long enough for the first bind to fail and the retry wait to start (the path under test).
await new Promise((resolve) => setTimeout(resolve, 50));
waiting.unsubscribe();
holder.close();
process.stdout.write('bind retry cancelled\n');

// A send blocked on a long timeout (no peer): closing must release its timer too.
const stuck = new ZmqSender('pusher', { endpoint: 'tcp://127.0.0.1:*', bind: true, sendTimeout: '1h', metrics });
await stuck.whenReady();
const blocked = stuck.send(Buffer.from('nobody listens'));
stuck.close();
const receipt = await blocked;
process.stdout.write(`blocked send ${receipt.sent ? 'sent' : receipt.reason}\n`);

process.stdout.write('closed\n');
