import type { EventDoc } from '../protocol/documents.js';
import type { ReplayedRequest } from './replay-topology.js';

/** A replayed request and the recorded event it stands for. */
export interface MatchedRequest {
  readonly replayed: ReplayedRequest;
  readonly recorded: EventDoc;
}

/** The side-by-side of a replay and what was recorded over the same range. */
export interface ReplayComparison {
  /** In recorded order (oldest requested start first). */
  readonly matched: readonly MatchedRequest[];
  /** Replayed requests no recorded event stands for: what the config would add. */
  readonly onlyNew: readonly ReplayedRequest[];
  /** Recorded events no replayed request stands for: what the config would no longer ask for. */
  readonly onlyRecorded: readonly EventDoc[];
}

/**
 * Pairs replayed requests with recorded events: a request matches an event of the same type
 * whose requested interval overlaps its own and that names at least one of its boxes. Each is
 * used once; among the candidates the one whose start is closest wins, so two events close in
 * time pair with the two requests they came from rather than both with the first.
 */
export function compareWithRecorded(requests: readonly ReplayedRequest[], events: readonly EventDoc[]): ReplayComparison {
  const recorded = [...events].sort((a, b) => a.target_event_start_timestamp_ms - b.target_event_start_timestamp_ms || a.event_id - b.event_id);
  const unmatched = new Set(requests.map((_, index) => index));
  const matched: MatchedRequest[] = [];
  const onlyRecorded: EventDoc[] = [];
  for (const event of recorded) {
    let best: number | undefined;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (const index of unmatched) {
      const { request } = requests[index]!;
      if (!standsFor(request, event)) continue;
      const distance = Math.abs(request.startTimestampMsUtc - event.target_event_start_timestamp_ms);
      if (distance < bestDistance) {
        best = index;
        bestDistance = distance;
      }
    }
    if (best === undefined) {
      onlyRecorded.push(event);
      continue;
    }
    unmatched.delete(best);
    matched.push({ replayed: requests[best]!, recorded: event });
  }
  return { matched, onlyNew: [...unmatched].sort((a, b) => a - b).map((index) => requests[index]!), onlyRecorded };
}

function standsFor(request: ReplayedRequest['request'], event: EventDoc): boolean {
  return (
    request.triggerType === event.type &&
    request.startTimestampMsUtc <= event.target_event_end_timestamp_ms &&
    event.target_event_start_timestamp_ms <= request.endTimestampMsUtc &&
    request.boxIds.some((box) => event.boxes_triggered.includes(String(box)))
  );
}
