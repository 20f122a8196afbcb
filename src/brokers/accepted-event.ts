import type { RequestDataMessage, RequestEventMessage } from '../protocol/messages.js';
import type { EventDoc } from '../protocol/documents.js';
import { eventMidTime } from './event-request-validation.js';

/** What an accepted event request becomes: its `events` document and, when data was asked for, the READ to the boxes. */
export interface AcceptedEvent {
  readonly doc: EventDoc;
  /** The `evget` READ request (spec §1.4 M4), or undefined when `request_data` is false. */
  readonly readRequest: RequestDataMessage | undefined;
}

/**
 * Builds the `events` document (spec §4.3) and the READ request (spec §1.4 M4) of an accepted
 * request under its allocated event number. `requestee`, `percent_magnitude`, `request_data`
 * and the mid-time are not stored, as in the original; `reply_latencies_ms` starts empty.
 *
 * @param eventId - the number allocated by the store
 * @param request - the validated request
 */
export function acceptedEvent(eventId: number, request: RequestEventMessage): AcceptedEvent {
  const doc: EventDoc = {
    event_id: eventId,
    type: request.triggerType,
    description: request.description,
    boxes_triggered: request.boxIds.map(String),
    boxes_received: [],
    latencies_ms: [],
    reply_latencies_ms: [],
    target_event_start_timestamp_ms: request.startTimestampMsUtc,
    target_event_end_timestamp_ms: request.endTimestampMsUtc,
  };
  const readRequest: RequestDataMessage | undefined = request.requestData
    ? {
        type: 'READ',
        sequenceNumber: eventId,
        time: eventMidTime(request),
        back: request.startTimestampMsUtc,
        forward: request.endTimestampMsUtc,
      }
    : undefined;
  return { doc, readRequest };
}
