import { ConfigError } from '../core/errors.js';
import type { Counter, Gauge, Metrics } from '../core/metrics.js';
import type { BoxStatus } from '../protocol/documents.js';

/**
 * What the pipeline (or a broker) tells the liveness tracker. Two calls, no operators, no
 * clock of its own: the caller passes the times it already has.
 */
export interface BoxLivenessRecorder {
  /**
   * A valid measurement of `boxId` arrived.
   *
   * @param boxTimeMs The box's own timestamp of the measurement (event time).
   * @param receivedAtMs When this process received it (wall clock, the scheduler's `now()`).
   */
  recordMeasurement(boxId: string, boxTimeMs: number, receivedAtMs: number): void;
  /** A PONG of `boxId` arrived at `receivedAtMs` (wall clock). */
  recordPong(boxId: string, receivedAtMs: number): void;
}

/** What the tracker knows about one box. Times are ms. */
export interface BoxLivenessEntry {
  readonly box_id: string;
  /** When the last measurement was received (wall clock of this process). */
  readonly last_measurement_ms?: number;
  /** The box's own timestamp of that measurement. */
  readonly last_measurement_box_time_ms?: number;
  /** When the last PONG was received. */
  readonly last_pong_ms?: number;
  /** Measurements received from the box since it was first tracked. */
  readonly measurements: number;
}

export interface BoxLivenessOptions {
  /** Counts measurements and PONGs, and exports `makai_box_last_seen_seconds{box}`; nothing without it. */
  readonly metrics?: Metrics;
  /**
   * Most boxes tracked (default 10000). Beyond it the box heard from least recently is
   * forgotten (and its gauge series removed), so box ids made up by a misbehaving peer cannot
   * grow memory or the metric's label set without bound.
   */
  readonly maxBoxes?: number;
}

interface MutableEntry {
  last_measurement_ms?: number;
  last_measurement_box_time_ms?: number;
  last_pong_ms?: number;
  measurements: number;
  /** Whole second last written to the gauge: the gauge is set at most once a second per box. */
  gaugeSecond: number;
  /** Whole second the entry was last moved to the most-recent end of the map. */
  orderSecond: number;
  /** In {@link BoxLiveness.changed} already. */
  changed: boolean;
}

/**
 * Per-box liveness in memory: last measurement (receipt and box time) and last PONG, for the
 * health endpoint, the `makai_box_last_seen_seconds{box}` gauge (Unix seconds of the later of
 * the two, whole seconds) and periodic persistence to `box_status`.
 *
 * O(1) per call and bounded: at most `maxBoxes` entries, least recently heard-from evicted first.
 */
export class BoxLiveness implements BoxLivenessRecorder {
  readonly maxBoxes: number;
  /** In least-recently-heard-from order (a Map keeps insertion order; each record re-inserts). */
  private readonly boxes = new Map<string, MutableEntry>();
  /** Boxes changed since the last {@link takeChanges}. */
  private readonly changed = new Set<string>();
  private readonly lastSeen: Gauge<string> | undefined;
  private readonly measurementCount: Counter<string> | undefined;
  private readonly pongCount: Counter<string> | undefined;
  private readonly evictions: Counter<string> | undefined;

  constructor(options: BoxLivenessOptions = {}) {
    this.maxBoxes = options.maxBoxes ?? 10_000;
    if (!Number.isSafeInteger(this.maxBoxes) || this.maxBoxes < 1) {
      throw new ConfigError(`must be a whole number ≥ 1, got ${this.maxBoxes}`, { path: 'maxBoxes' });
    }
    const m = options.metrics;
    this.lastSeen = m?.gauge('makai_box_last_seen_seconds', 'Unix time (s) a box was last heard from: a measurement or a PONG', ['box']);
    this.measurementCount = m?.counter('makai_box_measurements_total', 'Valid measurements received from boxes');
    this.pongCount = m?.counter('makai_box_pongs_total', 'PONGs received from boxes');
    this.evictions = m?.counter('makai_box_liveness_evicted_total', 'Boxes forgotten by the liveness tracker because it was full');
  }

  recordMeasurement(boxId: string, boxTimeMs: number, receivedAtMs: number): void {
    const entry = this.touch(boxId, receivedAtMs);
    entry.last_measurement_ms = receivedAtMs;
    entry.last_measurement_box_time_ms = boxTimeMs;
    entry.measurements++;
    this.measurementCount?.inc();
    this.seen(boxId, entry, receivedAtMs);
  }

  recordPong(boxId: string, receivedAtMs: number): void {
    const entry = this.touch(boxId, receivedAtMs);
    entry.last_pong_ms = receivedAtMs;
    this.pongCount?.inc();
    this.seen(boxId, entry, receivedAtMs);
  }

  /** Boxes tracked now. */
  get size(): number {
    return this.boxes.size;
  }

  get(boxId: string): BoxLivenessEntry | undefined {
    const entry = this.boxes.get(boxId);
    return entry && toEntry(boxId, entry);
  }

  /** Every tracked box, ordered by box id (numerically when both ids are numbers). */
  snapshot(): BoxLivenessEntry[] {
    return [...this.boxes].map(([id, entry]) => toEntry(id, entry)).sort((a, b) => compareBoxIds(a.box_id, b.box_id));
  }

  /**
   * The `box_status` of every box changed since the previous call (and forgets that they
   * changed): what a persister writes with `store.updateBoxStatus`.
   */
  takeChanges(): BoxStatus[] {
    const out: BoxStatus[] = [];
    for (const id of this.changed) {
      const entry = this.boxes.get(id);
      if (!entry) continue;
      entry.changed = false;
      out.push({
        box_id: id,
        ...(entry.last_measurement_ms === undefined ? {} : { last_measurement_ms: entry.last_measurement_ms }),
        ...(entry.last_pong_ms === undefined ? {} : { last_pong_ms: entry.last_pong_ms }),
      });
    }
    this.changed.clear();
    return out;
  }

  /**
   * The box's entry, moved to the most-recent end; evicts the least recent box when full. An
   * entry moves at most once a second: the eviction order is exact to the second, without a
   * Map delete and insert for each of a box's six measurements a second (a tenth of the
   * pipeline's per-message cost at 1000 boxes).
   */
  private touch(boxId: string, atMs: number): MutableEntry {
    const second = Math.floor(atMs / 1000);
    let entry = this.boxes.get(boxId);
    if (entry === undefined) {
      entry = { measurements: 0, gaugeSecond: Number.NEGATIVE_INFINITY, orderSecond: second, changed: false };
      if (this.boxes.size >= this.maxBoxes) this.evictOldest();
      this.boxes.set(boxId, entry);
    } else if (second > entry.orderSecond) {
      entry.orderSecond = second;
      this.boxes.delete(boxId);
      this.boxes.set(boxId, entry);
    }
    if (!entry.changed) {
      entry.changed = true;
      this.changed.add(boxId);
    }
    return entry;
  }

  private seen(boxId: string, entry: MutableEntry, atMs: number): void {
    const second = Math.floor(atMs / 1000);
    if (second > entry.gaugeSecond) {
      entry.gaugeSecond = second;
      this.lastSeen?.set({ box: boxId }, second);
    }
  }

  private evictOldest(): void {
    const oldest = this.boxes.keys().next();
    if (oldest.done) return;
    this.boxes.delete(oldest.value);
    this.changed.delete(oldest.value);
    this.lastSeen?.remove({ box: oldest.value });
    this.evictions?.inc();
  }
}

function toEntry(box_id: string, entry: MutableEntry): BoxLivenessEntry {
  return {
    box_id,
    ...(entry.last_measurement_ms === undefined ? {} : { last_measurement_ms: entry.last_measurement_ms }),
    ...(entry.last_measurement_box_time_ms === undefined ? {} : { last_measurement_box_time_ms: entry.last_measurement_box_time_ms }),
    ...(entry.last_pong_ms === undefined ? {} : { last_pong_ms: entry.last_pong_ms }),
    measurements: entry.measurements,
  };
}

/** Box ids are decimal numbers in OPQ; order them as numbers, anything else as text after them. */
export function compareBoxIds(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : Number.NaN;
  const nb = /^\d+$/.test(b) ? Number(b) : Number.NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb || (a < b ? -1 : a > b ? 1 : 0);
  if (!Number.isNaN(na)) return -1;
  if (!Number.isNaN(nb)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
