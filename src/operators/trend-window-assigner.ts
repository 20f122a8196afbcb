import type { TrendStats } from '../protocol/documents.js';
import type { TriggerMessage } from '../protocol/messages.js';
import { RunningStats } from './running-stats.js';

/**
 * One closed trend window of one box: min/max/average of voltage (rms), frequency and thd over
 * the messages whose box time falls in `[windowStartMs, windowEndMs)`.
 */
export interface TrendWindow {
  /** Box id as a decimal string (as in MongoDB). */
  readonly boxId: string;
  /** Inclusive start, box-time ms, a UTC multiple of the window length. */
  readonly windowStartMs: number;
  /** Exclusive end, box-time ms (`windowStartMs + windowMs`). */
  readonly windowEndMs: number;
  /** Messages merged into the window. */
  readonly count: number;
  /** From `rms`; absent only if every rms value of the window was non-finite. */
  readonly voltage?: TrendStats;
  /** From `frequency`; absent only if every frequency value of the window was non-finite. */
  readonly frequency?: TrendStats;
  /** Only when at least one message of the window carried a thd. */
  readonly thd?: TrendStats;
}

/** Why a message was not merged into any window. Stable: used as a metric label. */
export type LateReason =
  /** Its window had already been emitted (closed by a later message, by silence, or never opened before the box moved on). */
  | 'window-closed'
  /** Its `time` is not a finite, non-negative number, so it has no window. */
  | 'invalid-time';

/** A message refused by the trend windows, for the late-data side output. */
export interface LateMessage {
  readonly reason: LateReason;
  readonly boxId: string;
  readonly message: TriggerMessage;
  /** Start of the window the message belongs to (absent for `invalid-time`). */
  readonly windowStartMs?: number;
  /** Every window of this box ending at or before this box time had already been emitted. */
  readonly closedUpToMs?: number;
}

/** Outcome of {@link TrendWindowAssigner.accept}. */
export type AcceptOutcome =
  | { readonly kind: 'merged'; readonly closed: readonly TrendWindow[] }
  | { readonly kind: 'late'; readonly late: LateMessage };

/** The outcome of nearly every message; shared so the hot path allocates nothing. */
const MERGED_NOTHING_CLOSED: AcceptOutcome = Object.freeze({ kind: 'merged', closed: Object.freeze([]) });

/**
 * The start of the window holding box time `timeMs`: windows are aligned to UTC multiples of
 * `windowMs` (a 60 s window always starts on a whole minute), whatever the arrival time.
 */
export function windowStartOf(timeMs: number, windowMs: number): number {
  return Math.floor(timeMs / windowMs) * windowMs;
}

interface OpenWindow {
  readonly startMs: number;
  count: number;
  readonly voltage: RunningStats;
  readonly frequency: RunningStats;
  readonly thd: RunningStats;
}

interface BoxWindows {
  readonly id: number;
  /** Open windows, ascending by start. At most `floor(allowedLatenessMs / windowMs) + 2` entries. */
  readonly open: OpenWindow[];
  /** Event-time watermark: every window ending at or before it is closed. */
  closedUpToMs: number;
  /** Newest box time merged so far. */
  maxTimeMs: number;
  /** Scheduler time of the newest merged message (processing time, for the silence timer). */
  lastArrivalMs: number;
}

/**
 * The event-time bookkeeping of {@link trendWindow}, without rxjs or timers so it can be tested
 * on its own. Per box it keeps only running statistics (O(1) per open window), never messages.
 *
 * Rules:
 * - A message belongs to window `windowStartOf(time)`. A box's windows close when its newest box
 *   time minus `allowedLatenessMs` reaches their end. With the default lateness 0 that is "one
 *   open window per box, closed by the first message of a later window".
 * - A message whose window has already closed is late: it is reported, never merged into
 *   another window (so a trend never mixes two minutes).
 * - {@link TrendWindowAssigner.closeBox} (silence) and {@link TrendWindowAssigner.closeAll}
 *   (end of stream) close windows early; later messages for those windows are late as well.
 *
 * @internal
 */
export class TrendWindowAssigner {
  private readonly boxes = new Map<number, BoxWindows>();

  constructor(
    private readonly windowMs: number,
    private readonly allowedLatenessMs: number,
  ) {}

  /**
   * Merges one message into its window, or refuses it as late.
   *
   * @param message A decoded trigger message.
   * @param nowMs Scheduler time of arrival; recorded for {@link TrendWindowAssigner.lastArrivalMs}.
   * @returns The merge result with every window the message closed (ascending), or the refusal.
   */
  accept(message: TriggerMessage, nowMs: number): AcceptOutcome {
    const time = message.time;
    if (!Number.isFinite(time) || time < 0) {
      return { kind: 'late', late: { reason: 'invalid-time', boxId: String(message.id), message } };
    }
    const box = this.box(message.id);
    const startMs = windowStartOf(time, this.windowMs);
    if (startMs + this.windowMs <= box.closedUpToMs) {
      const late: LateMessage = { reason: 'window-closed', boxId: String(message.id), message, windowStartMs: startMs, closedUpToMs: box.closedUpToMs };
      return { kind: 'late', late };
    }

    const window = openWindow(box.open, startMs);
    window.count += 1;
    window.voltage.add(message.rms);
    window.frequency.add(message.frequency);
    if (message.thd !== undefined) window.thd.add(message.thd);
    box.lastArrivalMs = nowMs;

    if (time > box.maxTimeMs) box.maxTimeMs = time;
    const watermark = box.maxTimeMs - this.allowedLatenessMs;
    if (watermark <= box.closedUpToMs) return MERGED_NOTHING_CLOSED;
    box.closedUpToMs = watermark;
    // The message's own window never closes here: its end is > time ≥ watermark.
    let n = 0;
    while (n < box.open.length && box.open[n]!.startMs + this.windowMs <= watermark) n += 1;
    if (n === 0) return MERGED_NOTHING_CLOSED;
    return { kind: 'merged', closed: box.open.splice(0, n).map((w) => this.toTrendWindow(box.id, w)) };
  }

  /** Scheduler time of the box's newest merged message, or `undefined` when it has no open window. */
  lastArrivalMs(boxId: number): number | undefined {
    const box = this.boxes.get(boxId);
    return box && box.open.length > 0 ? box.lastArrivalMs : undefined;
  }

  /** Closes every open window of one box (the box went silent); ascending by start. */
  closeBox(boxId: number): TrendWindow[] {
    const box = this.boxes.get(boxId);
    if (!box || box.open.length === 0) return [];
    const closed = box.open.splice(0);
    box.closedUpToMs = Math.max(box.closedUpToMs, closed[closed.length - 1]!.startMs + this.windowMs);
    return closed.map((w) => this.toTrendWindow(box.id, w));
  }

  /**
   * Closes every open window of every box (end of stream), ordered by window start, then by
   * numeric box id, so the output does not depend on arrival interleaving.
   */
  closeAll(): TrendWindow[] {
    const closed: Array<{ box: number; window: OpenWindow }> = [];
    for (const box of this.boxes.values()) {
      const last = box.open[box.open.length - 1];
      if (last) box.closedUpToMs = Math.max(box.closedUpToMs, last.startMs + this.windowMs);
      for (const window of box.open.splice(0)) closed.push({ box: box.id, window });
    }
    closed.sort((a, b) => a.window.startMs - b.window.startMs || a.box - b.box);
    return closed.map(({ box, window }) => this.toTrendWindow(box, window));
  }

  /** Open windows over all boxes (for tests and status). */
  get openWindowCount(): number {
    let n = 0;
    for (const box of this.boxes.values()) n += box.open.length;
    return n;
  }

  /** Forgets everything (teardown). */
  clear(): void {
    this.boxes.clear();
  }

  private box(id: number): BoxWindows {
    let box = this.boxes.get(id);
    if (!box) {
      box = { id, open: [], closedUpToMs: -Infinity, maxTimeMs: -Infinity, lastArrivalMs: 0 };
      this.boxes.set(id, box);
    }
    return box;
  }

  private toTrendWindow(boxId: number, window: OpenWindow): TrendWindow {
    const voltage = window.voltage.summary();
    const frequency = window.frequency.summary();
    const thd = window.thd.summary();
    return {
      boxId: String(boxId),
      windowStartMs: window.startMs,
      windowEndMs: window.startMs + this.windowMs,
      count: window.count,
      // Absent metrics are left out, not set to undefined: stores and deepEqual see the same keys.
      ...(voltage && { voltage }),
      ...(frequency && { frequency }),
      ...(thd && { thd }),
    };
  }
}

/** The open window starting at `startMs`, created in sorted position if needed. */
function openWindow(open: OpenWindow[], startMs: number): OpenWindow {
  let i = open.length;
  // Search from the end: in-order traffic always hits the newest window.
  while (i > 0 && open[i - 1]!.startMs > startMs) i -= 1;
  const existing = open[i - 1];
  if (existing && existing.startMs === startMs) return existing;
  const created: OpenWindow = {
    startMs,
    count: 0,
    voltage: new RunningStats(),
    frequency: new RunningStats(),
    thd: new RunningStats(),
  };
  open.splice(i, 0, created);
  return created;
}
