import type { Observable } from 'rxjs';
import * as zmq from 'zeromq';
import { zmqReceiver, type ZmqReceiverOptions } from './zmq-receiver.js';
import type { ZmqFrames } from './zmq-socket-options.js';

/** Options of {@link zmqPuller}. */
export type ZmqPullerOptions = ZmqReceiverOptions;

/**
 * A ZeroMQ PULL socket as a cold observable of multipart messages.
 *
 * Each subscription creates its own socket, binds (`bind: true`, the usual role of a broker's
 * request socket) or connects, and emits every message as its array of frames; unsubscribing
 * closes the socket. Unlike SUB, a full PULL queue pushes back on the senders instead of
 * dropping.
 *
 * ```
 * PUSH ──[ RequestEventMessage ]──► zmqPuller ──► [f0] ─ [f0] ─ …
 * ```
 *
 * @param options - endpoint, bind, CURVE and ZAP settings, receive HWM
 * @returns an observable that never completes on its own (until the socket is closed)
 * @see zmqSubscriber
 */
export function zmqPuller(options: ZmqPullerOptions): Observable<ZmqFrames> {
  return zmqReceiver(() => new zmq.Pull(), options);
}
