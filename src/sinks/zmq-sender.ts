import { defer, from, ignoreElements, merge, mergeMap, finalize, type OperatorFunction } from 'rxjs';
import * as zmq from 'zeromq';
import { ConfigError, ConnectionError } from '../core/errors.js';
import { parseDuration, type DurationInput } from '../core/duration.js';
import type { Metrics } from '../core/metrics.js';
import {
  attachSocket,
  closeSocket,
  configureSocket,
  isAgainError,
  validateSocketOptions,
  type ZmqSocketOptions,
} from '../sources/zmq-socket-options.js';
import { countConnections } from './zmq-connection-gauge.js';

/** What a sink sends: one frame, or the frames of one multipart message. */
export type ZmqMessage = Uint8Array | readonly Uint8Array[];

/** Which socket a {@link ZmqSender} owns. */
export type ZmqSenderKind = 'publisher' | 'pusher';

/**
 * Why a message was dropped instead of sent. Stable: these are metric labels.
 * - `timeout`: no room within `sendTimeout` (high-water mark reached, or no peer to send to)
 * - `queue-full`: `maxQueued` messages were already waiting in this process
 * - `closed`: the sender was closed before the message's turn came
 */
export type SendDropReason = 'timeout' | 'queue-full' | 'closed';

/** The outcome of one send: handed to libzmq, or dropped (and counted) with a reason. */
export type SendReceipt =
  | { readonly sent: true; readonly message: ZmqMessage }
  | { readonly sent: false; readonly reason: SendDropReason; readonly message: ZmqMessage };

/** Options of the sending sockets (PUB, PUSH). */
export interface ZmqSenderOptions extends ZmqSocketOptions {
  /** ZMQ_SNDHWM: messages libzmq queues per peer. Default 1000. */
  readonly sendHighWaterMark?: number;
  /**
   * How long one message may wait for room (HWM reached, no peer yet) before it is dropped and
   * counted as `timeout`. `0` drops at once. Default `'1s'`. Never infinite: a stuck peer must
   * not stall the pipeline.
   */
  readonly sendTimeout?: DurationInput;
  /**
   * Messages this process holds at once, the one being sent included; a message beyond it is
   * dropped as `queue-full`. Default 1000.
   */
  readonly maxQueued?: number;
  /**
   * Counts `makai_zmq_messages_sent_total{endpoint}` and `makai_zmq_messages_dropped_total{endpoint,reason}`,
   * and (with `countConnections`) gauges `makai_zmq_connections{endpoint}`.
   */
  readonly metrics: Metrics;
  /**
   * Keep `makai_zmq_connections{endpoint}` from libzmq's socket monitor. Default false: a monitor
   * is a socket and a pipe more to tear down at close, where libzmq has aborted under load (a
   * `pipe.cpp` assertion, seen once in CI on a broker that had one); only the sockets whose
   * connection state matters (the service's acquisition PUSH) take that on.
   */
  readonly countConnections?: boolean;
}

const DEFAULT_SEND_TIMEOUT_MS = 1000;
const DEFAULT_MAX_QUEUED = 1000;

interface Pending {
  readonly message: ZmqMessage;
  readonly resolve: (receipt: SendReceipt) => void;
  readonly reject: (error: unknown) => void;
}

/** Validates {@link ZmqSenderOptions} and returns the send timeout in ms. @internal */
export function validateSenderOptions(options: ZmqSenderOptions): number {
  validateSocketOptions(options);
  const hwm = options.sendHighWaterMark;
  if (hwm !== undefined && !(Number.isInteger(hwm) && hwm >= 0)) {
    throw new ConfigError('must be a non-negative integer', { path: 'sendHighWaterMark' });
  }
  const maxQueued = options.maxQueued;
  if (maxQueued !== undefined && !(Number.isInteger(maxQueued) && maxQueued >= 1)) {
    throw new ConfigError('must be a positive integer', { path: 'maxQueued' });
  }
  const timeout = parseDuration(options.sendTimeout ?? DEFAULT_SEND_TIMEOUT_MS);
  if ('error' in timeout) throw new ConfigError(timeout.error, { path: 'sendTimeout' });
  // libzmq takes an int32 of ms.
  if (timeout.ms > 0x7fffffff) throw new ConfigError('is too long', { path: 'sendTimeout' });
  return timeout.ms;
}

/**
 * One PUB or PUSH socket with serialised, bounded sends: the imperative form of the ZeroMQ
 * sinks, for brokers that send from their own loops. The `zmqPublisher`/`zmqPusher` operators
 * are built on it, so both share one implementation.
 *
 * - The socket is created, configured and bound/connected in the constructor; `whenReady()`
 *   tells when (or why not: a `ConnectionError` with operation `bind`/`connect`).
 * - `send()` resolves with a {@link SendReceipt}. Sends go to libzmq one at a time (zeromq v6
 *   allows one blocked send per socket), each waiting at most `sendTimeout`; at most
 *   `maxQueued` messages wait in this process. A message that cannot go is dropped and
 *   counted, never queued without bound. Other socket failures reject with a
 *   `ConnectionError` (operation `send`).
 * - The publisher sets `noDrop` (ZMQ_XPUB_NODROP), so a full high-water mark is reported (and
 *   counted) instead of libzmq's silent PUB drop. A PUB with no subscriber at all still
 *   discards messages silently: that is fan-out to nobody, not a loss.
 * - `close()` closes the socket at once (linger 0) and drops whatever still waits as `closed`.
 */
export class ZmqSender {
  /** The configured endpoint (metric label, error field). */
  readonly endpoint: string;
  private readonly socket: zmq.Publisher | zmq.Push;
  private readonly ready: Promise<string>;
  private readonly maxQueued: number;
  private readonly queue: Pending[] = [];
  /** Messages accepted and not yet settled: the queue plus the one being sent. */
  private holding = 0;
  private readonly sentCount;
  private readonly droppedCount;
  private readonly abort = new AbortController();
  private pumping = false;
  private closed = false;
  private stopCountingConnections = () => {};

  constructor(kind: ZmqSenderKind, options: ZmqSenderOptions) {
    const timeoutMs = validateSenderOptions(options);
    this.endpoint = options.endpoint;
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.sentCount = options.metrics.counter('makai_zmq_messages_sent_total', 'ZeroMQ messages handed to libzmq, by configured endpoint', ['endpoint']);
    this.droppedCount = options.metrics.counter(
      'makai_zmq_messages_dropped_total',
      'ZeroMQ messages dropped instead of sent, by configured endpoint and reason',
      ['endpoint', 'reason'],
    );
    this.socket = kind === 'publisher' ? new zmq.Publisher() : new zmq.Push();
    try {
      configureSocket(this.socket, options);
      if (this.socket instanceof zmq.Publisher) this.socket.noDrop = true;
      if (options.sendHighWaterMark !== undefined) this.socket.sendHighWaterMark = options.sendHighWaterMark;
      this.socket.sendTimeout = timeoutMs;
    } catch (error) {
      closeSocket(this.socket);
      throw new ConnectionError('configure', options.endpoint, { cause: error });
    }
    if (options.countConnections === true) {
      const gauge = options.metrics.gauge('makai_zmq_connections', 'TCP connections of a sending ZeroMQ socket, by configured endpoint', ['endpoint']);
      this.stopCountingConnections = countConnections(this.socket, gauge, options.endpoint);
    }
    this.ready = attachSocket(this.socket, options, this.abort.signal).then((endpoint) => {
      options.onReady?.(endpoint);
      return endpoint;
    });
    // Marks the rejection handled; callers see it through whenReady() and send().
    this.ready.catch(() => undefined);
  }

  /** Resolves with the resolved endpoint once bound/connected; rejects with a `ConnectionError`. */
  whenReady(): Promise<string> {
    return this.ready;
  }

  /** Messages this sender holds: waiting ones plus the one being sent. */
  get queued(): number {
    return this.holding;
  }

  /**
   * Queues `message` for sending and resolves once it was handed to libzmq or dropped.
   * Never rejects for back-pressure (that is a dropped receipt); rejects with a
   * `ConnectionError` only when the socket itself failed.
   */
  send(message: ZmqMessage): Promise<SendReceipt> {
    if (this.closed) return Promise.resolve(this.drop(message, 'closed'));
    if (this.holding >= this.maxQueued) return Promise.resolve(this.drop(message, 'queue-full'));
    this.holding++;
    return new Promise<SendReceipt>((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      void this.pump();
    }).finally(() => this.holding--);
  }

  /** Closes the socket at once; messages still waiting resolve as dropped (`closed`). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.stopCountingConnections();
    closeSocket(this.socket);
    for (const pending of this.queue.splice(0)) pending.resolve(this.drop(pending.message, 'closed'));
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      try {
        await this.ready;
      } catch (error) {
        for (const pending of this.queue.splice(0)) pending.reject(error);
        return;
      }
      for (let pending = this.queue.shift(); pending !== undefined; pending = this.queue.shift()) {
        try {
          pending.resolve(await this.sendNow(pending.message));
        } catch (error) {
          pending.reject(error);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async sendNow(message: ZmqMessage): Promise<SendReceipt> {
    if (this.closed) return this.drop(message, 'closed');
    try {
      // zeromq accepts Uint8Array frames as they are; the spread copies only the array of frames.
      await this.socket.send(message instanceof Uint8Array ? message : [...message]);
    } catch (error) {
      if (this.closed) return this.drop(message, 'closed');
      if (isAgainError(error)) return this.drop(message, 'timeout');
      throw new ConnectionError('send', this.endpoint, { cause: error });
    }
    this.sentCount.inc({ endpoint: this.endpoint });
    return { sent: true, message };
  }

  private drop(message: ZmqMessage, reason: SendDropReason): SendReceipt {
    this.droppedCount.inc({ endpoint: this.endpoint, reason });
    return { sent: false, reason, message };
  }
}

/**
 * The sink operator behind `zmqPublisher` and `zmqPusher`: each subscription owns one
 * {@link ZmqSender}, sends every source message through it and emits one receipt per message
 * (in completion order: a `queue-full` drop is reported before earlier messages finish).
 * Completes after the source completes and every send settled; a failing bind/connect or
 * socket errors the stream with a `ConnectionError`. Unsubscribing closes the socket.
 *
 * @internal
 */
export function zmqSend(kind: ZmqSenderKind, options: ZmqSenderOptions): OperatorFunction<ZmqMessage, SendReceipt> {
  validateSenderOptions(options);
  return (source) =>
    defer(() => {
      const sender = new ZmqSender(kind, options);
      return merge(
        // Surfaces a bind/connect failure even before the first message arrives.
        from(sender.whenReady()).pipe(ignoreElements()),
        source.pipe(mergeMap((message) => sender.send(message))),
      ).pipe(finalize(() => sender.close()));
    });
}
