import { SAMPLE_MAX, SAMPLE_MIN, SAMPLE_PERIOD_MS } from '../protocol/box-adc.js';
import { boxIdProblem } from '../protocol/box-id.js';
import type { DataMessage, RequestDataMessage } from '../protocol/messages.js';
import { waveformFilename, type BoxEventDoc } from '../protocol/documents.js';

/** Why a box reply is refused instead of stored. Stable: these are metric labels. */
export type BoxReplyRefusal = 'empty-reply' | 'box-id-mismatch' | 'sample-out-of-range' | 'invalid-timestamp' | 'invalid-box-id';

/** A reply ready for `Store.recordBoxReply`: the `box_events` document and the waveform bytes. */
export interface ConvertedBoxReply {
  readonly boxEvent: BoxEventDoc;
  /** int16 little-endian samples, frame order, cycle order, sample order (spec §4.5). */
  readonly waveform: Uint8Array;
  /** Cycles in the reply. */
  readonly cycles: number;
}

export type BoxReplyConversion =
  | ({ readonly ok: true } & ConvertedBoxReply)
  | { readonly ok: false; readonly reason: BoxReplyRefusal; readonly detail: string };

/**
 * Turns a box's answer to a READ (a `RESP` header and one `DataMessage` per frame) into the
 * `box_events` document of spec §4.4 and the waveform bytes of spec §4.5, or says why it cannot.
 *
 * - `box_id`: the header's `boxId`; every `DataMessage.id` must agree with it (the original took
 *   the first DataMessage's id and never checked, spec §9 item 10). Without a header `boxId`,
 *   the DataMessages' common id is used.
 * - `event_start_timestamp_ms`: `time` of the first cycle; `event_end_timestamp_ms`: `time` of
 *   the last cycle + its duration (`1000 / 12000 × samples`, truncated), as the original.
 *   DataMessages without cycles are skipped (the original crashed on an empty first one).
 * - `window_timestamps_ms`: `time` of every cycle in order.
 * - waveform: every sample as int16 little-endian; a sample outside int16 refuses the reply
 *   rather than storing wrapped values.
 * - A header `boxId` or `DataMessage.id` that is not a box id (0 to 2^31 − 1) refuses the reply
 *   as `invalid-box-id`.
 * - A reply with no cycles at all is refused as `empty-reply` (nothing is stored, as the original).
 *
 * @param header - the decoded RESP header (`sequenceNumber` = event id)
 * @param data - the decoded data frames, in frame order
 * @param location - the box's registry location, copied into the document; omitted when undefined
 */
export function convertBoxReply(header: RequestDataMessage, data: readonly DataMessage[], location?: unknown): BoxReplyConversion {
  const ids = new Set(data.map((message) => message.id));
  // Before the agreement check: an id that names no box must not become a box_events row.
  for (const id of header.boxId === undefined ? ids : [header.boxId, ...ids]) {
    const problem = boxIdProblem(id);
    if (problem) return { ok: false, reason: 'invalid-box-id', detail: problem };
  }
  if (header.boxId !== undefined) {
    const other = [...ids].find((id) => id !== header.boxId);
    if (other !== undefined) {
      return { ok: false, reason: 'box-id-mismatch', detail: `header boxId ${header.boxId} but a DataMessage has id ${other}` };
    }
  } else if (ids.size > 1) {
    return { ok: false, reason: 'box-id-mismatch', detail: `DataMessages carry different box ids: ${[...ids].join(', ')}` };
  }
  const cycles = data.flatMap((message) => message.cycles);
  const first = cycles[0];
  const last = cycles[cycles.length - 1];
  if (first === undefined || last === undefined) {
    return { ok: false, reason: 'empty-reply', detail: `${data.length} data frame(s) without cycles` };
  }
  const boxId = String(header.boxId ?? data[0]!.id);

  let samples = 0;
  for (const cycle of cycles) {
    if (!Number.isSafeInteger(cycle.time) || cycle.time < 0) {
      return { ok: false, reason: 'invalid-timestamp', detail: `cycle time ${cycle.time} is not whole non-negative ms` };
    }
    samples += cycle.data.length;
  }
  const waveform = new Uint8Array(samples * 2);
  const view = new DataView(waveform.buffer);
  let offset = 0;
  for (const cycle of cycles) {
    for (const sample of cycle.data) {
      if (sample < SAMPLE_MIN || sample > SAMPLE_MAX) {
        return { ok: false, reason: 'sample-out-of-range', detail: `sample ${sample} does not fit int16` };
      }
      view.setInt16(offset, sample, true);
      offset += 2;
    }
  }

  const eventId = header.sequenceNumber;
  const boxEvent: BoxEventDoc = {
    event_id: eventId,
    box_id: boxId,
    event_start_timestamp_ms: first.time,
    // Computed in double and truncated, as the original (≈ +16 ms for 200 samples).
    event_end_timestamp_ms: Math.trunc(last.time + SAMPLE_PERIOD_MS * last.data.length),
    window_timestamps_ms: cycles.map((cycle) => cycle.time),
    data_fs_filename: waveformFilename(eventId, boxId),
    ...(location === undefined ? {} : { location }),
  };
  return { ok: true, boxEvent, waveform, cycles: cycles.length };
}
