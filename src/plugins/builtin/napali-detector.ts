import type { EventRequest, Measurement } from '../plugin.js';
import type { StreamDetector } from './detector-operator.js';
import { EwmaStatistics } from './ewma-statistics.js';
import { isWorse, judgeReading, type Anomaly, type NapaliMetric } from './napali-anomaly.js';
import { buildNapaliRequest, type WindowMember } from './napali-request.js';
import type { NapaliSettings } from './napali-settings.js';

interface BoxState {
  readonly stats: Readonly<Record<NapaliMetric, EwmaStatistics>>;
  /** Box time of its newest message. */
  lastTime: number;
  /** Scheduler time its newest message arrived, for silence. */
  lastHeardAt: number;
}

/**
 * The state machine of the `napali` plugin, free of RxJS (see `StreamDetector`).
 *
 * Per box and metric (frequency, RMS voltage, THD) an {@link EwmaStatistics} keeps the box's
 * own running mean and σ. A reading is anomalous when it is outside the hard limits (from the
 * box's first message) or, once the box has `warmupSamples` readings of that metric, further
 * than `sigmas`·σ from its mean (σ never below its `minSigma…` floor). The reading is judged
 * against the statistics before it, then added to them unless it was beyond a hard limit (the
 * original added every reading).
 *
 * One window is open at a time, for all boxes: an anomalous reading opens it (a σ-only one
 * only with `sigmaOpensWindow`), and every box with an anomalous reading while it is open
 * becomes a member. The window closes once every member is past its grace: its own clock has
 * moved `graceMs` past its last anomalous reading, or it has not been heard from for `graceMs`
 * of scheduler time (a silent box cannot hold the window open). Only members' clocks count, so
 * a box with a wrong clock cannot close other boxes' window. A window whose requested range
 * reaches `maxWindowMs` is closed at once. A closed window is one request naming all its
 * members, dropped when it has one member and `reportSingleBox` is off.
 *
 * Messages of a box older than (or as old as) its newest one are ignored: state only moves forward.
 */
export class NapaliDetector implements StreamDetector {
  private readonly boxes = new Map<number, BoxState>();
  /** Members of the open window by box id; undefined when no window is open. */
  private window: Map<number, WindowMember> | undefined;
  private out: EventRequest[] = [];

  constructor(private readonly settings: NapaliSettings) {}

  onMeasurement(measurement: Measurement, now: number): EventRequest[] {
    const box = this.box(measurement.id);
    box.lastHeardAt = now;
    if (measurement.time <= box.lastTime) return this.takeOut();
    box.lastTime = measurement.time;
    // This box's clock may have passed its grace: close before anything new can join.
    this.closeIfDone(now);
    let worst: Anomaly | undefined;
    const judge = (metric: NapaliMetric, value: number | undefined) => {
      if (value === undefined || !Number.isFinite(value)) return;
      const stats = box.stats[metric];
      const anomaly = judgeReading(measurement.id, metric, measurement.time, value, stats, this.settings);
      // A reading beyond the hard limits is not the box's normal: learning it would inflate σ
      // for ~1/α readings and blind the σ check after every sag. A σ-only reading is learnt, so
      // a lasting level shift (a tap change) becomes the new normal instead of an endless event.
      if (anomaly?.kind !== 'limit') stats.add(value);
      if (anomaly && (!worst || isWorse(anomaly, worst))) worst = anomaly;
    };
    judge('frequency', measurement.frequency);
    judge('voltage', measurement.rms);
    judge('thd', measurement.thd);
    if (worst) this.record(worst);
    this.closeIfDone(now);
    return this.takeOut();
  }

  onTimer(now: number): EventRequest[] {
    this.closeIfDone(now);
    return this.takeOut();
  }

  flush(): EventRequest[] {
    if (this.window) this.close(this.window);
    return this.takeOut();
  }

  nextDeadline(): number | undefined {
    const window = this.window;
    if (!window) return undefined;
    // The window closes by silence once the last member still in grace (by its clock) is silent.
    let deadline: number | undefined;
    for (const member of window.values()) {
      const box = this.boxes.get(member.boxId);
      if (!box || this.pastGraceByClock(member, box)) continue;
      deadline = Math.max(deadline ?? Number.NEGATIVE_INFINITY, box.lastHeardAt + this.settings.graceMs);
    }
    return deadline;
  }

  private box(boxId: number): BoxState {
    let box = this.boxes.get(boxId);
    if (!box) {
      const alpha = this.settings.smoothingFactor;
      box = {
        stats: { frequency: new EwmaStatistics(alpha), voltage: new EwmaStatistics(alpha), thd: new EwmaStatistics(alpha) },
        lastTime: Number.NEGATIVE_INFINITY,
        lastHeardAt: Number.NEGATIVE_INFINITY,
      };
      this.boxes.set(boxId, box);
    }
    return box;
  }

  private record(anomaly: Anomaly): void {
    if (!this.window) {
      if (anomaly.kind === 'sigma' && !this.settings.sigmaOpensWindow) return;
      this.window = new Map();
    }
    const member = this.window.get(anomaly.boxId);
    if (!member) {
      this.window.set(anomaly.boxId, { boxId: anomaly.boxId, first: anomaly.time, last: anomaly.time, readings: 1, worst: anomaly });
      return;
    }
    member.last = anomaly.time;
    member.readings += 1;
    if (isWorse(anomaly, member.worst)) member.worst = anomaly;
  }

  private pastGraceByClock(member: WindowMember, box: BoxState): boolean {
    return box.lastTime >= member.last + this.settings.graceMs;
  }

  private closeIfDone(now: number): void {
    const window = this.window;
    if (!window) return;
    const { graceMs, padBeforeMs, padAfterMs, maxWindowMs } = this.settings;
    let allPast = true;
    let newest = Number.NEGATIVE_INFINITY;
    let earliest = Number.POSITIVE_INFINITY;
    for (const member of window.values()) {
      const box = this.boxes.get(member.boxId);
      if (!box) continue;
      newest = Math.max(newest, box.lastTime);
      earliest = Math.min(earliest, member.first);
      if (!this.pastGraceByClock(member, box) && now - box.lastHeardAt < graceMs) allPast = false;
    }
    // Still open: once the requested range is as long as boxes keep, waiting longer only loses data.
    const longest = newest + padAfterMs - Math.max(0, earliest - padBeforeMs) >= maxWindowMs;
    if (allPast || longest) this.close(window);
  }

  private close(window: Map<number, WindowMember>): void {
    this.window = undefined;
    if (window.size === 1 && !this.settings.reportSingleBox) return;
    this.out.push(buildNapaliRequest([...window.values()], this.settings));
  }

  private takeOut(): EventRequest[] {
    const out = this.out;
    this.out = [];
    return out;
  }
}
