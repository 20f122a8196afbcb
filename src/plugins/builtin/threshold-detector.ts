import type { EventRequest, Measurement } from '../plugin.js';
import type { Direction, Excursion, Metric } from './threshold-excursion.js';
import { buildThresholdRequest } from './threshold-request.js';
import { limitsFor, type BoxLimits, type ThresholdSettings } from './threshold-settings.js';

interface BoxState {
  readonly limits: BoxLimits;
  /** Box time of its newest message. */
  lastTime: number;
  /** Scheduler time its newest message arrived, for the silence timeout. */
  lastHeardAt: number;
  readonly active: Map<Metric, Excursion>;
}

/**
 * The state machines of the `threshold` plugin, free of RxJS so they can be tested and reasoned
 * about alone. Event time is box time (`Measurement.time`); `now` arguments are scheduler time
 * and are used only to notice silence.
 *
 * Per box and metric: *normal* → (value beyond the limit) → *excursion* → (value back inside
 * `limit × (1 − hysteresisFraction)`) → *normal*. A value beyond the opposite limit ends the
 * excursion and starts the opposite one. An excursion counts once it has lasted
 * `minDurationMs` (box time); one that ends sooner is ignored.
 *
 * Counted excursions of all boxes are gathered into one open group. The group closes (and
 * its request is returned) when every excursion in it has ended and its boxes' time has moved
 * `groupGapMs` past the last end, so a box entering shortly after still joins (an excursion
 * starting later than that, by its own box's clock, opens a new group). Only the members'
 * clocks count, so a box with a wrong clock cannot close or cut other boxes' groups. When the
 * members stop sending, {@link onTimer} closes the group after `silenceTimeoutMs` instead. A
 * box that goes silent during an excursion counts as recovered at its last message after
 * `silenceTimeoutMs`. A group whose window reaches `maxWindowMs` while excursions still last
 * is reported at once; those excursions then join no later group.
 *
 * Messages of a box that are older than its newest one are ignored (state only moves forward).
 */
export class ThresholdDetector {
  private readonly boxes = new Map<number, BoxState>();
  /** Boxes with at least one excursion going on: the only ones the silence checks look at (not all boxes per message). */
  private readonly inExcursion = new Set<BoxState>();
  /** Counted excursions of the open group; undefined when no group is open. */
  private group: Excursion[] | undefined;
  /** Requests of groups closed during the current call. */
  private out: EventRequest[] = [];

  constructor(private readonly settings: ThresholdSettings) {}

  /**
   * Feeds one measurement.
   *
   * @param measurement The box's message.
   * @param now Scheduler time of its arrival.
   * @returns Requests of groups that closed (zero or one, rarely two).
   */
  onMeasurement(measurement: Measurement, now: number): EventRequest[] {
    const box = this.box(measurement.id, now);
    box.lastHeardAt = now;
    if (measurement.time <= box.lastTime) return [];
    box.lastTime = measurement.time;
    // A member's time may have passed the group gap: close before anything new can join.
    this.closeIfDone();
    this.step(box, measurement.id, 'voltage', measurement.rms, measurement.time);
    this.step(box, measurement.id, 'frequency', measurement.frequency, measurement.time);
    if (measurement.thd !== undefined) this.step(box, measurement.id, 'thd', measurement.thd, measurement.time);
    if (box.active.size > 0) this.inExcursion.add(box);
    else this.inExcursion.delete(box);
    this.closeIfDone();
    return this.takeOut();
  }

  /**
   * Notices silence: ends the excursions of boxes not heard from for `silenceTimeoutMs`, and
   * closes an all-recovered group none of whose boxes has sent for that long.
   *
   * @param now Scheduler time.
   * @returns Requests of groups that closed.
   */
  onTimer(now: number): EventRequest[] {
    const { silenceTimeoutMs } = this.settings;
    for (const box of this.inExcursion) {
      if (now - box.lastHeardAt >= silenceTimeoutMs) this.endAll(box);
    }
    this.closeIfDone();
    const group = this.group;
    if (group && this.allEnded(group) && now - this.members(group).lastHeardAt >= silenceTimeoutMs) this.close(group);
    return this.takeOut();
  }

  /** Ends every excursion at its box's last message and closes the open group; for stream completion. */
  flush(): EventRequest[] {
    for (const box of this.boxes.values()) this.endAll(box);
    if (this.group) this.close(this.group);
    return this.takeOut();
  }

  /** Scheduler time at which {@link onTimer} may have something to do, or undefined when nothing waits. */
  nextDeadline(): number | undefined {
    let deadline = Number.POSITIVE_INFINITY;
    for (const box of this.inExcursion) deadline = Math.min(deadline, box.lastHeardAt + this.settings.silenceTimeoutMs);
    const group = this.group;
    if (group && this.allEnded(group)) deadline = Math.min(deadline, this.members(group).lastHeardAt + this.settings.silenceTimeoutMs);
    return Number.isFinite(deadline) ? deadline : undefined;
  }

  private box(boxId: number, now: number): BoxState {
    let box = this.boxes.get(boxId);
    if (!box) {
      box = { limits: limitsFor(this.settings, boxId), lastTime: Number.NEGATIVE_INFINITY, lastHeardAt: now, active: new Map() };
      this.boxes.set(boxId, box);
    }
    return box;
  }

  private step(box: BoxState, boxId: number, metric: Metric, value: number, time: number): void {
    if (!Number.isFinite(value)) return;
    const limit = box.limits[metric];
    const deviation = value - limit.nominal;
    const current = box.active.get(metric);
    if (current) {
      const stillOut = current.direction === 'sag' ? deviation < -limit.leave : deviation > limit.leave;
      if (stillOut) {
        if (current.direction === 'sag' ? value < current.extreme : value > current.extreme) current.extreme = value;
        if (!current.confirmed && !current.reported && time - current.start >= this.settings.minDurationMs) this.confirm(current);
        return;
      }
      box.active.delete(metric);
      this.end(current, time);
    }
    let direction: Direction | undefined;
    if (deviation > limit.enter) direction = 'swell';
    else if (deviation < -limit.enter && metric !== 'thd') direction = 'sag';
    if (!direction) return;
    const excursion: Excursion = {
      boxId,
      metric,
      direction,
      limit,
      start: time,
      end: undefined,
      extreme: value,
      confirmed: false,
      reported: false,
    };
    box.active.set(metric, excursion);
    if (this.settings.minDurationMs === 0) this.confirm(excursion);
  }

  private end(excursion: Excursion, time: number): void {
    excursion.end = time;
    if (excursion.confirmed || excursion.reported) return;
    // Too short excursions are dropped here: they never joined a group.
    if (time - excursion.start >= this.settings.minDurationMs) this.confirm(excursion);
  }

  private endAll(box: BoxState): void {
    for (const excursion of box.active.values()) this.end(excursion, box.lastTime);
    box.active.clear();
    this.inExcursion.delete(box);
  }

  private confirm(excursion: Excursion): void {
    excursion.confirmed = true;
    // Started after the open group's gap (by its own box's clock): it opens a group of its own.
    const group = this.group;
    if (group && this.allEnded(group) && excursion.start >= this.lastEnd(group) + this.settings.groupGapMs) this.close(group);
    (this.group ??= []).push(excursion);
  }

  private allEnded(group: readonly Excursion[]): boolean {
    return group.every((e) => e.end !== undefined);
  }

  private lastEnd(group: readonly Excursion[]): number {
    return Math.max(...group.map((e) => e.end ?? Number.POSITIVE_INFINITY));
  }

  /**
   * Newest box time and arrival among the group's boxes. Only members' clocks move the group
   * on, so one box with a wrong clock cannot close or cut other boxes' groups.
   */
  private members(group: readonly Excursion[]): { readonly time: number; readonly lastHeardAt: number } {
    let time = Number.NEGATIVE_INFINITY;
    let lastHeardAt = Number.NEGATIVE_INFINITY;
    for (const { boxId } of group) {
      const box = this.boxes.get(boxId);
      if (!box) continue;
      time = Math.max(time, box.lastTime);
      lastHeardAt = Math.max(lastHeardAt, box.lastHeardAt);
    }
    return { time, lastHeardAt };
  }

  private closeIfDone(): void {
    const group = this.group;
    if (!group) return;
    const { groupGapMs, padBeforeMs, padAfterMs, maxWindowMs } = this.settings;
    const { time } = this.members(group);
    if (this.allEnded(group)) {
      if (time >= this.lastEnd(group) + groupGapMs) this.close(group);
      return;
    }
    // Still going on: once the window is as long as boxes keep, waiting longer only loses data.
    const windowStart = Math.max(0, Math.min(...group.map((e) => e.start)) - padBeforeMs);
    if (time + padAfterMs - windowStart >= maxWindowMs) this.close(group);
  }

  private close(group: readonly Excursion[]): void {
    this.group = undefined;
    const { time } = this.members(group);
    for (const excursion of group) if (excursion.end === undefined) excursion.reported = true;
    this.out.push(buildThresholdRequest(group, this.settings, time));
  }

  private takeOut(): EventRequest[] {
    const out = this.out;
    this.out = [];
    return out;
  }
}
