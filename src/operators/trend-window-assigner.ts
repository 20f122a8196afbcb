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
  | 'invalid-time'
  /**
   * Its `time` jumped more than `maxTimeJumpMs` ahead of its box's clock and fewer than
   * `clockChangeAfter` messages agreed with it before the box's clock spoke again (a lone
   * outlier timestamp), or the stream ended first.
   */
  | 'outlier-time';

/** A message refused by the trend windows, for the late-data side output. */
export interface LateMessage {
  readonly reason: LateReason;
  readonly boxId: string;
  readonly message: TriggerMessage;
  /** Start of the window the message belongs to (absent for `invalid-time`). */
  readonly windowStartMs?: number;
  /** Every window of this box ending at or before this box time had already been emitted. */
  readonly closedUpToMs?: number;
  /** For `outlier-time`: the box's clock (newest trusted box time) the message was compared with. */
  readonly boxClockMs?: number;
}

/**
 * Outcome of {@link TrendWindowAssigner.accept}: the message was merged (with every window it
 * closed), refused, or held as a candidate clock change. `refused`, when present, lists earlier
 * held messages this one showed to be outliers (report them before the message's own outcome).
 */
export type AcceptOutcome =
  | { readonly kind: 'merged'; readonly closed: readonly TrendWindow[]; readonly refused?: readonly LateMessage[] }
  | { readonly kind: 'late'; readonly late: LateMessage; readonly refused?: readonly LateMessage[] }
  | { readonly kind: 'held'; readonly refused?: readonly LateMessage[] };

/** Outcome of merging one message that agrees with its box's clock. */
type PlaceOutcome =
  | { readonly kind: 'merged'; readonly closed: readonly TrendWindow[] }
  | { readonly kind: 'late'; readonly late: LateMessage };

/** Tuning of the event-time rule of {@link TrendWindowAssigner}; see its rules. */
export interface ClockRuleOptions {
  /** Largest forward jump (ms of box time) taken at once; default {@link DEFAULT_MAX_TIME_JUMP_MS}. */
  readonly maxTimeJumpMs?: number;
  /** Agreeing messages that make a jump or step back a clock change; default {@link DEFAULT_CLOCK_CHANGE_AFTER}. */
  readonly clockChangeAfter?: number;
}

/**
 * Default largest forward jump of a box's clock taken at once: 1 minute. A box sends 6 messages
 * a second, so its time normally moves 167 ms per message; a longer jump is a box back from a
 * silence, a clock that was set, or one bad timestamp, and only agreement tells them apart.
 */
export const DEFAULT_MAX_TIME_JUMP_MS = 60_000;

/**
 * Default agreeing messages that make a clock change: 5, under a second of a box's traffic.
 * A lone bad timestamp is never followed by 4 more agreeing with it; a real change always is.
 */
export const DEFAULT_CLOCK_CHANGE_AFTER = 5;

/** The outcome of nearly every message; shared so the hot path allocates nothing. */
const MERGED_NOTHING_CLOSED: PlaceOutcome = Object.freeze({ kind: 'merged', closed: Object.freeze([]) });

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
  /** Messages that jumped ahead of `maxTimeJumpMs`, agreeing with each other, oldest first; at most `clockChangeAfter - 1`. */
  readonly ahead: TriggerMessage[];
  /** Consecutive messages refused `window-closed` that agree with each other (a clock step back in the making). */
  behind: number;
  /** Box time of the newest of them. */
  lastBehindMs: number;
}

/**
 * The event-time bookkeeping of {@link trendWindow}, without rxjs or timers so it can be tested
 * on its own. Per box it keeps only running statistics (O(1) per open window), never messages.
 *
 * Rules:
 * - A message belongs to window `windowStartOf(time)`. A box's windows close when its clock
 *   (newest trusted box time) minus `allowedLatenessMs` reaches their end. With the default
 *   lateness 0 that is "one open window per box, closed by the first message of a later window".
 * - A message whose window has already closed is late: it is reported, never merged into
 *   another window (so a trend never mixes two minutes).
 * - {@link TrendWindowAssigner.closeBox} (silence) and {@link TrendWindowAssigner.closeAll}
 *   (end of stream) close windows early; later messages for those windows are late as well.
 *
 * Robust event time, per box (one bad timestamp must not close a box's windows for good):
 * - *Jump ahead.* A message more than `maxTimeJumpMs` ahead of the box's clock is held, not
 *   merged, and does not move the clock. When `clockChangeAfter` consecutive held messages
 *   agree (each within `maxTimeJumpMs` of the one before), the box's clock has changed: they
 *   are merged in arrival order, closing the windows before them as any later message would.
 *   When a message agreeing with the box's clock comes first, the held ones were outliers:
 *   refused as `outlier-time` and never merged. A held message that agrees with neither
 *   starts a new candidate run (the older one is refused). At the end of the stream, held
 *   messages are refused as `outlier-time`.
 * - *Step back.* A message for a window already closed is refused `window-closed`, as before.
 *   When `clockChangeAfter` consecutive messages are refused so and agree with each other,
 *   the box's clock has stepped back: every open window of the box is emitted, the box starts
 *   afresh at the new time and that message is merged. A window that comes round again is
 *   emitted again; the trend stores merge it with the one written before (one document per
 *   box and window). A step back loses its first `clockChangeAfter - 1` messages, no more.
 * - A new box's first message sets its clock.
 *
 * @internal
 */
export class TrendWindowAssigner {
  private readonly boxes = new Map<number, BoxWindows>();
  private readonly maxTimeJumpMs: number;
  private readonly clockChangeAfter: number;

  constructor(
    private readonly windowMs: number,
    private readonly allowedLatenessMs: number,
    clock: ClockRuleOptions = {},
  ) {
    this.maxTimeJumpMs = clock.maxTimeJumpMs ?? DEFAULT_MAX_TIME_JUMP_MS;
    this.clockChangeAfter = clock.clockChangeAfter ?? DEFAULT_CLOCK_CHANGE_AFTER;
  }

  /**
   * Merges one message into its window, refuses it as late, or holds it (a jump ahead waiting
   * for agreement; see the rules above).
   *
   * @param message A decoded trigger message.
   * @param nowMs Scheduler time of arrival; recorded for {@link TrendWindowAssigner.lastArrivalMs}.
   * @returns The merge result with every window it closed, the refusal, or `held`; with
   *   `refused`, earlier held messages it showed to be outliers.
   */
  accept(message: TriggerMessage, nowMs: number): AcceptOutcome {
    const time = message.time;
    if (!Number.isFinite(time) || time < 0) {
      return { kind: 'late', late: { reason: 'invalid-time', boxId: String(message.id), message } };
    }
    const box = this.box(message.id);
    // A new box has no clock yet (-Infinity): its first message sets it.
    if (box.maxTimeMs !== -Infinity && time > box.maxTimeMs + this.maxTimeJumpMs) return this.hold(box, message, nowMs);
    // The message agrees with the box's clock: anything held was a lone outlier.
    const refused = box.ahead.length > 0 ? this.refuseAhead(box) : undefined;
    const outcome = this.place(box, message, nowMs);
    if (!refused) return outcome;
    return outcome.kind === 'late' ? { kind: 'late', late: outcome.late, refused } : { kind: 'merged', closed: outcome.closed, refused };
  }

  /** Holds a message far ahead of its box's clock; merges the run once enough agree. */
  private hold(box: BoxWindows, message: TriggerMessage, nowMs: number): AcceptOutcome {
    const last = box.ahead[box.ahead.length - 1];
    const refused = last && Math.abs(message.time - last.time) > this.maxTimeJumpMs ? this.refuseAhead(box) : undefined;
    box.ahead.push(message);
    if (box.ahead.length < this.clockChangeAfter) return refused ? { kind: 'held', refused } : { kind: 'held' };
    // Enough agreement: the box's clock jumped. Merge the run in arrival order.
    const closed: TrendWindow[] = [];
    const late: LateMessage[] = refused ? [...refused] : [];
    for (const held of box.ahead.splice(0)) {
      const outcome = this.place(box, held, nowMs);
      if (outcome.kind === 'late') late.push(outcome.late);
      else closed.push(...outcome.closed);
    }
    return late.length > 0 ? { kind: 'merged', closed, refused: late } : { kind: 'merged', closed };
  }

  private refuseAhead(box: BoxWindows): LateMessage[] {
    return box.ahead.splice(0).map((message) => ({
      reason: 'outlier-time',
      boxId: String(box.id),
      message,
      windowStartMs: windowStartOf(message.time, this.windowMs),
      boxClockMs: box.maxTimeMs,
    }));
  }

  /** Merges a message that agrees with its box's clock (or refuses it for a closed window). */
  private place(box: BoxWindows, message: TriggerMessage, nowMs: number): PlaceOutcome {
    const time = message.time;
    const startMs = windowStartOf(time, this.windowMs);
    let stepped: TrendWindow[] | undefined;
    if (startMs + this.windowMs <= box.closedUpToMs) {
      const agrees = box.behind > 0 && Math.abs(time - box.lastBehindMs) <= this.maxTimeJumpMs;
      box.behind = agrees ? box.behind + 1 : 1;
      box.lastBehindMs = time;
      if (box.behind < this.clockChangeAfter) {
        const late: LateMessage = { reason: 'window-closed', boxId: String(message.id), message, windowStartMs: startMs, closedUpToMs: box.closedUpToMs };
        return { kind: 'late', late };
      }
      // The box's clock stepped back: emit what is open and start afresh at the new time.
      stepped = box.open.splice(0).map((w) => this.toTrendWindow(box.id, w));
      box.closedUpToMs = -Infinity;
      box.maxTimeMs = -Infinity;
    }
    box.behind = 0;

    const window = openWindow(box.open, startMs);
    window.count += 1;
    window.voltage.add(message.rms);
    window.frequency.add(message.frequency);
    if (message.thd !== undefined) window.thd.add(message.thd);
    box.lastArrivalMs = nowMs;

    if (time > box.maxTimeMs) box.maxTimeMs = time;
    const watermark = box.maxTimeMs - this.allowedLatenessMs;
    if (watermark <= box.closedUpToMs) return stepped ? { kind: 'merged', closed: stepped } : MERGED_NOTHING_CLOSED;
    box.closedUpToMs = watermark;
    // The message's own window never closes here: its end is > time ≥ watermark.
    let n = 0;
    while (n < box.open.length && box.open[n]!.startMs + this.windowMs <= watermark) n += 1;
    if (n === 0) return stepped ? { kind: 'merged', closed: stepped } : MERGED_NOTHING_CLOSED;
    const closed = box.open.splice(0, n).map((w) => this.toTrendWindow(box.id, w));
    return { kind: 'merged', closed: stepped ? [...stepped, ...closed] : closed };
  }

  /**
   * Refuses every held message of every box as `outlier-time` (end of stream: the agreement
   * they waited for will not come). Call before {@link TrendWindowAssigner.closeAll}.
   */
  refuseHeld(): LateMessage[] {
    const refused: LateMessage[] = [];
    for (const box of this.boxes.values()) if (box.ahead.length > 0) refused.push(...this.refuseAhead(box));
    return refused;
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
      box = { id, open: [], closedUpToMs: -Infinity, maxTimeMs: -Infinity, lastArrivalMs: 0, ahead: [], behind: 0, lastBehindMs: 0 };
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
