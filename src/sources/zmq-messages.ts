import type * as zmq from 'zeromq';
import { isAgainError } from './zmq-socket-options.js';

/**
 * Every message of a readable socket, as an async iterable that ends when the socket is closed.
 *
 * Why not `for await (const frames of socket)`: on a socket with ZAP authentication libzmq
 * queues the peer's credential ahead of its first message; `ZMQ_EVENTS` then reports the socket
 * readable, the read skips the credential and finds nothing, and zeromq.js rejects the receive
 * with `EAGAIN`, which would end a plain `for await` loop and silently stop the reader. Such an
 * `EAGAIN` only means "nothing yet", so this asks again. The consumer's loop body runs before the
 * next receive, which gives back-pressure for free.
 *
 * @param socket A readable socket; closing it ends the iteration.
 * @throws Receive errors other than `EAGAIN` on an open socket.
 */
export async function* zmqMessages(socket: zmq.Socket & zmq.Readable): AsyncGenerator<Uint8Array[], void, undefined> {
  while (!socket.closed) {
    let frames: Uint8Array[];
    try {
      frames = await socket.receive();
    } catch (error) {
      if (socket.closed) return;
      if (isAgainError(error)) continue;
      throw error;
    }
    yield frames;
  }
}
