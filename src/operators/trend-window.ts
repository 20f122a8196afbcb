import { asyncScheduler, Observable } from 'rxjs';
import type { Observer, OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import { ConfigError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import type { TriggerMessage } from '../protocol/messages.js';
import { DEFAULT_CLOCK_CHANGE_AFTER, DEFAULT_MAX_TIME_JUMP_MS, TrendWindowAssigner } from './trend-window-assigner.js';
import type { LateMessage, TrendWindow } from './trend-window-assigner.js';

export type { LateMessage, LateReason, TrendWindow } from './trend-window-assigner.js';
export { DEFAULT_CLOCK_CHANGE_AFTER, DEFAULT_MAX_TIME_JUMP_MS, windowStartOf } from './trend-window-assigner.js';

/** Options of {@link trendWindow}. */
export interface TrendWindowOptions {
  /**
   * Window length in ms of box time (virtual ms under a TestScheduler). Windows are aligned to
   * UTC multiples of it. Default 60 000 (the original `mongo_trends_update_interval_seconds`).
   */
  readonly windowMs?: number;
  /**
   * Extra scheduler time to wait before closing the windows of a box that went silent: they
   * close after `windowMs + allowedLatenessMs + graceMs` without a message from that box.
   * Default 5 000.
   */
  readonly graceMs?: number;
  /**
   * How far (ms of box time) a message may trail the newest message of its box and still join
   * its window. A window closes when the box's newest time minus this reaches the window's
   * end. Default 0: one open window per box, closed by the first message of a later window.
   */
  readonly allowedLatenessMs?: number;
  /**
   * Largest forward jump (ms of box time) of a box's clock taken from one message. A message
   * further ahead of its box's newest time is held until `clockChangeAfter` agreeing messages
   * show a clock change (then merged), or refused as `outlier-time` when the box's clock speaks
   * first. Default 60 000 (1 minute).
   */
  readonly maxTimeJumpMs?: number;
  /**
   * How many consecutive agreeing messages make a jump ahead, or a step back into closed
   * windows, a clock change of the box. At least 2. Default 5 (under a second of traffic).
   */
  readonly clockChangeAfter?: number;
  /**
   * Late-data side output: messages whose window had already been emitted, whose `time` is
   * invalid, or whose `time` was a lone outlier (`outlier-time`). Only `next` is called (the observer may be shared by several subscriptions, so
   * it is never completed or errored from here).
   */
  readonly late?: Partial<Observer<LateMessage>>;
  /** Counts refused messages in `makai_trend_late_messages_total{reason}`. */
  readonly metrics?: Metrics;
  /** Clock and timers of the silence flush; defaults to `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/** Name of the counter of messages refused by {@link trendWindow}. */
export const TREND_LATE_MESSAGES_METRIC = 'makai_trend_late_messages_total';

/**
 * Per-box tumbling trend windows in event time: min, max and average of voltage (rms),
 * frequency and thd for every `windowMs` of box time (spec §4.2, §5.4, with §9 item 3 fixed).
 *
 * <span class="informal">Like `groupBy(id)` + a tumbling window on the message timestamp, with
 * a processing-time timeout so the last window of a box that stops is not lost.</span>
 *
 * A box's window is emitted
 * 1. when the box sends a message for a later window (box time, see `allowedLatenessMs`);
 * 2. when the box has been silent for `windowMs + allowedLatenessMs + graceMs` of scheduler time
 *    since its last merged message (so a box that stops still gets its last trend);
 * 3. when the source completes: all open windows, ordered by window start then numeric box id.
 *
 * Event time is robust per box: one timestamp far ahead (inside the decoder's clock-skew
 * limit) neither closes the box's windows nor makes what follows late. A message more than
 * `maxTimeJumpMs` ahead of its box's clock is held; `clockChangeAfter` agreeing ones (each
 * within `maxTimeJumpMs` of the one before) are a clock change and merged, closing the windows
 * before them; a message agreeing with the old clock first makes the held ones outliers, sent
 * to `late` as `outlier-time`. A step back is seen the same way: `clockChangeAfter`
 * consecutive agreeing messages for closed windows emit the box's open windows and start it
 * afresh at its new time (only the first `clockChangeAfter - 1` of them are lost, as
 * `window-closed`). A window that comes round again after a step back is emitted again; the
 * trend stores merge it into the one already written.
 *
 * ```
 * windowMs = 10, maxTimeJumpMs = 20, clockChangeAfter = 3, box 1:
 * source:   -a-o-b-c-----|      a=1 o=500 (lone outlier) b=3 c=12
 * output:   -------x-----(y|)   x = [0,10) of a,b   y = [10,20) of c
 * late:     -----o-------       o refused as outlier-time when b agreed with the box's clock
 * ```
 *
 * If the source errors, open windows are dropped and the error is forwarded: a window cut short
 * by a failure would look like a complete minute with too few samples. Messages for windows
 * already emitted go to `late` and are counted; they are never merged into another window.
 * Memory is O(boxes × open windows), never O(messages).
 *
 * ```
 * windowMs = 10 frames, box 1, message time = frame:
 * source:   --a---b-----c-----|
 * output:   ------------x-----(y|)     x = [0,10) of a,b   y = [10,20) of c
 * ```
 *
 * ## Example
 * ```ts
 * messages$.pipe(trendWindow({ windowMs: 60_000, scheduler }), map((w) => toTrendDoc(w, location)));
 * ```
 *
 * @see {@link toTrendDoc} to build the `trends` document.
 * @param options Window length, grace, lateness, side output, metrics and scheduler.
 * @returns An operator from trigger messages to closed {@link TrendWindow}s.
 * @throws ConfigError (synchronously) when an option is out of range.
 */
export function trendWindow(options: TrendWindowOptions = {}): OperatorFunction<TriggerMessage, TrendWindow> {
  const windowMs = options.windowMs ?? 60_000;
  const graceMs = options.graceMs ?? 5_000;
  const allowedLatenessMs = options.allowedLatenessMs ?? 0;
  const maxTimeJumpMs = options.maxTimeJumpMs ?? DEFAULT_MAX_TIME_JUMP_MS;
  const clockChangeAfter = options.clockChangeAfter ?? DEFAULT_CLOCK_CHANGE_AFTER;
  const scheduler = options.scheduler ?? asyncScheduler;
  const { late, metrics } = options;
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) {
    throw new ConfigError(`must be a positive whole number of ms, got ${windowMs}`, { path: 'windowMs' });
  }
  if (!Number.isFinite(graceMs) || graceMs < 0) {
    throw new ConfigError(`must be a non-negative number of ms, got ${graceMs}`, { path: 'graceMs' });
  }
  if (!Number.isFinite(allowedLatenessMs) || allowedLatenessMs < 0) {
    throw new ConfigError(`must be a non-negative number of ms, got ${allowedLatenessMs}`, { path: 'allowedLatenessMs' });
  }
  if (!Number.isFinite(maxTimeJumpMs) || maxTimeJumpMs <= 0) {
    throw new ConfigError(`must be a positive number of ms, got ${maxTimeJumpMs}`, { path: 'maxTimeJumpMs' });
  }
  // 1 would make every late message a step back of the clock.
  if (!Number.isSafeInteger(clockChangeAfter) || clockChangeAfter < 2) {
    throw new ConfigError(`must be a whole number ≥ 2, got ${clockChangeAfter}`, { path: 'clockChangeAfter' });
  }
  const silenceMs = windowMs + allowedLatenessMs + graceMs;

  return function trendWindowOperatorFunction(source) {
    return new Observable<TrendWindow>((subscriber) => {
      // Everything below is per subscription.
      const assigner = new TrendWindowAssigner(windowMs, allowedLatenessMs, { maxTimeJumpMs, clockChangeAfter });
      const timers = new Map<number, Subscription>();
      const lateCounter = metrics?.counter(
        TREND_LATE_MESSAGES_METRIC,
        'Trigger messages not merged into any trend window, by reason',
        ['reason'],
      );

      const emit = (windows: readonly TrendWindow[]): void => {
        for (const window of windows) subscriber.next(window);
      };
      const refuse = (refused: readonly LateMessage[] | undefined): void => {
        for (const message of refused ?? []) {
          lateCounter?.inc({ reason: message.reason });
          late?.next?.(message);
        }
      };

      // One pending action per box with open windows. It is not pushed back on every message
      // (6/s per box): when it fires early it re-arms itself for the remaining silence.
      const armSilenceTimer = (boxId: number, delay: number): void => {
        timers.set(
          boxId,
          scheduler.schedule(() => {
            timers.delete(boxId);
            const lastArrival = assigner.lastArrivalMs(boxId);
            if (lastArrival === undefined) return;
            const remaining = lastArrival + silenceMs - scheduler.now();
            if (remaining > 0) armSilenceTimer(boxId, remaining);
            else emit(assigner.closeBox(boxId));
          }, delay),
        );
      };

      const releaseTimers = (): void => {
        for (const timer of timers.values()) timer.unsubscribe();
        timers.clear();
      };

      subscriber.add(
        source.subscribe({
          next(message) {
            if (subscriber.closed) return;
            try {
              const outcome = assigner.accept(message, scheduler.now());
              refuse(outcome.refused);
              if (outcome.kind === 'late') {
                refuse([outcome.late]);
                return;
              }
              if (outcome.kind === 'held') return;
              if (!timers.has(message.id)) armSilenceTimer(message.id, silenceMs);
              emit(outcome.closed);
            } catch (error) {
              // A throwing side-output observer takes the one error path, like any rxjs callback.
              subscriber.error(error);
            }
          },
          error(error) {
            releaseTimers();
            assigner.clear();
            subscriber.error(error);
          },
          complete() {
            releaseTimers();
            try {
              refuse(assigner.refuseHeld());
            } catch (error) {
              subscriber.error(error);
              return;
            }
            emit(assigner.closeAll());
            subscriber.complete();
          },
        }),
      );

      return () => {
        releaseTimers();
        assigner.clear();
      };
    });
  };
}
