/**
 * The messages of the OPQ wire protocol (`proto/opq.proto`, proto2, package `opq.proto`), as
 * TypeScript values. Field names are camelCase here; on the wire they are the numbered fields of
 * spec §2. uint64 millisecond timestamps are plain numbers: a decoder refuses values beyond
 * `Number.MAX_SAFE_INTEGER` instead of rounding them.
 */

/** `RequestDataMessage.RequestType`: number on the wire, name in TypeScript. */
export const REQUEST_TYPE = { PING: 1, PONG: 2, READ: 3, RESP: 4, ERROR: 5 } as const;
export type RequestType = keyof typeof REQUEST_TYPE;

/** `RequestEventMessage.TriggerType`: number on the wire, name in TypeScript and in `events.type`. */
export const TRIGGER_TYPE = { FREQUENCY_SAG: 1, FREQUENCY_SWELL: 2, VOLTAGE_SAG: 3, VOLTAGE_SWELL: 4, OTHER: 5 } as const;
export type TriggerType = keyof typeof TRIGGER_TYPE;

/** One block of 200 raw samples (12 kHz, 16.67 ms). */
export interface Cycle {
  /** Box wall-clock ms when the cycle was read from the driver (uint64, required). */
  readonly time: number;
  /** Signed 16-bit ADC counts widened to int32 (repeated int32). */
  readonly data: Int32Array;
  readonly lastGps?: number;
  readonly currentCount?: number;
  /** Bit 0 = a GPS PPS occurred during this cycle. */
  readonly flags?: number;
}

/** A group of cycles (10 per message from a real box). */
export interface DataMessage {
  /** Box id (int32, required). */
  readonly id: number;
  readonly cycles: readonly Cycle[];
}

/** Box → server feature summary, 6 per second per box. */
export interface TriggerMessage {
  /** Box id (int32, required). */
  readonly id: number;
  /** Box ms timestamp of the first cycle of the window (uint64, required). */
  readonly time: number;
  /** Hz (float, required). */
  readonly frequency: number;
  /** Volts RMS (float, required). */
  readonly rms: number;
  /** Total harmonic distortion as a ratio, 0.03 = 3 % (float, optional). */
  readonly thd?: number;
  readonly lastGps?: number;
  readonly currentCount?: number;
  readonly flags?: number;
}

/** Server ↔ box request and reply. */
export interface RequestDataMessage {
  readonly type: RequestType;
  /** Event number (READ/RESP) or ping counter (PING/PONG) (uint32, required). */
  readonly sequenceNumber: number;
  /** Set by the box in replies (wire name `boxId`). */
  readonly boxId?: number;
  /** Send time, ms. */
  readonly time?: number;
  /** Start of the requested range, ms. */
  readonly back?: number;
  /** End of the requested range, ms. */
  readonly forward?: number;
  readonly numCycles?: number;
}

/** A request for an event (and optionally its waveforms), sent to the acquisition broker. */
export interface RequestEventMessage {
  readonly startTimestampMsUtc: number;
  readonly endTimestampMsUtc: number;
  readonly triggerType: TriggerType;
  /** Worst deviation in percent of nominal (not stored by Makai). */
  readonly percentMagnitude: number;
  readonly boxIds: readonly number[];
  /** Who asked (not stored by Makai). */
  readonly requestee: string;
  readonly description: string;
  /** False: record the event only, do not ask boxes for data. */
  readonly requestData: boolean;
}
