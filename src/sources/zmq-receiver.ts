import { Observable } from 'rxjs';
import type * as zmq from 'zeromq';
import { ConfigError, ConnectionError, StreamError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import {
  attachSocket,
  closeSocket,
  configureSocket,
  validateSocketOptions,
  type ZmqFrames,
  type ZmqSocketOptions,
} from './zmq-socket-options.js';
import { zmqMessages } from './zmq-messages.js';

/** Options shared by the receiving sources (SUB, PULL). */
export interface ZmqReceiverOptions extends ZmqSocketOptions {
  /** ZMQ_RCVHWM: messages libzmq queues per peer before it drops (SUB) or pushes back (PULL). Default 1000. */
  readonly receiveHighWaterMark?: number;
  /** Counts `makai_zmq_messages_received_total{endpoint}` when given. */
  readonly metrics?: Metrics;
}

/** A socket that can be read with `for await`. */
type ReadableSocket = zmq.Socket & zmq.Readable;

/** Validates {@link ZmqReceiverOptions}; throws `ConfigError` naming the field. @internal */
export function validateReceiverOptions(options: ZmqReceiverOptions): void {
  validateSocketOptions(options);
  const hwm = options.receiveHighWaterMark;
  if (hwm !== undefined && !(Number.isInteger(hwm) && hwm >= 0)) {
    throw new ConfigError('must be a non-negative integer', { path: 'receiveHighWaterMark' });
  }
}

/**
 * The cold observable behind `zmqSubscriber` and `zmqPuller`: each subscription creates its own
 * socket with `create`, configures and attaches it, and emits every multipart message as an
 * array of frames. Unsubscribing closes the socket; nothing (socket, poller, timer) outlives the
 * subscription. Bind/connect and receive failures error the stream with a `ConnectionError`.
 *
 * ```
 * subscribe ──► create ─ configure ─ bind|connect ─ receive… ──► [f0,f1] [f0,f1] …
 * unsubscribe ──► close
 * ```
 *
 * @internal
 */
export function zmqReceiver(create: () => ReadableSocket, options: ZmqReceiverOptions): Observable<ZmqFrames> {
  validateReceiverOptions(options);
  // Labels bound once: this counts every message.
  const received = options.metrics
    ?.counter('makai_zmq_messages_received_total', 'ZeroMQ messages received, by configured endpoint', ['endpoint'])
    .labels({ endpoint: options.endpoint });
  return new Observable<ZmqFrames>((subscriber) => {
    let closed = false;
    const abort = new AbortController();
    const socket = create();
    try {
      configureSocket(socket, options);
      if (options.receiveHighWaterMark !== undefined) {
        socket.receiveHighWaterMark = options.receiveHighWaterMark;
      }
    } catch (error) {
      closeSocket(socket);
      subscriber.error(new ConnectionError('configure', options.endpoint, { cause: error }));
      return undefined;
    }
    const run = async () => {
      const endpoint = await attachSocket(socket, options, abort.signal);
      if (closed) return;
      options.onReady?.(endpoint);
      for await (const frames of zmqMessages(socket)) {
        if (closed) return;
        received?.inc();
        subscriber.next(frames);
      }
    };
    run().then(
      () => {
        if (!closed) subscriber.complete();
      },
      (error: unknown) => {
        if (closed) return;
        subscriber.error(error instanceof StreamError ? error : new ConnectionError('receive', options.endpoint, { cause: error }));
      },
    );
    return () => {
      closed = true;
      abort.abort();
      closeSocket(socket);
    };
  });
}
