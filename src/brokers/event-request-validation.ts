import { boxIdProblem } from '../protocol/box-id.js';
import type { RequestEventMessage } from '../protocol/messages.js';

/** Why a decoded `RequestEventMessage` is refused. Stable: these are metric labels. */
export type EventRequestRefusal = 'end-before-start' | 'window-too-long' | 'invalid-timestamp' | 'invalid-box-id';

/** A refused request: the stable reason and a human-readable detail for the log. */
export interface EventRequestProblem {
  readonly reason: EventRequestRefusal;
  readonly detail: string;
}

/**
 * Checks a decoded event request before it consumes an event number: timestamps are whole
 * non-negative ms, `end ≥ start`, box ids are ids (0 to 2^31 − 1), and the window is no longer than `maxWindowMs` (boxes keep
 * 10 minutes; a longer window cannot be served and a huge one floods the store, spec §9 item 15).
 *
 * ```
 * start=1000 end=3000 max=600000  → undefined (accepted)
 * start=3000 end=1000             → { reason: 'end-before-start' }
 * start=0    end=700000           → { reason: 'window-too-long' }
 * ```
 *
 * @param request - the decoded message
 * @param maxWindowMs - longest accepted `end - start`, ms
 * @returns `undefined` when the request is acceptable, else why not
 */
export function validateEventRequest(request: RequestEventMessage, maxWindowMs: number): EventRequestProblem | undefined {
  const start = request.startTimestampMsUtc;
  const end = request.endTimestampMsUtc;
  for (const [name, ms] of [['start_timestamp_ms_utc', start], ['end_timestamp_ms_utc', end]] as const) {
    if (!Number.isSafeInteger(ms) || ms < 0) {
      return { reason: 'invalid-timestamp', detail: `${name} must be whole non-negative ms, got ${ms}` };
    }
  }
  if (end < start) {
    return { reason: 'end-before-start', detail: `end ${end} is before start ${start}` };
  }
  if (end - start > maxWindowMs) {
    return { reason: 'window-too-long', detail: `window of ${end - start} ms exceeds the maximum of ${maxWindowMs} ms` };
  }
  for (const id of request.boxIds) {
    // A negative int32 names no box; it would become a `boxes_triggered` entry like "-5".
    const problem = boxIdProblem(id);
    if (problem) return { reason: 'invalid-box-id', detail: problem };
  }
  return undefined;
}

/** The event mid-time sent to boxes: `(start + end) / 2` with integer division, as the original (spec §6.4). */
export function eventMidTime(request: Pick<RequestEventMessage, 'startTimestampMsUtc' | 'endTimestampMsUtc'>): number {
  return Math.floor((request.startTimestampMsUtc + request.endTimestampMsUtc) / 2);
}
