import type { PolicyRefusal } from '../core/rejection.js';
import type { RequestEventMessage } from '../protocol/messages.js';
import { TokenBuckets, type TokenBucketLimits } from './token-buckets.js';

/**
 * Why an event request was not turned into a new event. Stable: these are metric labels and
 * dead-letter reasons.
 *
 * - `merged`: the request is covered by an event whose READ is still outstanding (same boxes or a
 *   subset, window inside its window); the data it asks for is already on its way.
 * - `rate-limited`: its requester (`requestee`) is over its token-bucket rate.
 * - `too-many-outstanding`: it asks for data while too many READs are outstanding (in all, or of
 *   its requester).
 */
export type AdmissionRefusal = PolicyRefusal;

/** The limits of {@link EventAdmission}. */
export interface EventAdmissionLimits extends TokenBucketLimits {
  /** Most READs outstanding at once, over all requesters. */
  readonly maxOutstandingReads: number;
  /** Most READs outstanding at once for one requester, so one requester cannot take every slot. */
  readonly maxOutstandingReadsPerRequester: number;
  /** A READ stops counting as outstanding after this long even if a triggered box never answered, ms. */
  readonly readTimeoutMs: number;
}

/** What to do with one valid request. */
export type AdmissionDecision =
  | { readonly admit: true }
  | { readonly admit: false; readonly reason: 'merged'; readonly eventId: number; readonly detail: string }
  | { readonly admit: false; readonly reason: Exclude<AdmissionRefusal, 'merged'>; readonly detail: string };

/** A READ that went out and is not yet answered by every box it named. */
interface OutstandingRead {
  readonly eventId: number;
  readonly requestee: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly boxes: ReadonlySet<number>;
  /** Boxes of `boxes` that have not answered yet. */
  readonly waiting: Set<string>;
  readonly sentAtMs: number;
}

/**
 * Admission control of event requests at the acquisition broker (issue 14): what stops one
 * client from creating an event, and a 10-minute READ broadcast to every box, per message.
 *
 * In this order, for a request that passed validation:
 *
 * 1. **Merge.** When an outstanding READ covers it — the request's boxes are the READ's boxes or
 *    a subset, and its window lies inside the READ's window — it is merged into that event: no
 *    new event, no new READ, no `evnew`. The covering event is the data the request wants, so
 *    nothing is lost. A request that only overlaps (asks for time outside the window) is not
 *    merged: merging it would lose the part outside, so it is admitted as a new event, subject
 *    to 2 and 3.
 * 2. **Outstanding READs.** A request asking for data is refused `too-many-outstanding` while
 *    `maxOutstandingReads` READs are outstanding, or `maxOutstandingReadsPerRequester` of its
 *    requester's are. A READ is outstanding from when it is sent until every box it names has
 *    answered (stored or duplicate), or `readTimeoutMs` has passed. Checked before the rate, so
 *    a refusal here costs the requester no token.
 * 3. **Rate.** One token bucket per `requestee` (rate and burst from the limits); empty bucket ⇒
 *    `rate-limited`. Requests without data are limited too: each still creates an event.
 *
 * Time is a number the caller passes (the broker's scheduler), so the policy is a pure state
 * machine: nothing here reads a clock or sets a timer; expiry happens when time is next seen.
 */
export class EventAdmission {
  private readonly limits: EventAdmissionLimits;
  private readonly buckets: TokenBuckets;
  /** Insertion order is send order, so expired READs are at the front. */
  private readonly outstanding = new Map<number, OutstandingRead>();

  constructor(limits: EventAdmissionLimits) {
    this.limits = limits;
    this.buckets = new TokenBuckets(limits);
  }

  /** READs outstanding at `nowMs` (for status output and tests). */
  outstandingReads(nowMs: number): number {
    this.expire(nowMs);
    return this.outstanding.size;
  }

  /**
   * Decides on a valid request. Admitting takes the requester's token; call {@link readSent}
   * once its READ is published.
   */
  decide(request: RequestEventMessage, nowMs: number): AdmissionDecision {
    this.expire(nowMs);
    const covering = this.covering(request);
    if (covering) {
      return {
        admit: false,
        reason: 'merged',
        eventId: covering.eventId,
        detail: `covered by event ${covering.eventId} (boxes ${[...covering.boxes].join(',') || 'all'}, ${covering.startMs}..${covering.endMs}), whose READ is outstanding`,
      };
    }
    if (request.requestData) {
      if (this.outstanding.size >= this.limits.maxOutstandingReads) {
        return { admit: false, reason: 'too-many-outstanding', detail: `${this.outstanding.size} READs outstanding (max_outstanding_reads ${this.limits.maxOutstandingReads})` };
      }
      const own = this.countOf(request.requestee);
      if (own >= this.limits.maxOutstandingReadsPerRequester) {
        return {
          admit: false,
          reason: 'too-many-outstanding',
          detail: `${own} READs of this requester outstanding (max_outstanding_reads_per_requester ${this.limits.maxOutstandingReadsPerRequester})`,
        };
      }
    }
    if (!this.buckets.take(request.requestee, nowMs)) {
      return { admit: false, reason: 'rate-limited', detail: `over ${this.limits.ratePerSecond}/s (burst ${this.limits.burst}) for this requester` };
    }
    return { admit: true };
  }

  /** Records a published READ of event `eventId` for `request`. */
  readSent(eventId: number, request: RequestEventMessage, nowMs: number): void {
    const boxes = new Set(request.boxIds);
    this.outstanding.set(eventId, {
      eventId,
      requestee: request.requestee,
      startMs: request.startTimestampMsUtc,
      endMs: request.endTimestampMsUtc,
      boxes,
      waiting: new Set([...boxes].map(String)),
      sentAtMs: nowMs,
    });
  }

  /** A box answered event `eventId` (stored or duplicate); the READ ends when every named box has. */
  replied(eventId: number, boxId: string): void {
    const read = this.outstanding.get(eventId);
    if (!read) return;
    read.waiting.delete(boxId);
    // A READ naming no box waits for its timeout: any box may answer, and none is owed.
    if (read.waiting.size === 0 && read.boxes.size > 0) this.outstanding.delete(eventId);
  }

  private covering(request: RequestEventMessage): OutstandingRead | undefined {
    for (const read of this.outstanding.values()) {
      if (request.startTimestampMsUtc < read.startMs || request.endTimestampMsUtc > read.endMs) continue;
      // The READ goes to every box anyway; the box list says which boxes the event is about.
      if (read.boxes.size > 0 && !request.boxIds.every((id) => read.boxes.has(id))) continue;
      if (read.boxes.size > 0 && request.boxIds.length === 0) continue;
      return read;
    }
    return undefined;
  }

  private countOf(requestee: string): number {
    let n = 0;
    for (const read of this.outstanding.values()) if (read.requestee === requestee) n++;
    return n;
  }

  private expire(nowMs: number): void {
    for (const [id, read] of this.outstanding) {
      if (nowMs - read.sentAtMs < this.limits.readTimeoutMs) break;
      this.outstanding.delete(id);
    }
  }
}
