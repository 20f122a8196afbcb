import type * as zmq from 'zeromq';

/**
 * Sends on one socket from several callers (the request loop and the ping timer share the box
 * PUB): zeromq v6 allows a single pending send per socket, so sends are chained in call order.
 * A PUB never blocks (it drops at its high-water mark, as the original), so the chain stays short.
 *
 * @internal
 */
export class SerialPublisher {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly socket: zmq.Writable & zmq.Socket;

  constructor(socket: zmq.Writable & zmq.Socket) {
    this.socket = socket;
  }

  /** Resolves once the message was handed to libzmq; rejects when the socket is closed or fails. */
  send(frames: readonly (string | Uint8Array)[]): Promise<void> {
    const sent = this.tail.then(() => this.socket.send([...frames]));
    // Keep the chain alive after a failure; the caller sees the rejection through `sent`.
    this.tail = sent.catch(() => undefined);
    return sent;
  }
}
