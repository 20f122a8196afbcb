import type { Observable } from 'rxjs';
import * as zmq from 'zeromq';
import { ConfigError } from '../core/errors.js';
import { zmqReceiver, type ZmqReceiverOptions } from './zmq-receiver.js';
import type { ZmqFrames } from './zmq-socket-options.js';

/** Options of {@link zmqSubscriber}. */
export interface ZmqSubscriberOptions extends ZmqReceiverOptions {
  /**
   * Topic prefixes to subscribe to (ZeroMQ matches frame 0 by prefix: `"1"` also receives
   * `"1003"`). Default `['']`: everything.
   */
  readonly topics?: readonly (string | Uint8Array)[];
}

/**
 * A ZeroMQ SUB socket as a cold observable of multipart messages.
 *
 * Each subscription creates its own socket, connects (or binds, `bind: true`), subscribes to
 * `topics` and emits every message as its array of frames; unsubscribing closes the socket, so
 * the endpoint can be bound again at once. Bind/connect failures error the stream with a
 * `ConnectionError` naming the endpoint; bad options throw `ConfigError` here, synchronously.
 *
 * ```
 * box PUB ──[ "1003", TriggerMessage ]──► zmqSubscriber ──► [f0, f1] ─ [f0, f1] ─ …
 * ```
 *
 * @example
 * ```ts
 * zmqSubscriber({ endpoint: 'tcp://127.0.0.1:9881' }).pipe(decodeTrigger(...))
 * ```
 * @param options - endpoint, bind, topics, CURVE and ZAP settings, receive HWM
 * @returns an observable that never completes on its own (until the socket is closed)
 * @see zmqPuller
 */
export function zmqSubscriber(options: ZmqSubscriberOptions): Observable<ZmqFrames> {
  const topics = options.topics ?? [''];
  if (topics.length === 0) throw new ConfigError('must list at least one topic (use [""] for all)', { path: 'topics' });
  return zmqReceiver(() => {
    const socket = new zmq.Subscriber();
    // Subscriptions may be set before connecting; libzmq sends them to every peer that attaches.
    socket.subscribe(...topics.map((topic) => (typeof topic === 'string' ? topic : Buffer.from(topic))));
    return socket;
  }, options);
}
