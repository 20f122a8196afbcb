import { asyncScheduler, type Observer, type SchedulerLike } from 'rxjs';
import * as zmq from 'zeromq';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { hexPreview, type Rejection } from '../core/rejection.js';
import { deadLetterLog } from '../sinks/dead-letter-log.js';
import { attachSocket, closeSocket, configureSocket } from '../sources/zmq-socket-options.js';
import type { Store } from '../stores/store.js';
import { BROKER_ZAP_DOMAIN, startBrokerAuthentication, type BrokerAuthentication } from './broker-authentication.js';
import type { BoxAllowList } from './box-allow-list.js';
import { zmqMessages } from '../sources/zmq-messages.js';
import { countHandshakeFailures, type HandshakeFailureCounter } from '../security/handshake-failures.js';
import { warnIfWildcardBackend } from './wildcard-endpoint.js';

/** The settings the triggering broker runs with (the parsed `triggering_broker_config.json`). */
export interface TriggerBrokerSettings {
  readonly client_certs: string;
  readonly server_cert: string;
  /** Box-facing XSUB (CURVE server). `tcp://127.0.0.1:*` binds a free port; see {@link TriggerBroker.endpoints}. */
  readonly interface: string;
  /** Backend XPUB (plain). */
  readonly backend: string;
  readonly white_list: boolean;
  /** ms between re-reads of `client_certs` and the box registry. */
  readonly key_refresh: number;
  /** Largest accepted inbound message from a box, bytes (ZeroMQ disconnects a peer sending more). Default 1 MiB. */
  readonly max_frame_bytes?: number;
  /** Count failed CURVE handshakes by kind from a socket monitor (see countHandshakeFailures). Default false (opt-in: docs/security.md). */
  readonly count_handshake_failures?: boolean;
}

export interface TriggerBrokerDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Box registry (`opq_boxes.public_key`) for the allow-list; optional. */
  readonly store?: Store | undefined;
  /** Drives the allow-list rescans and rejection-log rate limits. Default asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** Where refused frames go; by default a rate-limited dead-letter log counting `makai_rejected_total`. */
  readonly rejected?: Observer<Rejection>;
}

/** The endpoints a started broker is bound to (a `*` port resolved). */
export interface TriggerBrokerEndpoints {
  readonly interface: string;
  readonly backend: string;
}

const DEFAULT_MAX_FRAME_BYTES = 1_048_576;
/** XPUB messages that are (un)subscriptions: one frame, first byte 1 (subscribe) or 0 (unsubscribe). */
const SUBSCRIBE = 1;
const UNSUBSCRIBE = 0;

/**
 * The triggering broker (spec §7): boxes publish `[box id, TriggerMessage]` over CURVE to an
 * XSUB on `interface`; every message is forwarded unchanged to the XPUB on `backend`, and the
 * subscriptions of backend subscribers flow back to the boxes, so prefix filtering by box id
 * works end to end. No parsing, no storage.
 *
 * ```
 * box PUB ──CURVE──► [XSUB interface] ──frames──► [XPUB backend] ──► SUB (makai, Mauka, Health)
 *                    [XSUB interface] ◄──\x01"1003"── [XPUB backend] ◄── subscribe("1003")
 * ```
 *
 * Differences from the original: the allow-list (client_certs ∪ registry) is live, so new boxes
 * are accepted without a restart; `white_list` defaults to true; messages are counted
 * (`makai_trigger_broker_messages_total{direction}`), and anything on the backend that is not a
 * subscription is refused and counted instead of being sent to the boxes.
 */
export class TriggerBroker {
  private readonly settings: TriggerBrokerSettings;
  private readonly deps: TriggerBrokerDeps;
  private readonly logger: Logger;
  private readonly scheduler: SchedulerLike;
  private readonly rejected: Observer<Rejection>;
  private readonly messages;
  private readonly subscriptions;
  private readonly dropped;
  private readonly context = new zmq.Context();
  private auth: BrokerAuthentication | undefined;
  private xsub: zmq.XSubscriber | undefined;
  private xpub: zmq.XPublisher | undefined;
  private loops: Promise<void>[] = [];
  /** The handshake-failure counter of the bound box-facing socket, released before it closes. */
  private readonly monitors: { readonly counter: HandshakeFailureCounter; readonly endpoint: string }[] = [];
  private bound: TriggerBrokerEndpoints | undefined;
  private closing = false;

  constructor(settings: TriggerBrokerSettings, deps: TriggerBrokerDeps) {
    this.settings = settings;
    this.deps = deps;
    this.logger = deps.logger.child({ component: 'broker.trigger' });
    this.scheduler = deps.scheduler ?? asyncScheduler;
    this.rejected = deps.rejected ?? deadLetterLog({ logger: this.logger, metrics: deps.metrics, scheduler: this.scheduler });
    this.messages = deps.metrics.counter(
      'makai_trigger_broker_messages_total',
      'Messages through the triggering broker: in = received from boxes, out = handed to the backend XPUB',
      ['direction'],
    );
    this.dropped = deps.metrics.counter(
      'makai_trigger_broker_dropped_total',
      'Messages from boxes not handed to the backend XPUB, by reason (backend-hwm: a subscriber queue was full)',
      ['reason'],
    );
    this.subscriptions = deps.metrics.counter(
      'makai_trigger_broker_subscriptions_total',
      'Subscription changes forwarded from backend subscribers to the boxes',
      ['kind'],
    );
  }

  /**
   * Loads the certificates, starts authentication, binds both sockets and starts forwarding.
   *
   * @throws ConfigError for an unusable certificate or `client_certs`
   * @throws ConnectionError when a socket cannot bind
   */
  async start(): Promise<void> {
    const { settings, logger } = this;
    this.auth = await startBrokerAuthentication({
      serverCertFile: settings.server_cert,
      clientCertsDir: settings.client_certs,
      whiteList: settings.white_list,
      keyRefreshMs: settings.key_refresh,
      context: this.context,
      store: this.deps.store,
      logger,
      metrics: this.deps.metrics,
      scheduler: this.scheduler,
    });
    try {
      const xpub = new zmq.XPublisher({ context: this.context });
      this.xpub = xpub;
      // Drops are ours to make and count (forwardData), not libzmq's to make silently: with
      // noDrop a full subscriber queue makes send fail instead, and sendTimeout 0 makes it fail
      // at once rather than stall every other subscriber and the boxes behind it.
      xpub.noDrop = true;
      xpub.sendTimeout = 0;
      configureSocket(xpub, { endpoint: settings.backend, bind: true });
      const backend = await attachSocket(xpub, { endpoint: settings.backend, bind: true });

      const xsub = new zmq.XSubscriber({ context: this.context });
      this.xsub = xsub;
      const boxSide = {
        endpoint: settings.interface,
        bind: true,
        curve: { role: 'server', secretKey: this.auth.serverSecretKey },
        zapDomain: BROKER_ZAP_DOMAIN,
      } as const;
      configureSocket(xsub, boxSide);
      const counter =
        settings.count_handshake_failures === true
          ? countHandshakeFailures(xsub, { socket: 'interface', metrics: this.deps.metrics, logger, scheduler: this.scheduler })
          : undefined;
      xsub.maxMessageSize = settings.max_frame_bytes ?? DEFAULT_MAX_FRAME_BYTES;
      const boxes = await attachSocket(xsub, boxSide);
      if (counter) this.monitors.push({ counter, endpoint: boxes });

      this.bound = { interface: boxes, backend };
      warnIfWildcardBackend(logger, 'backend', backend);
      this.loops = [this.forwardData(xsub, xpub), this.forwardSubscriptions(xpub, xsub)];
      logger.info('triggering broker started', { interface: boxes, backend, whiteList: settings.white_list });
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Where the sockets are bound; available after {@link start}. */
  get endpoints(): TriggerBrokerEndpoints {
    if (!this.bound) throw new Error('the triggering broker is not started');
    return this.bound;
  }

  /** The live allow-list (for status output and tests); available after {@link start}. */
  get allowList(): BoxAllowList {
    if (!this.auth) throw new Error('the triggering broker is not started');
    return this.auth.allowList;
  }

  /** Stops forwarding, closes both sockets and authentication. Idempotent. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // ZAP handler first: libzmq 4.3.5 can abort when a CURVE server socket closes while its ZAP
    // pipe is torn down (see ZapAuthenticator). Meanwhile new handshakes are refused, not let in.
    await this.auth?.close();
    // Without a counter, exactly the shutdown sequence the ZAP race above was settled with.
    if (this.monitors.length > 0) await Promise.all(this.monitors.map((m) => m.counter.release(m.endpoint)));
    if (this.xsub) closeSocket(this.xsub);
    if (this.xpub) closeSocket(this.xpub);
    if (this.monitors.length > 0) await Promise.all(this.monitors.map((m) => m.counter.dispose()));
    await Promise.all(this.loops);
    this.logger.info('triggering broker stopped');
  }

  /**
   * Box → backend: every message unchanged. When a subscriber's queue is full (its high-water
   * mark) the message is dropped, as the original did, but here counted
   * (`makai_trigger_broker_dropped_total{reason="backend-hwm"}`) instead of vanishing in libzmq.
   */
  private async forwardData(xsub: zmq.XSubscriber, xpub: zmq.XPublisher): Promise<void> {
    try {
      for await (const frames of zmqMessages(xsub)) {
        this.messages.inc({ direction: 'in' });
        try {
          await xpub.send(frames);
        } catch (error) {
          if (!isWouldBlock(error)) throw error;
          this.dropped.inc({ reason: 'backend-hwm' });
          continue;
        }
        this.messages.inc({ direction: 'out' });
      }
    } catch (error) {
      if (!this.closing) this.logger.error('box → backend forwarding stopped', { error: describeError(error) });
    }
  }

  /** Backend → boxes: (un)subscriptions only, so a backend peer cannot send anything else to the boxes. */
  private async forwardSubscriptions(xpub: zmq.XPublisher, xsub: zmq.XSubscriber): Promise<void> {
    try {
      for await (const frames of zmqMessages(xpub)) {
        const first = frames[0];
        const kind = first?.[0];
        if (frames.length !== 1 || first === undefined || (kind !== SUBSCRIBE && kind !== UNSUBSCRIBE)) {
          this.rejected.next({
            source: 'trigger-broker.backend',
            reason: frames.length === 1 ? 'invalid-value' : 'frame-count',
            detail: `not a subscription: ${frames.length} frame(s), first byte ${kind ?? 'none'}`,
            preview: hexPreview(first),
            atMs: this.scheduler.now(),
          });
          continue;
        }
        this.subscriptions.inc({ kind: kind === SUBSCRIBE ? 'subscribe' : 'unsubscribe' });
        await xsub.send(first);
      }
    } catch (error) {
      if (!this.closing) this.logger.error('backend → box subscription forwarding stopped', { error: describeError(error) });
    }
  }
}

/** zeromq.js's rejection of a send that would block (EAGAIN under sendTimeout 0). */
function isWouldBlock(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'EAGAIN';
}
