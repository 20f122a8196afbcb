import type { TriggerType } from './messages.js';

/**
 * The logical documents of the OPQ data model (spec §4), shared by every store. Field names are
 * the MongoDB field names, so the MongoDB adapter writes them as they are (with BSON types
 * fixed there: `timestamp_ms` int64, `event_id` int32, `expireAt` date).
 *
 * They live in `protocol/`, not `stores/`, because they are a contract with OPQ View and Mauka
 * as much as the protobuf messages are, and pure operators build them without knowing any store.
 */

/** `measurements`: one per TriggerMessage, expiring at `expireAt` (spec §4.1). */
export interface MeasurementDoc {
  readonly box_id: string;
  /** Box time of the message, ms. */
  readonly timestamp_ms: number;
  readonly voltage: number;
  readonly frequency: number;
  /** Only when the message carried thd. */
  readonly thd?: number;
  /** Receipt time + TTL. */
  readonly expireAt: Date;
}

export interface TrendStats {
  readonly min: number;
  readonly max: number;
  readonly average: number;
}

/** `trends`: one per box per window, kept forever (spec §4.2 plus our extra fields). */
export interface TrendDoc {
  readonly box_id: string;
  /** Window end, ms (aligned to a UTC multiple of the window length). */
  readonly timestamp_ms: number;
  /** Window start, ms (extra field, not in the original). */
  readonly window_start_ms: number;
  /** Messages in the window (extra field). */
  readonly count: number;
  readonly voltage?: TrendStats;
  readonly frequency?: TrendStats;
  /** Only when at least one message of the window carried thd. */
  readonly thd?: TrendStats;
  /** `opq_boxes.location` of the box, or `"unknown"`. */
  readonly location: unknown;
}

/** `events`: one per accepted RequestEventMessage (spec §4.3). */
export interface EventDoc {
  readonly event_id: number;
  readonly type: TriggerType;
  readonly description: string;
  readonly boxes_triggered: readonly string[];
  /** Box ids whose reply was stored, in arrival order. */
  readonly boxes_received: readonly string[];
  /** Broker wall-clock ms at which each reply was stored (index-aligned; absolute, as the original). */
  readonly latencies_ms: readonly number[];
  /** Real request-to-reply latency per stored reply, ms (extra field, index-aligned). */
  readonly reply_latencies_ms?: readonly number[];
  readonly target_event_start_timestamp_ms: number;
  readonly target_event_end_timestamp_ms: number;
}

/** `box_events`: one per stored box reply (spec §4.4). */
export interface BoxEventDoc {
  readonly event_id: number;
  readonly box_id: string;
  readonly event_start_timestamp_ms: number;
  readonly event_end_timestamp_ms: number;
  /** `time` of every cycle, in frame order. */
  readonly window_timestamps_ms: readonly number[];
  /** `event_<event_id>_<box_id>`. */
  readonly data_fs_filename: string;
  /** Omitted when the box is not in the registry. */
  readonly location?: unknown;
}

/** `opq_boxes`: the box registry (read-mostly, managed by OPQ View). */
export interface BoxRecord {
  readonly box_id: string;
  readonly location?: unknown;
  /** Z85 CURVE public key (40 chars); boxes with a key may connect to the brokers. */
  readonly public_key?: string;
  /**
   * ADC counts per volt of the box (spec §4.5: volts = counts / calibration_constant). OPQ View
   * keeps it; OPQ Mauka's `acquire_data` reads it for every box of an event, so a registry
   * entry without it fails there. `makai up` writes the simulator's value.
   */
  readonly calibration_constant?: number;
}

/** Why `value` cannot be a {@link BoxRecord.calibration_constant} (absent is fine), or `undefined`. */
export function calibrationConstantProblem(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? undefined : `calibration_constant must be a positive number of counts per volt, got ${String(value)}`;
}

/** Liveness of a box, for the health endpoint (extra collection `box_status`). */
export interface BoxStatus {
  readonly box_id: string;
  readonly last_measurement_ms?: number;
  readonly last_pong_ms?: number;
}

/**
 * `dead_letters`: one refused input (extra collection), kept for `makai deadletters`. Bounded:
 * the writer trims it to the newest N, so a flood of garbage cannot fill the store.
 */
export interface DeadLetterDoc {
  /** Socket or stage that refused the input, e.g. `decode`. */
  readonly source: string;
  /** Stable reason, e.g. `truncated` (a `DecodeFailure`). */
  readonly reason: string;
  /** Human-readable explanation. */
  readonly detail: string;
  /** Lower-case hex of the first bytes of the offending frame (`''` when there were none). */
  readonly preview: string;
  /** When it was refused, ms (processing time). */
  readonly at_ms: number;
}

/**
 * `shadow_requests`: an event request a shadow plugin made (extra collection, for
 * `makai shadow list`). A shadow plugin runs live beside the others, but its requests are only
 * logged here: they never reach the broker, so no event, no waveform.
 */
export interface ShadowRequestDoc {
  /** The plugin instance that made it (its `name`, else the built-in or module). */
  readonly plugin: string;
  /** When it was logged, ms (the service's clock). */
  readonly at_ms: number;
  /** The trigger type, as `events.type` would have been. */
  readonly type: TriggerType;
  /** Boxes it would have asked, as decimal ids. */
  readonly boxes: readonly string[];
  /** The requested interval, box ms (UTC). */
  readonly start_ms: number;
  readonly end_ms: number;
  readonly percent_magnitude: number;
  readonly requestee: string;
  readonly description: string;
  /** Whether it would have asked the boxes for waveforms. */
  readonly request_data: boolean;
}

/** The filename of a waveform, as OPQ View and Mauka look it up. */
export function waveformFilename(eventId: number, boxId: string): string {
  return `event_${eventId}_${boxId}`;
}
