import { asyncScheduler, Observable } from 'rxjs';
import type { Observer, OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import { ConfigError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import type { TriggerMessage } from '../protocol/messages.js';
import { TrendWindowAssigner } from './trend-window-assigner.js';
import type { LateMessage, TrendWindow } from './trend-window-assigner.js';

export type { LateMessage, LateReason, TrendWindow } from './trend-window-assigner.js';
export { windowStartOf } from './trend-window-assigner.js';

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
   * Late-data side output: messages whose window had already been emitted, or whose `time` is
   * invalid. Only `next` is called (the observer may be shared by several subscriptions, so
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
  const silenceMs = windowMs + allowedLatenessMs + graceMs;

  return function trendWindowOperatorFunction(source) {
    return new Observable<TrendWindow>((subscriber) => {
      // Everything below is per subscription.
      const assigner = new TrendWindowAssigner(windowMs, allowedLatenessMs);
      const timers = new Map<number, Subscription>();
      const lateCounter = metrics?.counter(
        TREND_LATE_MESSAGES_METRIC,
        'Trigger messages not merged into any trend window, by reason',
        ['reason'],
      );

      const emit = (windows: readonly TrendWindow[]): void => {
        for (const window of windows) subscriber.next(window);
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
              if (outcome.kind === 'late') {
                lateCounter?.inc({ reason: outcome.late.reason });
                late?.next?.(outcome.late);
                return;
              }
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
