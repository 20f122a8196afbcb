import type { OperatorFunction } from 'rxjs';
import { zmqSend, type SendReceipt, type ZmqMessage, type ZmqSenderOptions } from './zmq-sender.js';

/** Options of {@link zmqPusher}. */
export type ZmqPusherOptions = ZmqSenderOptions;

/**
 * Sink: pushes every source message on a ZeroMQ PUSH socket and emits a receipt for it.
 *
 * Subscribing connects (or binds, `bind: true`); unsubscribing closes the socket. Sends are
 * serialised and bounded: a message that finds no room within `sendTimeout` (no PULL peer yet,
 * or the peers' high-water marks are reached) is dropped and counted in
 * `makai_zmq_messages_dropped_total{endpoint,reason}`, never queued without bound.
 *
 * ```
 * source:  ──[RequestEventMessage]──[RequestEventMessage]──|
 * result:  ──{sent:true}────────────{sent:false,timeout}───|
 * ```
 *
 * @param options - endpoint, bind, CURVE/ZAP, `sendHighWaterMark`, `sendTimeout`, `maxQueued`, `metrics`
 * @returns an operator from messages (one frame or an array of frames) to {@link SendReceipt}s
 * @see zmqPublisher
 * @see ZmqSender for imperative sends through the same implementation
 */
export function zmqPusher(options: ZmqPusherOptions): OperatorFunction<ZmqMessage, SendReceipt> {
  return zmqSend('pusher', options);
}
