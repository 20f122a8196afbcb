import { setTimeout as delay } from 'node:timers/promises';
import type * as zmq from 'zeromq';
import { ConfigError, ConnectionError } from '../core/errors.js';
import { z85KeyProblem } from '../security/z85.js';

/**
 * Shared socket plumbing of the ZeroMQ sources and sinks (and the brokers): option types,
 * validation, CURVE set-up, bind/connect with errors that name the endpoint, and closing.
 * One place, so every socket Makai opens gets linger 0 and the same checks.
 *
 * @internal
 */

/** One ZeroMQ message: its frames, in order. */
export type ZmqFrames = Uint8Array[];

/** CURVE role of a socket that accepts clients (a broker's box-facing socket). */
export interface CurveServerOptions {
  readonly role: 'server';
  /** Z85 secret key of the server certificate (40 characters). */
  readonly secretKey: string;
}

/** CURVE role of a socket that connects to a CURVE server (a box, or a test client). */
export interface CurveClientOptions {
  readonly role: 'client';
  /** Z85 public key of the server this socket talks to. */
  readonly serverPublicKey: string;
  /** Z85 public key of this client; the server's ZAP handler decides on it. */
  readonly publicKey: string;
  /** Z85 secret key of this client. */
  readonly secretKey: string;
}

/** Options every Makai ZeroMQ socket understands. */
export interface ZmqSocketOptions {
  /**
   * `tcp://host:port`, `ipc://path` or `inproc://name`. A bound TCP socket may use `*` as host
   * (all interfaces) or port (a free port; read it back through `onReady`).
   */
  readonly endpoint: string;
  /** Bind instead of connect. Default false. */
  readonly bind?: boolean;
  /** CURVE security; plain TCP when absent. */
  readonly curve?: CurveClientOptions | CurveServerOptions;
  /**
   * ZAP domain (RFC 27) sent to the authenticator. Default for a CURVE server: `global`, as
   * the original brokers and boxes use; otherwise unset.
   */
  readonly zapDomain?: string;
  /**
   * Called once the socket is bound or connected, with the resolved endpoint (a bound `*` port
   * filled in). Useful for logs and for tests that bind to a free port.
   */
  readonly onReady?: (endpoint: string) => void;
}

const TCP_ADDRESS = /^(\*|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+(?:;[A-Za-z0-9_.*-]+)?):(\*|\d{1,5})$/;

/**
 * Why `endpoint` is not usable, or `undefined`. Checks the transport and, for TCP, host and
 * port, so a typo fails when the topology is built rather than inside libzmq.
 */
export function endpointProblem(endpoint: string, bind: boolean): string | undefined {
  const match = /^([a-z]+):\/\/(.*)$/.exec(endpoint);
  if (!match) return `"${endpoint}" is not an endpoint (expected tcp://host:port, ipc://path or inproc://name)`;
  const [, transport, address = ''] = match;
  switch (transport) {
    case 'tcp': {
      const tcp = TCP_ADDRESS.exec(address);
      if (!tcp) return `"${endpoint}" is not a TCP endpoint (expected tcp://host:port)`;
      const [, host, port = ''] = tcp;
      if (port !== '*' && !(Number(port) >= 1 && Number(port) <= 65535)) return `"${endpoint}": port ${port} is out of range 1-65535`;
      if (!bind && (host === '*' || port === '*')) return `"${endpoint}": a connecting socket needs a concrete host and port`;
      return undefined;
    }
    case 'ipc':
    case 'inproc':
      return address.length > 0 ? undefined : `"${endpoint}": ${transport} needs a name`;
    default:
      return `"${endpoint}": unsupported transport "${transport}" (use tcp, ipc or inproc)`;
  }
}

/**
 * Validates the common options, throwing a {@link ConfigError} whose path names the field.
 * Key problems are described without the key text, so secrets never reach a log.
 */
export function validateSocketOptions(options: ZmqSocketOptions, path = ''): void {
  const at = (field: string) => (path ? `${path}.${field}` : field);
  const endpoint = endpointProblem(options.endpoint, options.bind ?? false);
  if (endpoint) throw new ConfigError(endpoint, { path: at('endpoint') });
  const curve = options.curve;
  if (curve === undefined) return;
  const keys: [string, string][] =
    curve.role === 'server'
      ? [['secretKey', curve.secretKey]]
      : curve.role === 'client'
        ? [['serverPublicKey', curve.serverPublicKey], ['publicKey', curve.publicKey], ['secretKey', curve.secretKey]]
        : [];
  if (keys.length === 0) throw new ConfigError(`curve.role must be "server" or "client"`, { path: at('curve.role') });
  for (const [field, key] of keys) {
    const problem = typeof key === 'string' ? z85KeyProblem(key) : 'missing';
    if (problem) throw new ConfigError(`not a Z85 CURVE key: ${problem}`, { path: at(`curve.${field}`) });
  }
}

/** ZAP domain of CURVE server sockets unless configured otherwise (the original's value). */
export const DEFAULT_CURVE_ZAP_DOMAIN = 'global';

/**
 * Sets linger 0 (closing discards unsent messages instead of holding the process at exit),
 * the CURVE keys and the ZAP domain. Call before bind/connect: CURVE options only apply to
 * connections made afterwards.
 *
 * A CURVE server also gets `zapEnforceDomain`: libzmq then refuses every client while no ZAP
 * handler (`ZapAuthenticator`) is running, instead of its default of letting any key in.
 */
export function configureSocket(socket: zmq.Socket, options: ZmqSocketOptions): void {
  socket.linger = 0;
  const curve = options.curve;
  if (curve?.role === 'server') {
    socket.curveServer = true;
    socket.curveSecretKey = curve.secretKey;
    socket.zapEnforceDomain = true;
    socket.zapDomain = options.zapDomain ?? DEFAULT_CURVE_ZAP_DOMAIN;
  } else {
    if (curve?.role === 'client') {
      socket.curveServerKey = curve.serverPublicKey;
      socket.curvePublicKey = curve.publicKey;
      socket.curveSecretKey = curve.secretKey;
    }
    if (options.zapDomain !== undefined) socket.zapDomain = options.zapDomain;
  }
}

/**
 * Waits before each new bind attempt while the address is still in use. libzmq closes a
 * listener in its I/O thread some time after `close()`, so an endpoint released by an
 * unsubscribe (a restarting pipeline) may still be taken for a moment. About one second in
 * all; a real conflict is reported after it.
 */
const BIND_RETRY_DELAYS_MS = [20, 40, 80, 160, 320, 400];

/**
 * Binds or connects `socket` as the options say and resolves with the resolved endpoint.
 * A bind that finds the address in use is retried for about a second (see above); `signal`
 * cancels the wait, so no timer outlives the caller.
 *
 * @throws ConnectionError with operation `bind`/`connect` and the configured endpoint
 */
export async function attachSocket(socket: zmq.Socket, options: ZmqSocketOptions, signal?: AbortSignal): Promise<string> {
  if (!options.bind) {
    try {
      // connect() is synchronous in zeromq v6: it only records the peer; libzmq dials in the background.
      socket.connect(options.endpoint);
      return options.endpoint;
    } catch (error) {
      throw new ConnectionError('connect', options.endpoint, { cause: error });
    }
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await socket.bind(options.endpoint);
      return socket.lastEndpoint ?? options.endpoint;
    } catch (error) {
      const wait = BIND_RETRY_DELAYS_MS[attempt];
      const inUse = (error as { code?: unknown }).code === 'EADDRINUSE';
      if (!inUse || wait === undefined || socket.closed || signal?.aborted) {
        throw new ConnectionError('bind', options.endpoint, { cause: error });
      }
      try {
        await delay(wait, undefined, signal ? { signal } : {});
      } catch {
        throw new ConnectionError('bind', options.endpoint, { cause: error });
      }
    }
  }
}

/** Closes `socket` at once (idempotent). Pending receives end and pending sends reject. */
export function closeSocket(socket: zmq.Socket): void {
  // Linger is already 0 (configureSocket); setting it here would throw while a bind is pending.
  if (!socket.closed) socket.close();
}

/** True when `error` is ZeroMQ's "try again" (a send or receive timed out). */
export function isAgainError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'EAGAIN';
}
