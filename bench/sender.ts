import { setTimeout as sleep } from 'node:timers/promises';
import * as zmq from 'zeromq';
import { ThresholdDetector } from '../src/plugins/builtin/threshold-detector.js';
import { parseThresholdSettings } from '../src/plugins/builtin/threshold-settings.js';
import { encodeTriggerMessage } from '../src/protocol/codec.js';
import type { TriggerMessage } from '../src/protocol/messages.js';
import type { Scenario } from '../src/simulator/scenario.js';
import { SimulatedBox } from '../src/simulator/simulated-box.js';
import { isAgainError, type CurveClientOptions } from '../src/sources/zmq-socket-options.js';
import { monotonicMs, serveParent, tellParent } from './child-process.js';

/**
 * The load generator, a child process of its own so the process under test keeps its core:
 * an XPUB (ZMQ_XPUB_NODROP) publishing 2-frame `[box id, TriggerMessage]` messages for
 * `boxes` simulated boxes in round-robin order, either as fast as the receiver's high-water
 * marks let it (`rate` absent: a full pipe makes `send` wait instead of dropping, so nothing is
 * lost on this hop) or paced at `rate` messages per second.
 *
 * Values come from the simulator's signal model (120 V ± 0.2 V noise, 60 Hz wander, 2–3 % THD,
 * plus the scenario's disturbances); each message is its box's next 10-cycle window, so box
 * time advances 1000/6 ms per message of that box (it runs ahead of the wall clock when a box
 * sends faster than 6 Hz). With `detect`, the threshold plugin's own state machine runs on
 * what is sent, so the sender knows which message completes each anomaly (closes its group)
 * and when it was sent.
 *
 * Protocol: parent → `start` (config) → `ready` (bound endpoint) → the sender waits for the
 * first subscription, sends → `done` (counts, times on the machine-wide monotonic clock).
 */

export interface SenderConfig {
  /** Bind here (`tcp://127.0.0.1:*`) or connect here (a broker's box side). */
  readonly endpoint: string;
  readonly bind: boolean;
  /** CURVE client keys, when connecting to a broker. */
  readonly curve?: CurveClientOptions;
  /** Distinct boxes, ids `1..boxes`. */
  readonly boxes: number;
  /** Stop after this many messages... */
  readonly count?: number;
  /** ...or after this long (ms). */
  readonly durationMs?: number;
  /** Messages per second; absent: as fast as high-water-mark-respecting sends allow. */
  readonly rate?: number;
  /** Box time of every box's first window; default now. */
  readonly startMs?: number;
  readonly seed?: number;
  /** Disturbances (anomalies) to inject, offsets from `startMs` in box time. */
  readonly scenario?: Scenario;
  /** Run the threshold detector on the sent stream and report when each group's completing message was sent. */
  readonly detect?: boolean;
  /** ZMQ_SNDHWM of the XPUB (default libzmq's 1000). */
  readonly sendHighWaterMark?: number;
}

export type SenderRequest = { readonly type: 'start'; readonly config: SenderConfig };

/** A group the sender's detector closed: the request it expects, and when its completing message left. */
export interface Completion {
  /** `startTimestampMsUtc:boxIds` of the expected RequestEventMessage. */
  readonly key: string;
  /** Monotonic ms just before the completing message was handed to the socket. */
  readonly sentMs: number;
}

export type SenderReport =
  | { readonly type: 'ready'; readonly endpoint: string }
  | {
      readonly type: 'done';
      readonly sent: number;
      /** Monotonic ms of the first and last send. */
      readonly firstSentMs: number;
      readonly lastSentMs: number;
      /** Times a send found the pipe full and waited (the receiver was the bottleneck). */
      readonly blockedSends: number;
      /** CPU time of this process while sending, ms (user + system). */
      readonly cpuMs: number;
      readonly completions: readonly Completion[];
    };

/** Request key shared by the sender's detector and the harness's PULL side. */
export function requestKey(request: { readonly startTimestampMsUtc: number; readonly boxIds: readonly number[] }): string {
  return `${request.startTimestampMsUtc}:${request.boxIds.join(',')}`;
}

/** One box's sending state: its simulator and the frame-0 bytes. */
interface SendingBox {
  readonly box: SimulatedBox;
  readonly topic: Buffer;
}

async function run(config: SenderConfig): Promise<void> {
  const startMs = config.startMs ?? Date.now();
  const boxes: SendingBox[] = [];
  for (let id = 1; id <= config.boxes; id++) {
    // capacity 1: the sender never answers READs, so it keeps no raw-data history.
    const box = new SimulatedBox({ id, seed: config.seed ?? 1, startMs, capacity: 1, ...(config.scenario ? { scenario: config.scenario } : {}) });
    boxes.push({ box, topic: Buffer.from(String(id)) });
  }
  const detector = config.detect ? new ThresholdDetector(parseThresholdSettings({})) : undefined;
  const completions: Completion[] = [];

  const socket = new zmq.XPublisher({ linger: 0, noDrop: true });
  if (config.sendHighWaterMark !== undefined) socket.sendHighWaterMark = config.sendHighWaterMark;
  if (config.curve) {
    socket.curveServerKey = config.curve.serverPublicKey;
    socket.curvePublicKey = config.curve.publicKey;
    socket.curveSecretKey = config.curve.secretKey;
  }
  if (config.bind) await socket.bind(config.endpoint);
  else socket.connect(config.endpoint);
  await tellParent({ type: 'ready', endpoint: socket.lastEndpoint ?? config.endpoint } satisfies SenderReport);

  // An XPUB sees its subscribers' subscriptions (directly, or forwarded by a broker's XSUB):
  // sending before the first one arrives would drop messages on the floor.
  await socket.receive();

  const total = config.count ?? Number.POSITIVE_INFINITY;
  const endAt = config.durationMs === undefined ? Number.POSITIVE_INFINITY : monotonicMs() + config.durationMs;
  const batch: TriggerMessage[] = [];
  let sent = 0;
  let blockedSends = 0;
  let cursor = 0;
  const cpuStart = process.cpuUsage();
  const firstSentMs = monotonicMs();
  let lastSentMs = firstSentMs;

  const nextMessage = (): [Buffer, TriggerMessage] => {
    const { box, topic } = boxes[cursor]!;
    cursor = cursor + 1 === boxes.length ? 0 : cursor + 1;
    batch.length = 0;
    // The next window of this box, whatever the wall clock says (silenced windows are skipped).
    while (batch.length === 0) box.tick(box.nextWindowEndMs, batch);
    return [topic, batch[0]!];
  };

  const sendOne = async (): Promise<void> => {
    const [topic, message] = nextMessage();
    const frames = [topic, encodeTriggerMessage(message)];
    const closed = detector?.onMeasurement(message, Date.now());
    const at = monotonicMs();
    if (closed) for (const request of closed) completions.push({ key: requestKey(request), sentMs: at });
    // NODROP: a full pipe refuses the message (EAGAIN) instead of dropping it; libzmq reports an
    // XPUB as always writable, so zeromq.js cannot wait for room itself. Wait 1 ms (not a busy
    // loop, which would steal the receiver's core) and try again.
    for (;;) {
      try {
        await socket.send(frames);
        break;
      } catch (error) {
        if (!isAgainError(error)) throw error;
        blockedSends++;
        await sleep(1);
      }
    }
    sent++;
  };

  if (config.rate === undefined) {
    while (sent < total && (sent & 1023 || monotonicMs() < endAt)) await sendOne();
  } else {
    // Paced: send what is due, then sleep ~1 ms (a busy loop would steal the receiver's core).
    const perMs = config.rate / 1000;
    while (sent < total) {
      const now = monotonicMs();
      if (now >= endAt) break;
      const due = Math.min(total, Math.floor((now - firstSentMs) * perMs) + 1);
      // At most 1000 at a time, so a sender held back by the receiver still stops on time.
      const until = Math.min(due, sent + 1000);
      while (sent < until) await sendOne();
      if (sent >= due) await sleep(1);
    }
  }
  lastSentMs = monotonicMs();
  const cpu = process.cpuUsage(cpuStart);
  await tellParent({
    type: 'done',
    sent,
    firstSentMs,
    lastSentMs,
    blockedSends,
    cpuMs: (cpu.user + cpu.system) / 1000,
    completions,
  } satisfies SenderReport);
  // Keep the socket open until the parent has the receiver's count: closing with linger 0
  // would discard what is still queued.
}

serveParent<SenderRequest | { readonly type: 'exit' }>(async (message) => {
  if (message.type === 'start') await run(message.config);
  else process.exit(0);
});
