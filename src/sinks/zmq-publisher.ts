import type { OperatorFunction } from 'rxjs';
import { zmqSend, type SendReceipt, type ZmqMessage, type ZmqSenderOptions } from './zmq-sender.js';

/** Options of {@link zmqPublisher}. */
export type ZmqPublisherOptions = ZmqSenderOptions;

/**
 * Sink: publishes every source message on a ZeroMQ publisher socket and emits a receipt for it.
 *
 * Subscribing binds (`bind: true`, the usual role of a broker's outbound socket) or connects;
 * unsubscribing closes the socket. Sends are serialised and bounded: a message that finds no
 * room within `sendTimeout` (a subscriber's high-water mark is reached) is dropped and counted
 * in `makai_zmq_messages_dropped_total{endpoint,reason}`, never queued without bound. The
 * socket sets `noDrop`, so such drops are seen rather than silent (and one stuck subscriber
 * delays the others by at most `sendTimeout` per message); messages with no subscriber at all
 * are discarded by ZeroMQ as for any PUB.
 *
 * ```
 * source:  ──[evnew,4711]──[evnew,4712]──|
 * result:  ──{sent:true}───{sent:true}───|
 * ```
 *
 * @param options - endpoint, bind, CURVE/ZAP, `sendHighWaterMark`, `sendTimeout`, `maxQueued`, `metrics`
 * @returns an operator from messages (one frame or an array of frames) to {@link SendReceipt}s
 * @see zmqPusher
 * @see ZmqSender for imperative sends through the same implementation
 */
export function zmqPublisher(options: ZmqPublisherOptions): OperatorFunction<ZmqMessage, SendReceipt> {
  return zmqSend('publisher', options);
}
