import { VirtualAction, VirtualTimeScheduler, type SchedulerLike } from 'rxjs';

/**
 * The clock of a replay: a virtual-time scheduler whose `now()` is the box time of the
 * measurement being fed, so every operator that takes a `SchedulerLike` (plugin timers, the
 * dedupe memory, the plugin queue's drains) runs in the recording's time, not the wall clock's.
 * Whoever feeds the measurements moves it forward with {@link advanceTo}; nothing runs by itself.
 */
export class ReplayClock extends VirtualTimeScheduler {
  /** @param startMs Box time (ms since the epoch) the replay starts at. */
  constructor(startMs: number) {
    super(VirtualAction, Number.POSITIVE_INFINITY);
    this.frame = startMs;
  }

  /**
   * Runs, in due order, every action due at or before `ms` (each sees `now()` = its due time),
   * then leaves the clock at `ms`. Time never goes back: an earlier `ms` only runs what is due now.
   */
  advanceTo(ms: number): void {
    const target = Math.max(ms, this.frame);
    this.maxFrames = target;
    this.flush();
    this.frame = target;
  }

  /** Due time of the earliest pending action, or undefined when nothing is scheduled. */
  nextDue(): number | undefined {
    return this.actions[0]?.delay;
  }
}

/** True when `scheduler` is a {@link ReplayClock} (a replay source drives it as it feeds). */
export function isReplayClock(scheduler: SchedulerLike): scheduler is ReplayClock {
  return scheduler instanceof ReplayClock;
}
