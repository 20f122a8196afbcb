import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

/**
 * The wall-clock scheduler of a running service: rxjs's `asyncScheduler`, except that work
 * scheduled with no delay runs on `setImmediate`, in the same turn of the event loop, after the
 * I/O that asked for it.
 *
 * Why: operators hand work off their caller's stack with `schedule(work, 0)` (a plugin's queue
 * drain does it for every measurement that finds the queue empty). On `asyncScheduler` that is a
 * `setTimeout(0)`: a timer, at least 1 ms later, and a second wake-up of the process per
 * message; at 1,000 msg/s the drain timers alone were about as many wake-ups as the socket's.
 * `setImmediate` needs no timer and no extra wake-up, and still yields to I/O between two runs,
 * so work that keeps rescheduling itself cannot starve the sockets (a microtask would).
 *
 * Delayed work is a plain `setTimeout`, as on `asyncScheduler`; `now()` is `Date.now()`.
 * Tests use rxjs's `TestScheduler` (virtual time) instead.
 */
export const serviceScheduler: SchedulerLike = {
  now: () => Date.now(),
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new ServiceAction(work).schedule(state, delay);
  },
};

/** One scheduled piece of work; `this` inside the work, so it can reschedule itself. */
class ServiceAction<T> extends Subscription implements SchedulerAction<T> {
  private immediate: NodeJS.Immediate | undefined;
  private timeout: NodeJS.Timeout | undefined;

  constructor(private readonly work: (this: SchedulerAction<T>, state?: T) => void) {
    super();
    this.add(() => this.cancel());
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.cancel();
    if (delay > 0) this.timeout = setTimeout(() => this.run(state), delay);
    else this.immediate = setImmediate(() => this.run(state));
    return this;
  }

  private run(state: T | undefined): void {
    this.immediate = undefined;
    this.timeout = undefined;
    if (this.closed) return;
    try {
      this.work.call(this, state);
    } catch (error) {
      // As rxjs's schedulers do: the failed action is done, the error goes to the process.
      this.unsubscribe();
      throw error;
    }
  }

  private cancel(): void {
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.timeout !== undefined) clearTimeout(this.timeout);
    this.immediate = undefined;
    this.timeout = undefined;
  }
}
