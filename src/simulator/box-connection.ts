import { TimeoutError, identity, retry, timeout, timer, type SchedulerLike, type Subscription } from 'rxjs';
import { ConfigError, DecodeError, describeError } from '../core/errors.js';
import type { DurationInput } from '../core/duration.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { encodeDataMessage } from '../protocol/data-message-codec.js';
import type { RequestType, TriggerMessage } from '../protocol/messages.js';
import { decodeRequestDataMessage, encodeRequestDataMessage } from '../protocol/request-data-message-codec.js';
import { encodeTriggerMessage } from '../protocol/trigger-message-codec.js';
import type { CurveKeyPair } from '../security/curve-certificate.js';
import { ZmqSender, type SendReceipt } from '../sinks/zmq-sender.js';
import { zmqSubscriber } from '../sources/zmq-subscriber.js';
import type { ZmqFrames } from '../sources/zmq-socket-options.js';
import type { SimulatedBox } from './simulated-box.js';

/** Options of {@link BoxConnection}. */
export interface BoxConnectionOptions {
  /** The simulated box whose requests this connection answers (its id is the topic and the reply's boxId). */
  readonly box: SimulatedBox;
  /** This box's own CURVE key pair (each real box has one; the brokers' ZAP handler decides on its public key). */
  readonly keys: CurveKeyPair;
  /** Z85 public key of the brokers' server certificate (`opqserver.key`). */
  readonly serverPublicKey: string;
  /** Triggering broker `interface` (XSUB, spec S1), e.g. `tcp://127.0.0.1:9880`: the box's PUB connects here (S9). */
  readonly triggerEndpoint: string;
  /** Acquisition broker `box_pub` (PUB, S7), e.g. `tcp://127.0.0.1:8194`: the box's SUB connects here (S10). */
  readonly boxPubEndpoint: string;
  /** Acquisition broker `box_pull` (PULL, S8), e.g. `tcp://127.0.0.1:8196`: the box's PUSH connects here (S11). */
  readonly boxPullEndpoint: string;
  /** Box clock: `now()` stamps replies and decides silence. Also times the SUB re-subscription after a socket failure. */
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  /** Counts `makai_simulator_*` (and the ZeroMQ socket counters). */
  readonly metrics: Metrics;
  /** ZAP domain sent with the CURVE handshake (`global`, as real boxes). */
  readonly zapDomain?: string;
  /** How long one trigger or reply may wait for room before it is dropped and counted (`1s`). */
  readonly sendTimeout?: DurationInput;
  /** Wait before re-creating the SUB socket after it failed, ms (1000). */
  readonly resubscribeDelayMs?: number;
  /**
   * Re-create the SUB socket after this many ms without any message from `box_pub` (60 000, as
   * a real box: the broker's pings keep it quiet); 0 disables the watchdog.
   */
  readonly watchdogMs?: number;
}

/** Why a frame from `box_pub` was ignored instead of answered. Stable: these are metric labels. */
export type IgnoredRequestReason = DecodeError['reason'] | 'topic';

/** What one box connection has done so far. */
export interface BoxConnectionStats {
  readonly boxId: number;
  /** TriggerMessages handed to libzmq. */
  readonly triggersSent: number;
  /** TriggerMessages dropped (no room within the send timeout, or closed). */
  readonly triggersDropped: number;
  /** Requests decoded from `evget` frames, by type. */
  readonly requests: Readonly<Record<RequestType, number>>;
  /** Frames ignored because they were not a request (garbage, wrong topic, too few frames). */
  readonly ignored: number;
  /** Replies (RESP, PONG, ERROR) handed to libzmq. */
  readonly repliesSent: number;
  /** DataMessage frames inside the sent RESP replies. */
  readonly dataMessagesSent: number;
  /** Replies dropped (no room within the send timeout, closed, or a socket failure). */
  readonly repliesDropped: number;
  /** Requests not answered because the box was switched off (a `silence` disturbance). */
  readonly unanswered: number;
  /** Times the SUB socket was re-created (watchdog or socket failure). */
  readonly resubscriptions: number;
}

type MutableStats = { -readonly [K in keyof BoxConnectionStats]: BoxConnectionStats[K] } & { requests: Record<RequestType, number> };

const EVGET = 'evget';

/**
 * One simulated OPQ Box on the network, connected as a real box is (spec §1.3 S9–S11, §6.5),
 * each socket a CURVE client with the box's own key pair:
 *
 * ```
 * publish(m) ──► PUB  ──[ "<id>", TriggerMessage ]──────────────► triggering broker interface (XSUB)
 *                SUB  ◄──[ "evget", RequestDataMessage ]─────────── acquisition broker box_pub (PUB)
 *                 │ READ  → [ RESP header, DataMessage × windows in [back, forward) ]
 *                 │ PING  → [ PONG ]
 *                 │ other → [ ERROR ]
 *                PUSH ──────────────────────────────────────────► acquisition broker box_pull (PULL)
 * ```
 *
 * Frames that are not a request (too few frames, another topic, undecodable bytes) are ignored
 * and counted (`makai_simulator_requests_ignored_total{reason}`): a real box must not crash on
 * what the network sends it. As a real box, the SUB socket is re-created when nothing arrived
 * for `watchdogMs` (logging `Lost connection with Makai` once, then `Established connection
 * with Makai` on the next message), and after `resubscribeDelayMs` when it failed.
 *
 * The PUB socket's ZMQ identity is not set: zeromq.js does not offer `routingId` on publishers,
 * and the broker's XSUB never sees it (frame 0 carries the box id).
 *
 * {@link close} closes all three sockets; nothing outlives it.
 */
export class BoxConnection {
  readonly boxId: number;
  private readonly box: SimulatedBox;
  private readonly scheduler: SchedulerLike;
  private readonly logger: Logger;
  private readonly publisher: ZmqSender;
  private readonly pusher: ZmqSender;
  private readonly subscription: Subscription;
  private readonly topic: Uint8Array;
  private readonly counters;
  private readonly counts: MutableStats;
  /** Sends not yet settled, so `close()` returns only when the counts are final. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  /**
   * Creates the three sockets and connects them (ZeroMQ connects in the background and
   * reconnects by itself, so a broker that starts later is fine).
   *
   * @throws ConfigError for a malformed endpoint or key (nothing is left open)
   */
  constructor(options: BoxConnectionOptions) {
    const { box, keys, serverPublicKey, metrics, zapDomain = 'global', sendTimeout = '1s', resubscribeDelayMs = 1000, watchdogMs = 60_000 } = options;
    for (const [path, ms] of Object.entries({ resubscribeDelayMs, watchdogMs })) {
      if (!(Number.isFinite(ms) && ms >= 0)) throw new ConfigError(`must be a non-negative number of ms (got ${ms})`, { path });
    }
    this.box = box;
    this.boxId = box.id;
    this.scheduler = options.scheduler;
    this.logger = options.logger.child({ component: 'simulator.box', box: String(box.id) });
    this.topic = new Uint8Array(Buffer.from(String(box.id), 'ascii'));
    this.counts = {
      boxId: box.id,
      triggersSent: 0,
      triggersDropped: 0,
      requests: { PING: 0, PONG: 0, READ: 0, RESP: 0, ERROR: 0 },
      ignored: 0,
      repliesSent: 0,
      dataMessagesSent: 0,
      repliesDropped: 0,
      unanswered: 0,
      resubscriptions: 0,
    };
    this.counters = {
      triggers: metrics.counter('makai_simulator_triggers_total', 'TriggerMessages of simulated boxes, by outcome (sent or dropped)', ['outcome']),
      requests: metrics.counter('makai_simulator_requests_total', 'Requests received by simulated boxes, by type', ['type']),
      ignored: metrics.counter('makai_simulator_requests_ignored_total', 'Frames from box_pub that simulated boxes ignored, by reason', ['reason']),
      replies: metrics.counter('makai_simulator_replies_total', 'Replies of simulated boxes, by type and outcome (sent or dropped)', ['type', 'outcome']),
      resubscriptions: metrics.counter('makai_simulator_resubscriptions_total', 'SUB sockets of simulated boxes re-created, by reason', ['reason']),
    };
    const curve = { role: 'client', serverPublicKey, publicKey: keys.publicKey, secretKey: keys.secretKey } as const;
    const common = { curve, zapDomain, metrics, sendTimeout };
    this.publisher = new ZmqSender('publisher', { ...common, endpoint: options.triggerEndpoint });
    try {
      this.pusher = new ZmqSender('pusher', { ...common, endpoint: options.boxPullEndpoint });
    } catch (error) {
      this.publisher.close();
      throw error;
    }
    try {
      let lost = false;
      this.subscription = zmqSubscriber({ endpoint: options.boxPubEndpoint, curve, zapDomain, metrics })
        .pipe(
          watchdogMs > 0 ? timeout({ each: watchdogMs, scheduler: this.scheduler }) : identity,
          retry({
            delay: (error: unknown) => {
              this.counts.resubscriptions++;
              if (error instanceof TimeoutError) {
                this.counters.resubscriptions.inc({ reason: 'watchdog' });
                if (!lost) this.logger.warn('Lost connection with Makai (no message on box_pub); re-creating the socket', { silentMs: watchdogMs });
                lost = true;
                return timer(0, this.scheduler);
              }
              this.counters.resubscriptions.inc({ reason: 'error' });
              this.logger.warn('request socket failed; re-creating it', { error: describeError(error), delayMs: resubscribeDelayMs });
              return timer(resubscribeDelayMs, this.scheduler);
            },
          }),
        )
        .subscribe((frames) => {
          if (lost) {
            lost = false;
            this.logger.info('Established connection with Makai');
          }
          this.onFrames(frames);
        });
    } catch (error) {
      this.publisher.close();
      this.pusher.close();
      throw error;
    }
  }

  /** Resolves once the PUB and PUSH sockets are connected (ZeroMQ dials in the background). */
  async whenReady(): Promise<void> {
    await Promise.all([this.publisher.whenReady(), this.pusher.whenReady()]);
  }

  /** A snapshot of the counts. */
  get stats(): BoxConnectionStats {
    return { ...this.counts, requests: { ...this.counts.requests } };
  }

  /**
   * Publishes one TriggerMessage as `[box id ASCII, TriggerMessage]` (spec §1.4 M1). Never
   * throws: a message that cannot go is dropped and counted.
   */
  publish(message: TriggerMessage): void {
    let body: Uint8Array;
    try {
      body = encodeTriggerMessage(message);
    } catch (error) {
      this.countTrigger(false);
      this.logger.error('could not encode a TriggerMessage', { error: describeError(error) });
      return;
    }
    this.track(this.publisher.send([this.topic, body]), (receipt) => this.countTrigger(receipt.sent));
  }

  /** Closes the three sockets; resolves once every pending send has settled (as dropped). Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.subscription.unsubscribe();
      this.publisher.close();
      this.pusher.close();
    }
    await Promise.allSettled([...this.inFlight]);
  }

  /** One message from `box_pub`: the box reads only frame 1 (spec §1.4 M4/M5). */
  private onFrames(frames: ZmqFrames): void {
    if (this.closed) return;
    const [topic, body] = frames;
    if (topic === undefined || body === undefined) return this.ignore('frame-count', `${frames.length} frame(s)`);
    if (Buffer.from(topic).toString('latin1') !== EVGET) return this.ignore('topic', 'not evget');
    let request;
    try {
      request = decodeRequestDataMessage(body);
    } catch (error) {
      // The codec throws only DecodeError; anything else is still the peer's bytes, never a crash.
      return error instanceof DecodeError ? this.ignore(error.reason, error.message) : this.ignore('invalid-value', describeError(error));
    }
    this.counts.requests[request.type]++;
    this.counters.requests.inc({ type: request.type });
    let replyFrames: Uint8Array[];
    let type: RequestType;
    try {
      const reply = this.box.handleRequest(request, this.scheduler.now());
      if (reply === undefined) {
        this.counts.unanswered++;
        return;
      }
      type = reply.header.type;
      replyFrames = [encodeRequestDataMessage(reply.header), ...reply.data.map(encodeDataMessage)];
    } catch (error) {
      // Only our own data is encoded here, so this is a bug; the box stays up and says why.
      this.counts.repliesDropped++;
      this.logger.error('could not build a reply', { error: describeError(error), type: request.type, sequenceNumber: request.sequenceNumber });
      return;
    }
    const dataMessages = replyFrames.length - 1;
    this.track(this.pusher.send(replyFrames), (receipt) => {
      this.counters.replies.inc({ type, outcome: receipt.sent ? 'sent' : 'dropped' });
      if (receipt.sent) {
        this.counts.repliesSent++;
        this.counts.dataMessagesSent += dataMessages;
      } else {
        this.counts.repliesDropped++;
      }
    });
  }

  private ignore(reason: IgnoredRequestReason, detail: string): void {
    this.counts.ignored++;
    this.counters.ignored.inc({ reason });
    this.logger.debug('ignored a frame from box_pub', { reason, detail });
  }

  private countTrigger(sent: boolean): void {
    if (sent) this.counts.triggersSent++;
    else this.counts.triggersDropped++;
    this.counters.triggers.inc({ outcome: sent ? 'sent' : 'dropped' });
  }

  /** Follows a send to its receipt; a socket failure counts as a drop (a box keeps going). */
  private track(send: Promise<SendReceipt>, settle: (receipt: SendReceipt) => void): void {
    const tracked = send.then(settle, (error: unknown) => {
      settle({ sent: false, reason: 'closed', message: [] });
      if (!this.closed) this.logger.warn('send failed', { error: describeError(error) });
    });
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }
}
