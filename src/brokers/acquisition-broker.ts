import { Subject, asyncScheduler, interval, type Observable, type Observer, type SchedulerLike, type Subscription } from 'rxjs';
import * as zmq from 'zeromq';
import { MAX_TIMER_MS } from '../core/duration.js';
import { ConfigError, DecodeError, describeError, type DecodeFailure } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { hexPreview, type Rejection, type RejectionReason } from '../core/rejection.js';
import { boxIdProblem } from '../protocol/box-id.js';
import { decodeDataMessage } from '../protocol/data-message-codec.js';
import type { DataMessage } from '../protocol/messages.js';
import { decodeRequestDataMessage, encodeRequestDataMessage } from '../protocol/request-data-message-codec.js';
import { decodeRequestEventMessage } from '../protocol/request-event-message-codec.js';
import { deadLetterLog } from '../sinks/dead-letter-log.js';
import { attachSocket, closeSocket, configureSocket, type ZmqSocketOptions } from '../sources/zmq-socket-options.js';
import type { BoxReplyOutcome, Store } from '../stores/store.js';
import { acceptedEvent } from './accepted-event.js';
import { ADMISSION_DEFAULTS } from './acquisition-broker-config.js';
import { EventAdmission, type AdmissionRefusal } from './event-admission.js';
import { warnIfWildcardBackend } from './wildcard-endpoint.js';
import { countHandshakeFailures, type HandshakeFailureCounter } from '../security/handshake-failures.js';
import type { BoxAllowList } from './box-allow-list.js';
import { BROKER_ZAP_DOMAIN, startBrokerAuthentication, type BrokerAuthentication } from './broker-authentication.js';
import { convertBoxReply, type BoxReplyRefusal } from './box-reply.js';
import { validateEventRequest, type EventRequestRefusal } from './event-request-validation.js';
import { zmqMessages } from '../sources/zmq-messages.js';
import { RetryAbortedError, retryStoreCall } from './retry-store-call.js';
import { SerialPublisher } from './serial-publisher.js';

/** The settings the acquisition broker runs with (the parsed `acquisition_broker_config.json`; durations in ms). */
export interface AcquisitionBrokerSettings {
  readonly client_certs: string;
  readonly server_cert: string;
  /** PUB to boxes (CURVE server). `tcp://127.0.0.1:*` binds a free port; see {@link AcquisitionBroker.endpoints}. */
  readonly box_pub: string;
  /** PULL from boxes (CURVE server). */
  readonly box_pull: string;
  /** PULL of event requests (plain). */
  readonly backend_pull: string;
  /** PUB of `evnew` notices (plain). */
  readonly backend_pub: string;
  readonly white_list: boolean;
  readonly key_refresh: number;
  readonly max_event_window: number;
  readonly ping_interval: number;
  readonly max_frame_bytes: number;
  readonly store_retry_initial: number;
  readonly store_retry_limit: number;
  /** Admission control (see {@link EventAdmission}); each defaults to {@link ADMISSION_DEFAULTS}. */
  readonly max_outstanding_reads?: number;
  readonly max_outstanding_reads_per_requester?: number;
  /** ms a READ counts as outstanding at most. */
  readonly read_timeout?: number;
  /** Event requests per second per `requestee`. */
  readonly request_rate?: number;
  readonly request_burst?: number;
  readonly max_requesters?: number;
  /** Count failed CURVE handshakes by kind from socket monitors (see countHandshakeFailures). Default false (opt-in: docs/security.md). */
  readonly count_handshake_failures?: boolean;
}

export interface AcquisitionBrokerDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Where events, box events, waveforms and box status go; also the box registry. Not closed by the broker. */
  readonly store: Store;
  /** Drives pings, store back-off, latencies and the wall-clock `latencies_ms`. Default asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** Where refused frames go; by default a rate-limited dead-letter log counting `makai_rejected_total`. */
  readonly rejected?: Observer<Rejection>;
}

/** Where a started broker is bound (a `*` port resolved). */
export interface AcquisitionBrokerEndpoints {
  readonly box_pub: string;
  readonly box_pull: string;
  readonly backend_pull: string;
  readonly backend_pub: string;
}

/** What became of one event request. Stable: these are metric labels. */
export type RequestOutcome = 'accepted' | 'malformed' | 'frame-too-large' | EventRequestRefusal | AdmissionRefusal | 'store-error';

/** What became of one box reply to a READ. Stable: these are metric labels. */
export type ReplyOutcome = BoxReplyOutcome | 'malformed' | 'frame-too-large' | 'unexpected-type' | BoxReplyRefusal | 'store-error';

/** One thing the broker did, for logs, status pages and tests (`activity`). */
export type AcquisitionActivity =
  | {
      readonly kind: 'request';
      readonly outcome: RequestOutcome;
      /** The new event, or for `merged` the event it was merged into. */
      readonly eventId?: number;
      /** The request's `requestee`, once it was decoded and valid. */
      readonly requestee?: string;
      readonly detail?: string;
    }
  | {
      readonly kind: 'reply';
      readonly outcome: ReplyOutcome;
      readonly eventId?: number;
      readonly boxId?: string;
      /** Request-to-reply ms, when the request was made by this broker since it started. */
      readonly replyLatencyMs?: number;
      readonly detail?: string;
    }
  | { readonly kind: 'ping'; readonly sequenceNumber: number }
  | { readonly kind: 'pong'; readonly outcome: 'recorded' | 'store-error'; readonly boxId: string; readonly sequenceNumber: number }
  | { readonly kind: 'pong'; readonly outcome: 'invalid-box-id'; readonly boxId?: undefined; readonly sequenceNumber: number; readonly detail: string }
  | { readonly kind: 'box-error'; readonly boxId?: string; readonly sequenceNumber: number };

/** Non-decode refusals, mapped onto the dead-letter reasons (the specific one is in the detail and our own counters). */
const DEAD_LETTER_REASON: Readonly<Record<EventRequestRefusal | BoxReplyRefusal | 'unexpected-type', DecodeFailure>> = {
  'end-before-start': 'invalid-value',
  'window-too-long': 'out-of-range',
  'invalid-timestamp': 'invalid-value',
  'invalid-box-id': 'out-of-range',
  'empty-reply': 'frame-count',
  'box-id-mismatch': 'box-id-mismatch',
  'sample-out-of-range': 'out-of-range',
  'unexpected-type': 'invalid-value',
};

/** Requests remembered for reply latencies: long enough for any box to answer, bounded in count. */
const PENDING_REQUEST_TTL_MS = 15 * 60_000;
const MAX_PENDING_REQUESTS = 10_000;
/** `reply_latencies_ms` entry when the request was not made by this broker run (restart, another broker). */
const UNKNOWN_LATENCY_MS = -1;

/**
 * The acquisition broker (spec §6): allocates event numbers, records events, asks the boxes for
 * their raw data and stores what they send back.
 *
 * ```
 * PUSH ──RequestEventMessage──► [PULL backend_pull] ─ validate ─ allocateEventId ─ insertEvent
 *                                 ├──► [PUB backend_pub] ["evnew", "<id>"]
 *                                 └──► [PUB box_pub]     ["evget", READ{id, mid, back, forward}]  ──CURVE──► boxes
 * boxes ──CURVE──► [PULL box_pull] [RESP, DataMessage…] ─ convert ─ recordBoxReply (box_events + waveform)
 *                                  [PONG]               ─ updateBoxStatus(last_pong_ms)
 * every ping_interval ──► [PUB box_pub] ["evget", PING{n}]
 * ```
 *
 * Differences from the original, on purpose: event numbers come from the store (atomic, survive
 * restarts, unique across brokers); requests are validated (`end ≥ start`, window ≤
 * `max_event_window`) and refusals consume no number; requests are handled as they arrive (no
 * 500 ms poll) and pings are timed by the scheduler, not only when idle; the reply's box id comes
 * from the header and must match every DataMessage; malformed, empty, unknown-event and duplicate
 * replies are refused or ignored without touching stored data; PONGs update `box_status`; a
 * store outage is retried with back-off for `store_retry_limit`, then the request or reply is
 * refused with a counted reason — never a crash. Everything is counted and visible on `activity`.
 *
 * Admission control (issue 14, {@link EventAdmission}): a valid request covered by an
 * outstanding READ is merged into its event; data requests are bounded by the outstanding READs
 * (in all and per `requestee`), and every requestee by a token bucket. Merges and refusals are
 * counted (`makai_acquisition_admission_total{reason}`) and go to the dead letters. Box ids
 * outside 0..2^31 − 1 (a PONG for 4294967291, a DataMessage for −5) are refused as
 * `invalid-box-id`. Failed CURVE handshakes are counted by kind, and a wildcard `backend_pull`
 * is warned about at start.
 */
export class AcquisitionBroker {
  private readonly settings: AcquisitionBrokerSettings;
  private readonly deps: AcquisitionBrokerDeps;
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly scheduler: SchedulerLike;
  private readonly rejected: Observer<Rejection>;
  private readonly activity$ = new Subject<AcquisitionActivity>();
  private readonly context = new zmq.Context();
  private readonly abort = new AbortController();
  private readonly metrics;
  private auth: BrokerAuthentication | undefined;
  private sockets: zmq.Socket[] = [];
  /** The handshake-failure counters of the bound CURVE sockets, released before the sockets close. */
  private readonly monitors: { readonly counter: HandshakeFailureCounter; readonly endpoint: string }[] = [];
  private boxPub: SerialPublisher | undefined;
  private backendPub: SerialPublisher | undefined;
  private loops: Promise<void>[] = [];
  private pinger: Subscription | undefined;
  private pingSequence = 0;
  private bound: AcquisitionBrokerEndpoints | undefined;
  private closing = false;
  /** event id → scheduler ms when its READ was published, insertion-ordered for eviction. */
  private readonly pending = new Map<number, number>();
  /** Whether a store outage is currently being reported, so it is logged once, not per call. */
  private storeOutage = false;
  private readonly admission: EventAdmission;

  /** @throws ConfigError when a duration or size in `settings` is not positive (a zero ping interval would flood the boxes) */
  constructor(settings: AcquisitionBrokerSettings, deps: AcquisitionBrokerDeps) {
    for (const field of ['ping_interval', 'max_frame_bytes', 'store_retry_initial', 'key_refresh'] as const) {
      if (!(settings[field] > 0)) throw new ConfigError(`must be greater than 0, got ${settings[field]}`, { path: field });
    }
    // Timers: Node turns a delay over 2^31 − 1 ms into 1 ms (a ping flood), so refuse it here too.
    for (const field of ['ping_interval', 'store_retry_initial', 'store_retry_limit', 'key_refresh'] as const) {
      if (!(settings[field] <= MAX_TIMER_MS)) throw new ConfigError(`must be at most ${MAX_TIMER_MS} ms, got ${settings[field]}`, { path: field });
    }
    if (!(settings.max_event_window >= 0)) throw new ConfigError(`must not be negative, got ${settings.max_event_window}`, { path: 'max_event_window' });
    const limits = {
      max_outstanding_reads: settings.max_outstanding_reads ?? ADMISSION_DEFAULTS.max_outstanding_reads,
      max_outstanding_reads_per_requester: settings.max_outstanding_reads_per_requester ?? ADMISSION_DEFAULTS.max_outstanding_reads_per_requester,
      read_timeout: settings.read_timeout ?? ADMISSION_DEFAULTS.read_timeout,
      request_rate: settings.request_rate ?? ADMISSION_DEFAULTS.request_rate,
      request_burst: settings.request_burst ?? ADMISSION_DEFAULTS.request_burst,
      max_requesters: settings.max_requesters ?? ADMISSION_DEFAULTS.max_requesters,
    };
    for (const [field, value] of Object.entries(limits)) {
      if (!(value > 0)) throw new ConfigError(`must be greater than 0, got ${value}`, { path: field });
    }
    this.admission = new EventAdmission({
      maxOutstandingReads: limits.max_outstanding_reads,
      maxOutstandingReadsPerRequester: limits.max_outstanding_reads_per_requester,
      readTimeoutMs: limits.read_timeout,
      ratePerSecond: limits.request_rate,
      burst: limits.request_burst,
      maxKeys: limits.max_requesters,
    });
    this.settings = settings;
    this.deps = deps;
    this.store = deps.store;
    this.logger = deps.logger.child({ component: 'broker.acquisition' });
    this.scheduler = deps.scheduler ?? asyncScheduler;
    this.rejected = deps.rejected ?? deadLetterLog({ logger: this.logger, metrics: deps.metrics, scheduler: this.scheduler });
    const m = deps.metrics;
    this.metrics = {
      requests: m.counter('makai_acquisition_requests_total', 'Event requests by outcome (accepted or why refused)', ['outcome']),
      replies: m.counter('makai_acquisition_replies_total', 'Box replies to READ by outcome', ['outcome']),
      published: m.counter('makai_acquisition_published_total', 'Messages published: evnew notices and evget READ requests', ['topic']),
      pings: m.counter('makai_acquisition_pings_total', 'PINGs published to the boxes'),
      pongs: m.counter('makai_acquisition_pongs_total', 'PONGs received from boxes, by outcome', ['outcome']),
      admission: m.counter(
        'makai_acquisition_admission_total',
        'Valid event requests not turned into a new event, by reason: merged into an outstanding one, rate-limited, too many outstanding READs',
        ['reason'],
      ),
      outstanding: m.gauge('makai_acquisition_outstanding_reads', 'READs sent and not yet answered by every box they name (bounded by max_outstanding_reads)'),
      boxErrors: m.counter('makai_acquisition_box_errors_total', 'ERROR replies from boxes (a request they did not understand)'),
      latency: m.histogram('makai_acquisition_reply_latency_seconds', 'Time from publishing a READ to storing a box reply', [0.1, 0.5, 1, 2, 5, 10, 30, 60]),
    };
  }

  /**
   * Everything the broker does, as it happens: accepted and refused requests, stored and refused
   * replies, pings, pongs. Hot; completes on {@link close}.
   */
  get activity(): Observable<AcquisitionActivity> {
    return this.activity$.asObservable();
  }

  /** Where the sockets are bound; available after {@link start}. */
  get endpoints(): AcquisitionBrokerEndpoints {
    if (!this.bound) throw new Error('the acquisition broker is not started');
    return this.bound;
  }

  /** The live allow-list of box keys; available after {@link start}. */
  get allowList(): BoxAllowList {
    if (!this.auth) throw new Error('the acquisition broker is not started');
    return this.auth.allowList;
  }

  /**
   * Loads the certificates, starts authentication, binds the four sockets, starts handling
   * requests and replies and pinging.
   *
   * @throws ConfigError for an unusable certificate or `client_certs`
   * @throws ConnectionError when a socket cannot bind
   */
  async start(): Promise<void> {
    const { settings } = this;
    this.auth = await startBrokerAuthentication({
      serverCertFile: settings.server_cert,
      clientCertsDir: settings.client_certs,
      whiteList: settings.white_list,
      keyRefreshMs: settings.key_refresh,
      context: this.context,
      store: this.store,
      logger: this.logger,
      metrics: this.deps.metrics,
      scheduler: this.scheduler,
    });
    try {
      const curve = { role: 'server', secretKey: this.auth.serverSecretKey } as const;
      const backendPull = await this.bindSocket(new zmq.Pull({ context: this.context }), 'backend_pull', { endpoint: settings.backend_pull, bind: true });
      const backendPub = await this.bindSocket(new zmq.Publisher({ context: this.context }), 'backend_pub', { endpoint: settings.backend_pub, bind: true });
      const boxPub = await this.bindSocket(new zmq.Publisher({ context: this.context }), 'box_pub', {
        endpoint: settings.box_pub,
        bind: true,
        curve,
        zapDomain: BROKER_ZAP_DOMAIN,
      });
      const boxPull = await this.bindSocket(new zmq.Pull({ context: this.context }), 'box_pull', {
        endpoint: settings.box_pull,
        bind: true,
        curve,
        zapDomain: BROKER_ZAP_DOMAIN,
      });
      this.bound = {
        backend_pull: backendPull.endpoint,
        backend_pub: backendPub.endpoint,
        box_pub: boxPub.endpoint,
        box_pull: boxPull.endpoint,
      };
      this.backendPub = new SerialPublisher(backendPub.socket);
      this.boxPub = new SerialPublisher(boxPub.socket);
      this.loops = [this.requestLoop(backendPull.socket), this.replyLoop(boxPull.socket)];
      this.pinger = interval(settings.ping_interval, this.scheduler).subscribe(() => void this.ping());
      warnIfWildcardBackend(this.logger, 'backend_pull', this.bound.backend_pull);
      this.logger.info('acquisition broker started', { ...this.bound, store: this.store.location, whiteList: settings.white_list });
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * Stops pinging, abandons store retries, closes the sockets and authentication, and waits for
   * the request and reply loops to end. The store stays open (it belongs to the caller). Idempotent.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.pinger?.unsubscribe();
    this.abort.abort();
    // ZAP handler first: libzmq 4.3.5 can abort when a CURVE server socket closes while its ZAP
    // pipe is torn down (see ZapAuthenticator). Meanwhile new handshakes are refused, not let in.
    await this.auth?.close();
    // Without counters, exactly the shutdown sequence the ZAP race above was settled with.
    if (this.monitors.length > 0) await Promise.all(this.monitors.map((m) => m.counter.release(m.endpoint)));
    for (const socket of this.sockets) closeSocket(socket);
    if (this.monitors.length > 0) await Promise.all(this.monitors.map((m) => m.counter.dispose()));
    await Promise.all(this.loops);
    this.activity$.complete();
    this.logger.info('acquisition broker stopped');
  }

  private async bindSocket<S extends zmq.Socket>(socket: S, field: string, options: ZmqSocketOptions): Promise<{ socket: S; endpoint: string }> {
    this.sockets.push(socket);
    configureSocket(socket, options);
    const counter = options.curve && this.settings.count_handshake_failures === true
      ? countHandshakeFailures(socket, { socket: field, metrics: this.deps.metrics, logger: this.logger, scheduler: this.scheduler })
      : undefined;
    // The loops refuse (and count) every frame over max_frame_bytes. libzmq's own limit, which
    // drops the peer's connection without telling us, sits at twice that: with it at
    // max_frame_bytes a frame just over the limit was never counted, and the peer lost the
    // messages it had queued behind it. Beyond twice the limit it is garbage or an attack, and
    // dropping the connection before buffering the frame bounds the memory it can take.
    socket.maxMessageSize = Math.min(2 * this.settings.max_frame_bytes, 0x7fffffff);
    const endpoint = await attachSocket(socket, options);
    if (counter) this.monitors.push({ counter, endpoint });
    return { socket, endpoint };
  }

  // --- requests --------------------------------------------------------------------------

  private async requestLoop(socket: zmq.Pull): Promise<void> {
    try {
      // One at a time, in arrival order: event numbers follow the order of requests, and a
      // slow store pushes back on the requesters through the PULL queue instead of piling up here.
      for await (const frames of zmqMessages(socket)) await this.handleRequest(frames);
    } catch (error) {
      if (!this.closing) this.logger.error('request loop stopped', { error: describeError(error) });
    }
  }

  private async handleRequest(frames: readonly Uint8Array[]): Promise<void> {
    const source = 'acquisition-broker.backend_pull';
    // Further frames are ignored, as in the original (spec §1.4 M2).
    const frame = frames[0];
    if (frame === undefined) return;
    if (frame.length > this.settings.max_frame_bytes) {
      this.refuse(source, 'frame-too-large', `frame of ${frame.length} bytes exceeds max_frame_bytes`, frame);
      return this.requestDone({ kind: 'request', outcome: 'frame-too-large' });
    }
    let request;
    try {
      request = decodeRequestEventMessage(frame);
    } catch (error) {
      this.refuseDecode(source, error, frame);
      return this.requestDone({ kind: 'request', outcome: 'malformed', detail: describeError(error) });
    }
    const problem = validateEventRequest(request, this.settings.max_event_window);
    if (problem) {
      this.refuse(source, DEAD_LETTER_REASON[problem.reason], `${problem.reason}: ${problem.detail} (requestee ${JSON.stringify(request.requestee)})`, frame);
      return this.requestDone({ kind: 'request', outcome: problem.reason, detail: problem.detail });
    }
    const decision = this.admission.decide(request, this.scheduler.now());
    // decide() expires timed-out READs: keep the gauge true between sends and replies.
    this.metrics.outstanding.set(this.admission.outstandingReads(this.scheduler.now()));
    if (!decision.admit) {
      this.metrics.admission.inc({ reason: decision.reason });
      this.refuse(source, decision.reason, `${decision.reason}: ${decision.detail} (requestee ${JSON.stringify(request.requestee)})`, frame);
      return this.requestDone({
        kind: 'request',
        outcome: decision.reason,
        requestee: request.requestee,
        ...(decision.reason === 'merged' ? { eventId: decision.eventId } : {}),
        detail: decision.detail,
      });
    }

    let eventId: number;
    try {
      eventId = await this.withStore('allocateEventId', () => this.store.allocateEventId());
    } catch (error) {
      if (error instanceof RetryAbortedError) return;
      this.logger.error('could not allocate an event number; request refused', { error: describeError(error), requestee: request.requestee });
      return this.requestDone({ kind: 'request', outcome: 'store-error', detail: describeError(error) });
    }
    const accepted = acceptedEvent(eventId, request);
    try {
      await this.withStore('insertEvent', () => this.store.insertEvent(accepted.doc));
    } catch (error) {
      if (error instanceof RetryAbortedError) return;
      this.logger.error('could not store the event; request refused', { eventId, error: describeError(error), requestee: request.requestee });
      return this.requestDone({ kind: 'request', outcome: 'store-error', eventId, detail: describeError(error) });
    }

    await this.publish(this.backendPub, ['evnew', String(eventId)], 'evnew');
    if (accepted.readRequest) {
      this.remember(eventId);
      // Before the send: a box may answer before the await below returns.
      this.admission.readSent(eventId, request, this.scheduler.now());
      this.metrics.outstanding.set(this.admission.outstandingReads(this.scheduler.now()));
      await this.publish(this.boxPub, ['evget', encodeRequestDataMessage(accepted.readRequest)], 'evget-read');
    }
    this.logger.info('event accepted', {
      eventId,
      type: request.triggerType,
      requestee: request.requestee,
      startMs: request.startTimestampMsUtc,
      endMs: request.endTimestampMsUtc,
      boxes: accepted.doc.boxes_triggered,
      requestData: request.requestData,
    });
    this.requestDone({ kind: 'request', outcome: 'accepted', eventId, requestee: request.requestee });
  }

  private requestDone(activity: Extract<AcquisitionActivity, { kind: 'request' }>): void {
    this.metrics.requests.inc({ outcome: activity.outcome });
    this.activity$.next(activity);
  }

  /** Remembers when a READ went out, bounded by age and count (boxes that never answer must not leak memory). */
  private remember(eventId: number): void {
    const now = this.scheduler.now();
    this.pending.set(eventId, now);
    for (const [id, at] of this.pending) {
      if (this.pending.size <= MAX_PENDING_REQUESTS && now - at <= PENDING_REQUEST_TTL_MS) break;
      this.pending.delete(id);
    }
  }

  // --- replies -----------------------------------------------------------------------------

  private async replyLoop(socket: zmq.Pull): Promise<void> {
    try {
      for await (const frames of zmqMessages(socket)) await this.handleReply(frames);
    } catch (error) {
      if (!this.closing) this.logger.error('reply loop stopped', { error: describeError(error) });
    }
  }

  private async handleReply(frames: readonly Uint8Array[]): Promise<void> {
    const source = 'acquisition-broker.box_pull';
    const [head, ...dataFrames] = frames;
    if (head === undefined) return;
    const tooLarge = frames.findIndex((frame) => frame.length > this.settings.max_frame_bytes);
    if (tooLarge >= 0) {
      this.refuse(source, 'frame-too-large', `frame ${tooLarge} of ${frames[tooLarge]!.length} bytes exceeds max_frame_bytes`, frames[tooLarge]);
      return this.replyDone({ kind: 'reply', outcome: 'frame-too-large' });
    }
    let header;
    try {
      header = decodeRequestDataMessage(head);
    } catch (error) {
      this.refuseDecode(source, error, head);
      return this.replyDone({ kind: 'reply', outcome: 'malformed', detail: describeError(error) });
    }
    const boxId = header.boxId === undefined ? undefined : String(header.boxId);
    switch (header.type) {
      case 'PONG':
        return this.handlePong(header.sequenceNumber, boxId, head);
      case 'ERROR':
        this.metrics.boxErrors.inc();
        // Counted, not logged one by one: an authenticated box could otherwise flood the log.
        this.logger.debug('a box could not understand a request', { boxId, sequenceNumber: header.sequenceNumber });
        this.activity$.next({ kind: 'box-error', ...(boxId === undefined ? {} : { boxId }), sequenceNumber: header.sequenceNumber });
        return;
      case 'RESP':
        break;
      default:
        this.refuse(source, DEAD_LETTER_REASON['unexpected-type'], `a box sent ${header.type}, expected RESP, PONG or ERROR`, head);
        return this.replyDone({ kind: 'reply', outcome: 'unexpected-type', ...(boxId === undefined ? {} : { boxId }) });
    }

    const eventId = header.sequenceNumber;
    const about = { eventId, ...(boxId === undefined ? {} : { boxId }) };
    const data: DataMessage[] = [];
    for (const [index, frame] of dataFrames.entries()) {
      try {
        data.push(decodeDataMessage(frame));
      } catch (error) {
        // One bad frame refuses the whole reply: a waveform with a silent gap would be worse than none.
        this.refuseDecode(source, error, frame, `event ${eventId}, data frame ${index + 1}: `);
        return this.replyDone({ kind: 'reply', outcome: 'malformed', ...about, detail: describeError(error) });
      }
    }
    const converted = convertBoxReply(header, data, boxId === undefined ? undefined : this.auth?.registry?.location(boxId));
    if (!converted.ok) {
      this.refuse(source, DEAD_LETTER_REASON[converted.reason], `event ${eventId}: ${converted.reason}: ${converted.detail}`, dataFrames[0] ?? head);
      return this.replyDone({ kind: 'reply', outcome: converted.reason, ...about, detail: converted.detail });
    }

    const storedBox = converted.boxEvent.box_id;
    const requestedAt = this.pending.get(eventId);
    let outcome: BoxReplyOutcome;
    let replyLatencyMs = UNKNOWN_LATENCY_MS;
    try {
      outcome = await this.withStore('recordBoxReply', () => {
        // Taken per attempt: latencies_ms is the moment the reply was stored, as in the original.
        const receivedAtMs = this.scheduler.now();
        replyLatencyMs = requestedAt === undefined ? UNKNOWN_LATENCY_MS : Math.max(0, receivedAtMs - requestedAt);
        return this.store.recordBoxReply({ boxEvent: converted.boxEvent, waveform: converted.waveform, receivedAtMs, replyLatencyMs });
      });
    } catch (error) {
      if (error instanceof RetryAbortedError) return;
      this.logger.error('could not store a box reply; it is lost', { eventId, boxId: storedBox, cycles: converted.cycles, error: describeError(error) });
      return this.replyDone({ kind: 'reply', outcome: 'store-error', eventId, boxId: storedBox, detail: describeError(error) });
    }
    const fields = { eventId, boxId: storedBox, cycles: converted.cycles };
    if (outcome === 'stored' || outcome === 'duplicate') {
      this.admission.replied(eventId, storedBox);
      this.metrics.outstanding.set(this.admission.outstandingReads(this.scheduler.now()));
    }
    if (outcome === 'stored') {
      if (replyLatencyMs !== UNKNOWN_LATENCY_MS) this.metrics.latency.observe(replyLatencyMs / 1000);
      this.logger.info('box reply stored', { ...fields, ...(replyLatencyMs === UNKNOWN_LATENCY_MS ? {} : { replyLatencyMs }) });
    } else {
      // Counted (makai_acquisition_replies_total{outcome}), not logged one by one: a box that
      // repeats replies, or answers events that do not exist, could otherwise flood the log.
      this.logger.debug(outcome === 'duplicate' ? 'duplicate box reply ignored (already stored)' : 'box reply for an unknown event ignored', fields);
    }
    this.replyDone({
      kind: 'reply',
      outcome,
      eventId,
      boxId: storedBox,
      ...(outcome === 'stored' && replyLatencyMs !== UNKNOWN_LATENCY_MS ? { replyLatencyMs } : {}),
    });
  }

  private replyDone(activity: Extract<AcquisitionActivity, { kind: 'reply' }>): void {
    this.metrics.replies.inc({ outcome: activity.outcome });
    this.activity$.next(activity);
  }

  // --- liveness ----------------------------------------------------------------------------

  private async ping(): Promise<void> {
    if (this.closing) return;
    const sequenceNumber = this.pingSequence;
    // uint32 on the wire, independent of event numbers (spec §1.4 M5).
    this.pingSequence = (this.pingSequence + 1) >>> 0;
    const sent = await this.publish(this.boxPub, ['evget', encodeRequestDataMessage({ type: 'PING', sequenceNumber })], 'evget-ping');
    if (!sent) return;
    this.metrics.pings.inc();
    this.activity$.next({ kind: 'ping', sequenceNumber });
  }

  private async handlePong(sequenceNumber: number, boxId: string | undefined, head: Uint8Array): Promise<void> {
    if (boxId === undefined) {
      this.refuse('acquisition-broker.box_pull', 'missing-field', 'PONG without boxId', head);
      this.metrics.pongs.inc({ outcome: 'malformed' });
      return;
    }
    const problem = boxIdProblem(Number(boxId));
    if (problem) {
      // A PONG for box 4294967291 (−5 as uint32) must not create a box_status row.
      this.refuse('acquisition-broker.box_pull', 'out-of-range', `PONG: invalid-box-id: ${problem}`, head);
      this.metrics.pongs.inc({ outcome: 'invalid-box-id' });
      this.activity$.next({ kind: 'pong', outcome: 'invalid-box-id', sequenceNumber, detail: problem });
      return;
    }
    let outcome: 'recorded' | 'store-error' = 'recorded';
    try {
      // No retry: the next PONG brings a fresher time anyway.
      await this.store.updateBoxStatus({ box_id: boxId, last_pong_ms: this.scheduler.now() });
      this.storeRecovered();
    } catch (error) {
      outcome = 'store-error';
      this.storeFailed('updateBoxStatus', error);
    }
    this.metrics.pongs.inc({ outcome });
    this.activity$.next({ kind: 'pong', outcome, boxId, sequenceNumber });
  }

  // --- plumbing ----------------------------------------------------------------------------

  /** Publishes on a shared socket; false (logged) when the socket is closed or failed. */
  private async publish(publisher: SerialPublisher | undefined, frames: readonly (string | Uint8Array)[], topic: string): Promise<boolean> {
    if (!publisher || this.closing) return false;
    try {
      await publisher.send(frames);
      this.metrics.published.inc({ topic });
      return true;
    } catch (error) {
      if (!this.closing) this.logger.error('publish failed', { topic, error: describeError(error) });
      return false;
    }
  }

  private withStore<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return retryStoreCall(call, {
      initialBackoffMs: this.settings.store_retry_initial,
      limitMs: this.settings.store_retry_limit,
      scheduler: this.scheduler,
      signal: this.abort.signal,
      onRetry: (error) => this.storeFailed(operation, error),
    }).then((value) => {
      this.storeRecovered();
      return value;
    });
  }

  private storeFailed(operation: string, error: unknown): void {
    if (this.storeOutage) return;
    this.storeOutage = true;
    this.logger.warn('store unavailable; retrying with back-off', { operation, store: this.store.location, error: describeError(error) });
  }

  private storeRecovered(): void {
    if (!this.storeOutage) return;
    this.storeOutage = false;
    this.logger.info('store available again', { store: this.store.location });
  }

  private refuse(source: string, reason: RejectionReason, detail: string, frame: Uint8Array | undefined): void {
    this.rejected.next({ source, reason, detail, preview: hexPreview(frame), atMs: this.scheduler.now() });
  }

  private refuseDecode(source: string, error: unknown, frame: Uint8Array, prefix = ''): void {
    const reason: DecodeFailure = error instanceof DecodeError ? error.reason : 'invalid-value';
    this.refuse(source, reason, prefix + describeError(error), frame);
  }
}
