import * as zmq from 'zeromq';
import { ConfigError, ConnectionError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { z85Encode } from './z85.js';

/** The inproc endpoint libzmq sends ZAP requests to (RFC 27). One handler per context. */
export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/** Why a handshake was refused. Stable: these are metric labels. */
export type ZapRejectReason =
  /** A CURVE key that `isAllowed` does not know. */
  | 'unknown-key'
  /** NULL, PLAIN, GSSAPI or anything else but CURVE: plaintext clients get nothing through. */
  | 'mechanism'
  /** A ZAP domain outside `domains`. */
  | 'domain'
  /** A request that does not follow RFC 27 (wrong version, missing frames, bad key length). */
  | 'malformed'
  /** `isAllowed` threw or rejected; the client is refused (status 500). */
  | 'error';

/** Options of {@link ZapAuthenticator}. Give exactly one of `isAllowed` and `allowAny`. */
export interface ZapAuthenticatorOptions {
  /**
   * Decides on a CURVE client's public key (Z85, 40 characters). Asked on every handshake, so
   * an allow-list that changes at run time (client_certs reloaded, boxes added to the store)
   * takes effect for the next connection without a restart.
   */
  readonly isAllowed?: (publicKeyZ85: string) => boolean | Promise<boolean>;
  /**
   * Accept any CURVE client key (the original's `CURVE_ALLOW_ANY`, used when `white_list` is
   * false): traffic is still encrypted and other mechanisms are still refused.
   */
  readonly allowAny?: boolean;
  /** ZAP domains served; a request from any other domain is refused. Default: every domain. */
  readonly domains?: readonly string[];
  /** Rejections are logged at warn (public key and address only), acceptances at debug. */
  readonly logger: Logger;
  /** Counts `makai_zap_rejections_total{reason}` and `makai_zap_acceptances_total`. */
  readonly metrics: Metrics;
  /** The ZeroMQ context of the server sockets. Default: zeromq's global context, which every socket uses unless given another. */
  readonly context?: zmq.Context;
}

/** A decision on one ZAP request, before it is encoded as reply frames. */
export interface ZapDecision {
  /** `200` accepted, `400` refused, `500` the handler failed. */
  readonly status: '200' | '400' | '500';
  readonly reason?: ZapRejectReason;
}

/** The fields of a ZAP 1.0 request (RFC 27). */
export interface ZapRequest {
  readonly version: string;
  readonly requestId: Uint8Array;
  readonly domain: string;
  readonly address: string;
  readonly mechanism: string;
  readonly credentials: readonly Uint8Array[];
}

const STATUS_TEXT = { '200': 'OK', '400': 'Forbidden', '500': 'Internal error' } as const;
const CURVE_KEY_BYTES = 32;

const text = (frame: Uint8Array | undefined) => (frame === undefined ? '' : Buffer.from(frame).toString('utf8'));

/** Splits request frames into fields; `undefined` when there are too few frames for RFC 27. */
export function parseZapRequest(frames: readonly Uint8Array[]): ZapRequest | undefined {
  // version, request id, domain, address, identity, mechanism, credentials...
  if (frames.length < 6) return undefined;
  return {
    version: text(frames[0]),
    requestId: frames[1]!,
    domain: text(frames[2]),
    address: text(frames[3]),
    mechanism: text(frames[5]),
    credentials: frames.slice(6),
  };
}

/**
 * The ZAP handler libzmq lacks in zeromq.js: a REP socket bound to `inproc://zeromq.zap.01` in
 * the server sockets' context, answering every CURVE handshake of every server socket in that
 * context (RFC 27, ZAP 1.0).
 *
 * - CURVE: the credential is the client's 32-byte public key; it is converted to Z85 and handed
 *   to `isAllowed` (or accepted under `allowAny`). Status 200 or 400. The user id is left empty:
 *   libzmq would queue a non-empty one as a "credential" message ahead of the peer's first
 *   message, which zeromq.js can surface as a spurious `EAGAIN` on receive, and nothing in
 *   zeromq.js reads it.
 * - Any other mechanism (NULL with a ZAP domain, PLAIN, ...) is refused: Makai's secured
 *   sockets speak only CURVE.
 * - Rejections are logged (public key, address, domain, reason; never secret material) and
 *   counted in `makai_zap_rejections_total{reason}`; acceptances in `makai_zap_acceptances_total`.
 *
 * Start it before the CURVE server sockets accept clients. Those sockets set
 * `zapEnforceDomain`, so while no authenticator runs (before `start()`, after `close()`)
 * every client is refused rather than let in. `close()` releases everything: the process can
 * exit afterwards.
 *
 * Shut down in this order: `await authenticator.close()`, then close the server sockets.
 * libzmq 4.3.5 can abort the process (assertions in `pipe.cpp` / `socket_base.cpp`) when a
 * server socket is closed and the handler closes while libzmq is still tearing down that
 * socket's ZAP pipes; closing the handler first avoids the race, and established sessions are
 * unaffected by it.
 *
 * ```
 * box ──CURVE HELLO/INITIATE──► server socket ──ZAP request──► ZapAuthenticator ──isAllowed(key)
 *                               server socket ◄──"200" | "400"──┘
 * ```
 */
export class ZapAuthenticator {
  private readonly options: ZapAuthenticatorOptions;
  private readonly logger: Logger;
  private readonly rejections;
  private readonly acceptances;
  private socket: zmq.Reply | undefined;
  private loop: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> = Promise.resolve();

  /** @throws ConfigError unless exactly one of `isAllowed` and `allowAny` is given */
  constructor(options: ZapAuthenticatorOptions) {
    if ((options.isAllowed === undefined) === (options.allowAny !== true)) {
      throw new ConfigError('give exactly one of isAllowed (an allow-list) and allowAny: true', { path: 'isAllowed' });
    }
    this.options = options;
    this.logger = options.logger.child({ component: 'security.zap' });
    this.rejections = options.metrics.counter('makai_zap_rejections_total', 'CURVE handshakes refused by the ZAP handler, by reason', ['reason']);
    this.acceptances = options.metrics.counter('makai_zap_acceptances_total', 'CURVE handshakes accepted by the ZAP handler');
  }

  /**
   * Binds the handler and starts answering requests.
   *
   * @throws ConnectionError (operation `bind`, endpoint `inproc://zeromq.zap.01`) when another
   *   handler is already bound in the context
   */
  async start(): Promise<void> {
    if (this.socket) throw new ConfigError('the ZAP authenticator was already started');
    if (this.closed) throw new ConfigError('the ZAP authenticator was closed; create a new one');
    const socket = this.options.context ? new zmq.Reply({ context: this.options.context }) : new zmq.Reply();
    socket.linger = 0;
    this.socket = socket;
    try {
      await socket.bind(ZAP_ENDPOINT);
    } catch (error) {
      socket.close();
      throw new ConnectionError('bind', ZAP_ENDPOINT, { cause: error });
    }
    if (this.closed) {
      socket.close();
      return;
    }
    this.loop = this.serve(socket);
    this.logger.info('ZAP authenticator started', { mode: this.options.allowAny ? 'allow-any' : 'allow-list' });
  }

  /**
   * Stops answering and closes the socket; resolves once the endpoint is released and the
   * request loop has ended, so a new authenticator can start at once. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return this.closing;
    this.closed = true;
    this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.closed) return;
    // libzmq releases an inproc name only when its reaper gets to the closed socket; until then
    // servers would still route ZAP requests to a handler that never answers. An explicit
    // unbind releases the name before close() returns.
    try {
      await socket.unbind(ZAP_ENDPOINT);
    } catch {
      // Not bound (start failed or is still binding): closing is all there is to do.
    }
    socket.close();
    await this.loop;
  }

  /**
   * Decides one request. Exposed for tests and for callers that want to reuse the policy;
   * it logs and counts like a request that came over the socket.
   */
  async decide(request: ZapRequest): Promise<ZapDecision> {
    const refuse = (reason: ZapRejectReason, status: '400' | '500' = '400', publicKey?: string): ZapDecision => {
      this.rejections.inc({ reason });
      this.logger.warn('ZAP refused a client', {
        reason,
        mechanism: request.mechanism,
        domain: request.domain,
        address: request.address,
        ...(publicKey === undefined ? {} : { publicKey }),
      });
      return { status, reason };
    };
    if (request.version !== '1.0') return refuse('malformed');
    const domains = this.options.domains;
    if (domains !== undefined && !domains.includes(request.domain)) return refuse('domain');
    if (request.mechanism !== 'CURVE') return refuse('mechanism');
    const key = request.credentials[0];
    if (request.credentials.length !== 1 || key === undefined || key.length !== CURVE_KEY_BYTES) return refuse('malformed');
    const publicKey = z85Encode(key);
    let allowed: boolean;
    try {
      allowed = this.options.allowAny === true || (await this.options.isAllowed!(publicKey)) === true;
    } catch (error) {
      this.logger.error('ZAP allow-list check failed', { error: describeError(error) });
      return refuse('error', '500', publicKey);
    }
    if (!allowed) return refuse('unknown-key', '400', publicKey);
    this.acceptances.inc();
    this.logger.debug('ZAP accepted a client', { publicKey, address: request.address, domain: request.domain });
    return { status: '200' };
  }

  /** Answers requests one at a time (REP alternates receive and send) until the socket closes. */
  private async serve(socket: zmq.Reply): Promise<void> {
    try {
      for await (const frames of socket) {
        const request = parseZapRequest(frames);
        const decision = request
          ? await this.decide(request)
          : await this.decide({ version: '', requestId: new Uint8Array(), domain: '', address: '', mechanism: '', credentials: [] });
        if (socket.closed) return;
        const status = decision.status;
        // Reply: version, request id, status code, status text, user id (empty, see above), metadata (empty).
        await socket.send(['1.0', request?.requestId ?? frames[1] ?? new Uint8Array(), status, STATUS_TEXT[status], '', new Uint8Array()]);
      }
    } catch (error) {
      if (socket.closed) return;
      // The handler is gone: with zapEnforceDomain every new CURVE client is now refused.
      this.logger.error('ZAP authenticator stopped', { error: describeError(error) });
      socket.close();
    }
  }
}
