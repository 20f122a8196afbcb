import { defer, filter, map } from 'rxjs';
import type { MonoTypeOperatorFunction, Observer, SchedulerLike } from 'rxjs';
import { ConfigError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import type { RequestEventMessage } from '../protocol/messages.js';
import { expiryHorizon, OverlappingIntervals } from './overlapping-intervals.js';

/** The original `event_request_expiration_window_ms`. */
export const DEFAULT_REQUEST_EXPIRATION_MS = 1_800_000;

/** Name of the counter of requests seen by {@link dedupeRequests}, by `outcome`. */
export const DEDUPE_REQUESTS_METRIC = 'makai_dedupe_requests_total';

/**
 * What {@link dedupeRequests} did with a request. Stable: used as a metric label.
 * - `fresh`: some of its range was new; forwarded with `requestData: true` and cached.
 * - `covered`: its whole range was already requested; forwarded with `requestData: false`.
 * - `no-data`: the plugin itself asked for no data; forwarded unchanged, not cached.
 * - `invalid-interval`: start/end not finite, negative, or end before start; not forwarded.
 */
export type DedupeOutcome = 'fresh' | 'covered' | 'no-data' | 'invalid-interval';

/** A request refused by {@link dedupeRequests}. */
export interface RejectedRequest {
  readonly reason: 'invalid-interval';
  readonly request: RequestEventMessage;
}

/** Options of {@link dedupeRequests}. */
export interface DedupeRequestsOptions {
  /**
   * How long (ms of event time) a requested range is remembered: each request first forgets
   * ranges that ended before its own start minus this. Default 1 800 000 (30 min, the original
   * `event_request_expiration_window_ms`).
   */
  readonly expirationMs?: number;
  /** Upper bound on remembered ranges (oldest forgotten first). Default 10 000. */
  readonly maxIntervals?: number;
  /** Receives refused requests. Only `next` is called (the observer may be shared). */
  readonly rejected?: Partial<Observer<RejectedRequest>>;
  /** Counts requests in `makai_dedupe_requests_total{outcome}`. */
  readonly metrics?: Metrics;
  /**
   * Accepted for uniformity with the other operators and ignored: de-duplication runs on the
   * requests' own timestamps (event time), never on a clock.
   */
  readonly scheduler?: SchedulerLike;
}

/**
 * Decides, for each event request, whether boxes must be asked for its waveform data
 * (spec §5.6, with §9 items 5 and 6 fixed).
 *
 * <span class="informal">Every request is forwarded (the broker records an event for each);
 * only the `requestData` flag changes.</span>
 *
 * - Whole range `[start, end]` already requested ⇒ forwarded with `requestData: false`.
 * - Otherwise ⇒ forwarded as the plugin sent it (`requestData: true`) and its range is merged
 *   into the cache. The *whole* range is requested again even when it partly overlaps: the
 *   boxes then send one contiguous waveform per event, which is what Mauka and OPQ View read by
 *   event; trimming would save a little bandwidth but split an event's data across events.
 * - A plugin that set `requestData: false` keeps it (the original overwrote it), and its range
 *   is not cached, since no data will be fetched for it.
 * - Ranges are forgotten once they ended more than `expirationMs` before a new request's start,
 *   computed without underflow.
 * - Invalid ranges (non-finite, negative, `end < start`) are refused: counted, sent to
 *   `rejected`, not forwarded.
 *
 * ```
 * source:   --a--b--c--|      a = [1000,2000] b = [1200,1800] c = [1500,2500], all requestData true
 * output:   --a--B--c--|      B = b with requestData false
 * ```
 *
 * @param options Expiry, bounds, side output and metrics.
 * @returns An operator forwarding every valid request with `requestData` decided.
 * @throws ConfigError (synchronously) when an option is out of range.
 */
export function dedupeRequests(options: DedupeRequestsOptions = {}): MonoTypeOperatorFunction<RequestEventMessage> {
  const expirationMs = options.expirationMs ?? DEFAULT_REQUEST_EXPIRATION_MS;
  const maxIntervals = options.maxIntervals ?? 10_000;
  const { rejected, metrics } = options;
  if (!Number.isFinite(expirationMs) || expirationMs < 0) {
    throw new ConfigError(`must be a non-negative number of ms, got ${expirationMs}`, { path: 'expirationMs' });
  }
  if (!Number.isSafeInteger(maxIntervals) || maxIntervals < 1) {
    throw new ConfigError(`must be a whole number >= 1, got ${maxIntervals}`, { path: 'maxIntervals' });
  }

  return function dedupeRequestsOperatorFunction(source) {
    return defer(() => {
      // One cache per subscription.
      const cache = new OverlappingIntervals({ maxIntervals });
      const counter = metrics?.counter(DEDUPE_REQUESTS_METRIC, 'Event requests seen by the de-duplicator, by outcome', [
        'outcome',
      ]);
      return source.pipe(
        map((request) => {
          const outcome = decide(cache, request, expirationMs);
          counter?.inc({ outcome });
          switch (outcome) {
            case 'invalid-interval':
              rejected?.next?.({ reason: outcome, request });
              return undefined;
            case 'covered':
              return { ...request, requestData: false };
            default:
              return request;
          }
        }),
        filter((request): request is RequestEventMessage => request !== undefined),
      );
    });
  };
}

/**
 * The de-duplication decision for one request, updating `cache` (the pure core of
 * {@link dedupeRequests}).
 */
export function decide(cache: OverlappingIntervals, request: RequestEventMessage, expirationMs: number): DedupeOutcome {
  const start = request.startTimestampMsUtc;
  const end = request.endTimestampMsUtc;
  if (!Number.isFinite(start) || !Number.isFinite(end) || start < 0 || end < start) return 'invalid-interval';
  if (!request.requestData) return 'no-data';
  cache.clearTo(expiryHorizon(start, expirationMs));
  return cache.insertAndCheck(start, end) ? 'fresh' : 'covered';
}
