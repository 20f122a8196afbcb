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

/**
 * Counts every failed handshake on a CURVE server socket by kind
 * (`makai_handshake_failures_total{socket, kind}`) and logs them at a bounded rate. The ZAP
 * handler sees only clients that got as far as presenting a key; a plaintext client or one
 * with the wrong server key fails before ZAP and was uncounted (issue 14). Listens on the
 * socket's event observer until the socket closes.
 */
export function countHandshakeFailures(socket: zmq.Socket, options: HandshakeFailureOptions): void {
  const failures = options.metrics.counter('makai_handshake_failures_total', 'Failed CURVE handshakes on the broker sockets, by socket and kind', ['socket', 'kind']);
  const maxLogs = options.maxLogsPerInterval ?? 10;
  const intervalMs = options.intervalMs ?? 60_000;
  const windows = new Map<HandshakeFailure, { startMs: number; logged: number }>();
  const onFailure = (event: zmq.Event) => {
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
  for (const type of ['handshake:error:auth', 'handshake:error:protocol', 'handshake:error:other'] as const) socket.events.on(type, onFailure);
}
