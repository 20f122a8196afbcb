import type { SchedulerLike } from 'rxjs';
import type * as zmq from 'zeromq';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';

/**
 * Why a CURVE server socket's handshake with a client failed. Stable: these are metric labels.
 *
 * - `plaintext`: the client spoke no CURVE (NULL or PLAIN): ZMTP mechanism mismatch.
 * - `wrong-server-key`: the client's HELLO could not be decrypted: it was given another server
 *   public key (or is not a CURVE client of ours at all).
 * - `refused-key`: ZAP refused the client's key (unknown key; `makai_zap_rejections_total` has
 *   the ZAP reason).
 * - `protocol`: any other ZMTP or ZAP protocol error.
 * - `other`: libzmq gave no detail.
 */
export type HandshakeFailure = 'plaintext' | 'wrong-server-key' | 'refused-key' | 'protocol' | 'other';

/** Options of {@link countHandshakeFailures}. */
export interface HandshakeFailureOptions {
  /** The socket's config field, e.g. `box_pull`: a metrics label. */
  readonly socket: string;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Times the log rate limit. */
  readonly scheduler: SchedulerLike;
  /** At most this many log lines per kind per `intervalMs`; the rest are only counted. Default 10 per minute. */
  readonly maxLogsPerInterval?: number;
  readonly intervalMs?: number;
}

/** The failure kind of a zeromq.js `handshake:error:*` event. */
export function handshakeFailureOf(event: zmq.Event): HandshakeFailure | undefined {
  switch (event.type) {
    case 'handshake:error:auth':
      return 'refused-key';
    case 'handshake:error:protocol':
      if (event.error.code === 'ERR_ZMTP_MECHANISM_MISMATCH') return 'plaintext';
      if (event.error.code === 'ERR_ZMTP_CRYPTOGRAPHIC' || event.error.code === 'ERR_ZMTP_MALFORMED_COMMAND_HELLO') return 'wrong-server-key';
      return 'protocol';
    case 'handshake:error:other':
      return 'other';
    default:
      return undefined;
  }
}

/** A running {@link countHandshakeFailures}. */
export interface HandshakeFailureCounter {
  /**
   * Stops counting and releases the socket's monitor without racing libzmq: call it before
   * closing the socket. It stops asking for events, unbinds `endpoint` (which makes libzmq
   * emit a last `close` event that ends the pending receive) and waits for the loop to end (at
   * most `timeoutMs`). The monitor's own socket is then closed only once nothing reads from it.
   */
  release(endpoint: string, timeoutMs?: number): Promise<void>;
  /**
   * Closes the monitor's own socket, once the monitored socket is closed and libzmq has had
   * time to tear its end down (`settleMs`): left open, it was closed by the garbage collector
   * at an arbitrary moment, racing the context's termination.
   */
  dispose(settleMs?: number): Promise<void>;
}

/**
 * Counts every failed handshake on a CURVE server socket by kind
 * (`makai_handshake_failures_total{socket, kind}`) and logs them at a bounded rate. The ZAP
 * handler sees only clients that got as far as presenting a key; a plaintext client or one
 * with the wrong server key fails before ZAP and was uncounted (issue 14).
 *
 * It reads the socket's event observer (a libzmq socket monitor) with its own receive loop
 * rather than `events.on`, so that shutdown can stop reading first
 * ({@link HandshakeFailureCounter.release}) and close the monitor last
 * ({@link HandshakeFailureCounter.dispose}).
 *
 * libzmq 4.3.5 (zeromq.js 6.8.0) aborts a process that stops brokers now and then (`pipe.cpp`
 * assertions on pipe termination), with and without monitors, at similar rates under load
 * (docs/security.md); `count_handshake_failures: false` turns the monitors off.
 */
export function countHandshakeFailures(socket: zmq.Socket, options: HandshakeFailureOptions): HandshakeFailureCounter {
  const failures = options.metrics.counter('makai_handshake_failures_total', 'Failed CURVE handshakes on the broker sockets, by socket and kind', ['socket', 'kind']);
  const maxLogs = options.maxLogsPerInterval ?? 10;
  const intervalMs = options.intervalMs ?? 60_000;
  const windows = new Map<HandshakeFailure, { startMs: number; logged: number }>();
  const onEvent = (event: zmq.Event) => {
    const kind = handshakeFailureOf(event);
    if (kind === undefined) return;
    failures.inc({ socket: options.socket, kind });
    const now = options.scheduler.now();
    let window = windows.get(kind);
    if (!window || now - window.startMs >= intervalMs) {
      window = { startMs: now, logged: 0 };
      windows.set(kind, window);
    }
    if (window.logged++ < maxLogs) {
      const address = 'address' in event ? event.address : undefined;
      const error = 'error' in event ? event.error : undefined;
      options.logger.warn('handshake failed', { socket: options.socket, kind, address, ...(error ? { detail: error.message } : {}) });
    }
  };
  let releasing = false;
  const loop = (async () => {
    const events = socket.events;
    while (!releasing) {
      let event: zmq.Event;
      try {
        event = await events.receive();
      } catch {
        return; // the observer or the socket is closed
      }
      if (event.type === 'end') return;
      onEvent(event);
    }
  })();
  return {
    async release(endpoint, timeoutMs = 1000) {
      releasing = true;
      try {
        await socket.unbind(endpoint);
      } catch {
        // Not bound (start failed) or already closed: the loop ends with the socket.
      }
      let timer: NodeJS.Timeout | undefined;
      // Shutdown only: a bounded wait for libzmq's `close` event, never an operator timer.
      await Promise.race([loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    },
    async dispose(settleMs = 50) {
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      try {
        if (!socket.events.closed) socket.events.close();
      } catch {
        // Already closed with the socket.
      }
    },
  };
}
