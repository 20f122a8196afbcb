import { Observable, asyncScheduler, defer, share, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { ConfigError } from '../core/errors.js';
import type { RequestDataMessage, TriggerMessage } from '../protocol/messages.js';
import type { Scenario } from './scenario.js';
import { SimulatedBox, type BoxReply, type BoxSignalOptions } from './simulated-box.js';

export interface SimulatedFleetOptions {
  /** Box ids, or a count n for ids 1..n. */
  readonly boxes: number | readonly number[];
  /** Fleet seed (1): the same seed replays the same messages and waveforms. */
  readonly seed?: number;
  /** Disturbances (none by default; `defaultScenario(ids)` gives a demonstration). */
  readonly scenario?: Scenario;
  /** TriggerMessages per second per box (6). */
  readonly rateHz?: number;
  /** Box ms of the first cycle; defaults to `scheduler.now()` when the fleet is created. */
  readonly startMs?: number;
  /** Drives the box clocks: box time is `scheduler.now()`. Defaults to `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** ADC counts per volt (96.56). */
  readonly calibration?: number;
  /** Windows each box keeps for READ (3600). */
  readonly capacity?: number;
  /** Sample noise in counts (2). */
  readonly noiseCounts?: number;
  /** Nominal values and noise levels of the signal. */
  readonly signal?: BoxSignalOptions;
}

/** A box's answer to a broadcast request, with the box it came from. */
export interface FleetReply extends BoxReply {
  readonly boxId: number;
}

/**
 * A fleet of {@link SimulatedBox}es on one scheduler-driven clock.
 *
 * {@link triggers$} runs the clock while subscribed: at every window boundary it ticks each
 * box with `scheduler.now()` and emits their TriggerMessages (box order, then time order).
 * It is shared: several subscribers see one clock; when the last one leaves the clock stops,
 * and a later subscriber first receives the windows that completed in between.
 *
 * ```
 * triggers$ (2 boxes, startMs 0)   ──────(ab)──────(cd)──────(ef)── …
 *                                  0     166       333       500
 * a = {id: 1, time: 0}  b = {id: 2, time: 0}  c = {id: 1, time: 166} …
 * ```
 *
 * Requests (which a socket layer receives from the acquisition broker) go to
 * {@link handleRequest}: every box answers every request, as boxes did (spec §1.4 M4).
 */
export class SimulatedFleet {
  /** The boxes by id, in creation order. */
  readonly boxes: ReadonlyMap<number, SimulatedBox>;
  readonly startMs: number;
  readonly scheduler: SchedulerLike;
  /** Every box's TriggerMessages while subscribed; see the class description. */
  readonly triggers$: Observable<TriggerMessage>;

  constructor(options: SimulatedFleetOptions) {
    const { boxes, seed = 1, scenario, rateHz, scheduler = asyncScheduler, calibration, capacity, noiseCounts, signal } = options;
    const ids = typeof boxes === 'number' ? fleetIds(boxes) : [...boxes];
    if (ids.length === 0) throw new ConfigError('a fleet needs at least one box', { path: 'boxes' });
    if (new Set(ids).size !== ids.length) throw new ConfigError('box ids must be unique', { path: 'boxes' });
    this.scheduler = scheduler;
    this.startMs = options.startMs ?? scheduler.now();
    const shared = {
      seed,
      startMs: this.startMs,
      ...(scenario === undefined ? {} : { scenario }),
      ...(rateHz === undefined ? {} : { rateHz }),
      ...(calibration === undefined ? {} : { calibration }),
      ...(capacity === undefined ? {} : { capacity }),
      ...(noiseCounts === undefined ? {} : { noiseCounts }),
      ...(signal === undefined ? {} : { signal }),
    };
    ids.forEach((id, index) => {
      if (!(Number.isInteger(id) && id >= -2_147_483_648 && id <= 2_147_483_647)) throw new ConfigError(`box ids must be int32 (got ${id})`, { path: `boxes[${index}]` });
    });
    this.boxes = new Map(ids.map((id) => [id, new SimulatedBox({ ...shared, id })]));
    this.triggers$ = this.clock().pipe(share());
  }

  /** The box with this id, if it is part of the fleet. */
  box(id: number): SimulatedBox | undefined {
    return this.boxes.get(id);
  }

  /**
   * Every box's reply to one request at box time `nowMs` (default `scheduler.now()`), in box
   * order; boxes that are off (silence) do not answer.
   */
  handleRequest(request: RequestDataMessage, nowMs = this.scheduler.now()): FleetReply[] {
    const replies: FleetReply[] = [];
    for (const box of this.boxes.values()) {
      const reply = box.handleRequest(request, nowMs);
      if (reply) replies.push({ boxId: box.id, ...reply });
    }
    return replies;
  }

  /** One scheduled action per window boundary, rescheduled at the next absolute boundary so timer drift never accumulates. */
  private clock(): Observable<TriggerMessage> {
    const { scheduler } = this;
    const boxes = [...this.boxes.values()];
    return new Observable<TriggerMessage>((subscriber) => {
      const batch: TriggerMessage[] = [];
      const delayUntil = (dueMs: number): number => Math.max(0, dueMs - scheduler.now());
      const step = function (this: SchedulerAction<undefined>): void {
        const now = scheduler.now();
        let nextDue = Number.POSITIVE_INFINITY;
        for (const box of boxes) {
          batch.length = 0;
          box.tick(now, batch);
          for (const message of batch) {
            subscriber.next(message);
            // A consumer may unsubscribe from inside next (take, first).
            if (subscriber.closed) return;
          }
          nextDue = Math.min(nextDue, box.nextWindowEndMs);
        }
        this.schedule(undefined, delayUntil(nextDue));
      };
      let firstDue = Number.POSITIVE_INFINITY;
      for (const box of boxes) firstDue = Math.min(firstDue, box.nextWindowEndMs);
      return scheduler.schedule(step, delayUntil(firstDue));
    });
  }
}

/**
 * A fleet's TriggerMessages, each subscription with its own fresh fleet (box time starts at
 * `startMs`, default `scheduler.now()` at subscription). Use {@link SimulatedFleet} directly
 * when READ/PING requests must be answered too.
 *
 * @example
 * simulateFleet({ boxes: 3, seed: 7, scenario: defaultScenario([1, 2, 3]), scheduler })
 *   .subscribe((m) => publish(m));
 */
export function simulateFleet(options: SimulatedFleetOptions): Observable<TriggerMessage> {
  return defer(() => new SimulatedFleet(options).triggers$);
}

function fleetIds(count: number): number[] {
  if (!(Number.isInteger(count) && count >= 1)) throw new ConfigError(`must be a whole number of boxes ≥ 1 or a list of ids (got ${count})`, { path: 'boxes' });
  return Array.from({ length: count }, (_, i) => i + 1);
}
