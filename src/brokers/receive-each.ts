import type * as zmq from 'zeromq';
import { isAgainError } from '../sources/zmq-socket-options.js';

/**
 * Receives every message of `socket` and hands it to `handle`, one at a time, until the socket
 * is closed (then it resolves).
 *
 * Why not `for await (const frames of socket)`: on a socket with ZAP authentication libzmq queues
 * the peer's credential ahead of its first message; `ZMQ_EVENTS` then reports the socket
 * readable, the read skips the credential and finds nothing, and zeromq.js rejects the receive
 * with `EAGAIN`, which would end a `for await` loop and silently stop the broker reading. Such an
 * `EAGAIN` only means "nothing yet", so the loop asks again.
 *
 * @param socket - a readable socket
 * @param handle - called for each message; awaited before the next receive (back-pressure)
 * @throws whatever `handle` throws, and receive errors other than `EAGAIN` on an open socket
 * @internal
 */
export async function receiveEach(
  socket: zmq.Socket & zmq.Readable,
  handle: (frames: Uint8Array[]) => void | Promise<void>,
): Promise<void> {
  while (!socket.closed) {
    let frames: Uint8Array[];
    try {
      frames = await socket.receive();
    } catch (error) {
      if (socket.closed) return;
      if (isAgainError(error)) continue;
      throw error;
    }
    await handle(frames);
  }
}
