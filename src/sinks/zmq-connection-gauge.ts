import type * as zmq from 'zeromq';
import type { Gauge } from '../core/metrics.js';

/**
 * Keeps `gauge{endpoint}` at the number of TCP connections `socket` holds, from libzmq's socket
 * monitor: `connect`/`accept` add one, `disconnect` takes one away. Returns the function that
 * stops counting and takes this socket's connections back out of the gauge (call it on close:
 * the monitor's last events do not arrive after the socket is gone).
 *
 * Why it matters: a connecting PUSH queues a message for a peer that is down, and delivers it
 * on reconnect, only once libzmq has seen the disconnect; written before that, it goes into the
 * dying connection and is lost. The gauge makes that state visible to operators and tests.
 */
export function countConnections(socket: zmq.Socket, gauge: Gauge<string>, endpoint: string): () => void {
  let connections = 0;
  let counting = true;
  const change = (delta: number) => {
    if (!counting) return;
    connections += delta;
    gauge.inc({ endpoint }, delta);
  };
  socket.events.on('connect', () => change(1));
  socket.events.on('accept', () => change(1));
  socket.events.on('disconnect', () => change(-1));
  return () => {
    if (!counting) return;
    gauge.dec({ endpoint }, connections);
    counting = false;
  };
}
