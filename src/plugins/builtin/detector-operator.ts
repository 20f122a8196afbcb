import { Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { EventRequest, Measurement, PluginOperator } from '../plugin.js';

/**
 * A detector state machine free of RxJS: what {@link detectorOperator} drives. Event time is box
 * time (`Measurement.time`); `now` arguments are scheduler time, used only to notice silence.
 */
export interface StreamDetector {
  /** Feeds one measurement that arrived at scheduler time `now`; returns requests that closed. */
  onMeasurement(measurement: Measurement, now: number): EventRequest[];
  /** Called at (or after) {@link nextDeadline}; returns requests that closed because boxes went silent. */
  onTimer(now: number): EventRequest[];
  /** The input completed: returns whatever is still open, closed now. */
  flush(): EventRequest[];
  /** Scheduler time at which {@link onTimer} may have something to do, or undefined when nothing waits. */
  nextDeadline(): number | undefined;
}

/**
 * The RxJS operator around a {@link StreamDetector}: one fresh detector per subscription (so a
 * restart after a failure starts clean), one lazy timer on `scheduler` for its deadline, and a
 * flush when the input completes.
 *
 * ```
 * measurements: -a-b-c-------------|
 * timer:               ^ deadline
 * output:       -------x-----------(y|)    x from onTimer, y from flush
 * ```
 *
 * An exception inside the detector becomes an error notification (which `isolatePlugin`
 * handles), never an exception thrown into the source or the scheduler.
 *
 * @param createDetector Builds the detector for one subscription.
 * @param scheduler The only timer source.
 * @returns The plugin operator.
 */
export function detectorOperator(createDetector: () => StreamDetector, scheduler: SchedulerLike): PluginOperator {
  return function detectorOperatorFunction(source: Observable<Measurement>): Observable<EventRequest> {
    return new Observable<EventRequest>((subscriber) => {
      const detector = createDetector();
      let timer: Subscription | undefined;
      let timerAt = Number.POSITIVE_INFINITY;

      const emit = (requests: readonly EventRequest[]) => {
        for (const request of requests) subscriber.next(request);
      };
      const guarded = (work: () => void) => {
        try {
          work();
        } catch (error) {
          subscriber.error(error);
        }
      };
      // One lazy timer: it is re-armed only when the deadline moves earlier; when it fires
      // early (messages came meanwhile) it simply re-arms for the new deadline.
      const arm = () => {
        const deadline = detector.nextDeadline();
        if (deadline === undefined) {
          timer?.unsubscribe();
          timer = undefined;
          timerAt = Number.POSITIVE_INFINITY;
          return;
        }
        if (timer && timerAt <= deadline) return;
        timer?.unsubscribe();
        timerAt = deadline;
        timer = scheduler.schedule(() => {
          timer = undefined;
          timerAt = Number.POSITIVE_INFINITY;
          guarded(() => {
            emit(detector.onTimer(scheduler.now()));
            arm();
          });
        }, Math.max(0, deadline - scheduler.now()));
      };

      const subscription = source.subscribe({
        next: (measurement) =>
          guarded(() => {
            emit(detector.onMeasurement(measurement, scheduler.now()));
            arm();
          }),
        error: (error: unknown) => subscriber.error(error),
        complete: () =>
          guarded(() => {
            emit(detector.flush());
            subscriber.complete();
          }),
      });
      return () => {
        subscription.unsubscribe();
        timer?.unsubscribe();
      };
    });
  };
}
