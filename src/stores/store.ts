import type { BoxEventDoc, BoxRecord, BoxStatus, DeadLetterDoc, EventDoc, MeasurementDoc, ShadowRequestDoc, TrendDoc } from '../protocol/documents.js';

/**
 * The one storage interface of Makai. The embedded SQLite store (default) and the MongoDB
 * adapter (production OPQ deployments, read by OPQ View and Mauka) both implement it, and one
 * contract suite (`test/stores/store-contract.ts`) runs against both.
 *
 * Errors: every method rejects with a `StoreError` whose `retryable` flag says whether a retry
 * with back-off can help (server unreachable, file locked) or not (invalid document). A store
 * never throws synchronously and never crashes the process on an outage.
 */
export interface Store {
  /** `sqlite` or `mongodb`; for logs and status. */
  readonly kind: StoreKind;
  /** Where the data lives, with any password removed; for logs and status. */
  readonly location: string;

  // --- triggering service ---------------------------------------------------------------

  /** Inserts a batch of measurements (unordered; all or nothing is not required, but every failure is reported). */
  insertMeasurements(docs: readonly MeasurementDoc[]): Promise<void>;
  /**
   * Inserts closed trend windows, one document per box and window (`box_id`, `window_start_ms`,
   * `timestamp_ms`): a window already stored is merged with the new one (min of min, max of
   * max, count-weighted average, counts added; see `mergeTrends`), so a service restarted
   * inside a minute still leaves one trend for it.
   */
  insertTrends(docs: readonly TrendDoc[]): Promise<void>;
  /** Deletes measurements whose `expireAt` is at or before `now`; returns how many. */
  deleteExpiredMeasurements(now: Date): Promise<number>;

  // --- acquisition broker ----------------------------------------------------------------

  /**
   * Allocates the next event number atomically: unique across processes sharing the store and
   * across restarts, continuing after the highest `events.event_id` already stored.
   */
  allocateEventId(): Promise<number>;
  /** Inserts the `events` document of an accepted request. */
  insertEvent(doc: EventDoc): Promise<void>;
  /**
   * Stores one box's reply to an event: the `box_events` document, the waveform bytes
   * (int16 little-endian samples) under `boxEvent.data_fs_filename`, and appends the box to the
   * event's `boxes_received` / `latencies_ms` / `reply_latencies_ms`.
   * Idempotent: a second reply of the same box to the same event stores nothing and returns
   * `duplicate`; a reply to an event that does not exist stores nothing and returns `unknown-event`.
   */
  recordBoxReply(reply: BoxReply): Promise<BoxReplyOutcome>;

  // --- box registry and liveness ---------------------------------------------------------

  listBoxes(): Promise<BoxRecord[]>;
  getBox(boxId: string): Promise<BoxRecord | undefined>;
  /** Creates or replaces a registry entry (used by `makai up` and tests; OPQ View owns it in production). */
  upsertBox(box: BoxRecord): Promise<void>;
  /** Removes a registry entry (`makai boxes remove`); false when there was none. Its status and data stay. */
  removeBox(boxId: string): Promise<boolean>;
  /** Records liveness; fields left undefined keep their stored value. */
  updateBoxStatus(status: BoxStatus): Promise<void>;
  /**
   * {@link updateBoxStatus} for many boxes in one write (one transaction, one bulk write): what
   * the liveness persister writes every period. Invalid statuses are refused (reported with a
   * non-retryable StoreError) and the valid ones stored.
   */
  updateBoxStatuses(statuses: readonly BoxStatus[]): Promise<void>;
  listBoxStatus(): Promise<BoxStatus[]>;

  // --- reading back (CLI, tests, health) -------------------------------------------------

  getEvent(eventId: number): Promise<EventDoc | undefined>;
  /**
   * Newest first. With `fromMs`/`toMs`, only events whose requested start
   * (`target_event_start_timestamp_ms`) is in `[fromMs, toMs)`.
   */
  listEvents(query?: EventListQuery): Promise<EventDoc[]>;
  listBoxEvents(eventId: number): Promise<BoxEventDoc[]>;
  /** Waveform bytes exactly as stored, or undefined. */
  getWaveform(filename: string): Promise<Uint8Array | undefined>;
  /** Oldest first. */
  queryMeasurements(query: TimeRangeQuery): Promise<MeasurementDoc[]>;
  /**
   * Measurements with `timestamp_ms` in `[fromMs, toMs)`, oldest first (ties in insertion
   * order), read through a cursor and yielded page by page (`pageSize` documents, the last page
   * shorter; never an empty page): a day of a fleet is never in memory at once, and the store
   * is free for other calls between pages. Pages, not single documents, so that a consumer pays
   * one asynchronous step per page rather than per measurement (a replay feeds 200k/s).
   * Iterating is what reads; a failure rejects the iteration with a StoreError.
   */
  streamMeasurements(query: MeasurementStreamQuery): AsyncIterable<readonly MeasurementDoc[]>;
  countMeasurements(query?: { readonly box_id?: string }): Promise<number>;
  /** Oldest first. */
  queryTrends(query: TimeRangeQuery): Promise<TrendDoc[]>;

  // --- dead letters (refused input, bounded) -----------------------------------------------

  /** Inserts refused inputs (`dead_letters`). */
  insertDeadLetters(docs: readonly DeadLetterDoc[]): Promise<void>;
  /** Newest first: by `at_ms`, ties in reverse insertion order. */
  listDeadLetters(query?: { readonly limit?: number }): Promise<DeadLetterDoc[]>;
  /** Deletes all but the newest `keep` dead letters (same order as the list); returns how many. */
  /**
   * With `of`, deletes all but the newest `keep` dead letters of that source and reason and
   * leaves the others alone (the dead-letter store keeps a bounded ring per source and reason).
   */
  trimDeadLetters(keep: number, of?: DeadLetterRing): Promise<number>;

  // --- shadow plugins' requests (logged, never sent) -----------------------------------------

  /** Inserts requests of shadow plugins (`shadow_requests`). */
  insertShadowRequests(docs: readonly ShadowRequestDoc[]): Promise<void>;
  /** Newest first: by `at_ms`, ties in reverse insertion order; only `plugin`'s when given. */
  listShadowRequests(query?: { readonly limit?: number; readonly plugin?: string }): Promise<ShadowRequestDoc[]>;

  /** Flushes and closes; further calls reject. */
  close(): Promise<void>;
}

export type StoreKind = 'sqlite' | 'mongodb';

/** One ring of the dead-letter store: the letters of one source and reason. */
export interface DeadLetterRing {
  readonly source: string;
  readonly reason: string;
}

export interface TimeRangeQuery {
  readonly box_id?: string;
  /** Inclusive lower bound on `timestamp_ms`. */
  readonly fromMs?: number;
  /** Exclusive upper bound on `timestamp_ms`. */
  readonly toMs?: number;
  readonly limit?: number;
}

/** What {@link Store.listEvents} selects. */
export interface EventListQuery {
  readonly limit?: number;
  /** Inclusive lower bound on `target_event_start_timestamp_ms`. */
  readonly fromMs?: number;
  /** Exclusive upper bound on `target_event_start_timestamp_ms`. */
  readonly toMs?: number;
}

/** What {@link Store.streamMeasurements} reads. */
export interface MeasurementStreamQuery {
  /** Inclusive lower bound on `timestamp_ms`; default the oldest. */
  readonly fromMs?: number;
  /** Exclusive upper bound on `timestamp_ms`; default the newest. */
  readonly toMs?: number;
  /** Only these boxes (`box_id`); default every box. An empty list selects nothing. */
  readonly boxes?: readonly string[];
  /** Documents per read (default 5000). */
  readonly pageSize?: number;
}

/** Documents per page of {@link Store.streamMeasurements} unless the query says otherwise. */
export const DEFAULT_STREAM_PAGE_SIZE = 5000;

export interface BoxReply {
  readonly boxEvent: BoxEventDoc;
  /** int16 little-endian samples, cycle order. */
  readonly waveform: Uint8Array;
  /** Broker wall-clock ms when the reply was stored (goes to `latencies_ms`, as the original). */
  readonly receivedAtMs: number;
  /** Request-to-reply latency in ms (goes to `reply_latencies_ms`). */
  readonly replyLatencyMs: number;
}

export type BoxReplyOutcome = 'stored' | 'duplicate' | 'unknown-event';
