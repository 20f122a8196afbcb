import type { EventRequest } from '../plugin.js';
import { describeAnomaly, isWorse, percentMagnitudeOf, triggerTypeOf, type Anomaly } from './napali-anomaly.js';
import type { NapaliSettings } from './napali-settings.js';

/** One box of an open `napali` window: its anomalous readings so far, in its box time. */
export interface WindowMember {
  readonly boxId: number;
  /** Box time of its first anomalous reading in the window. */
  readonly first: number;
  /** Box time of its latest anomalous reading. */
  last: number;
  /** How many anomalous readings (messages) it had in the window. */
  readings: number;
  /** Its worst anomaly (see `isWorse`). */
  worst: Anomaly;
}

/**
 * The one event request for a closed window of one or more boxes.
 *
 * - Range: `[earliest first − padBeforeMs, latest last + padAfterMs]`, never before 0, cut at
 *   `start + maxWindowMs` (keeping the onset, which analysis needs most).
 * - `triggerType`, `percentMagnitude` and the description's first part come from the worst
 *   anomaly of all members: a hard limit beats kσ, then the one furthest past its bound.
 * - `boxIds` ascending; the description says how many anomalous readings over how long.
 *
 * @param members The window's members; at least one.
 * @param settings The plugin's settings.
 */
export function buildNapaliRequest(members: readonly WindowMember[], settings: NapaliSettings): EventRequest {
  const [first, ...rest] = members;
  if (!first) throw new RangeError('a request needs at least one box');
  let worst = first.worst;
  for (const member of rest) if (isWorse(member.worst, worst)) worst = member.worst;
  const start = Math.min(...members.map((m) => m.first));
  const end = Math.max(...members.map((m) => m.last));
  const windowStart = Math.max(0, start - settings.padBeforeMs);
  const windowEnd = Math.min(end + settings.padAfterMs, windowStart + settings.maxWindowMs);
  const boxIds = members.map((m) => m.boxId).sort((a, b) => a - b);
  const readings = members.reduce((sum, m) => sum + m.readings, 0);
  const where = boxIds.length === 1 ? `on box ${boxIds[0]}` : `on boxes ${boxIds.join(', ')}`;
  const how = `${readings} anomalous reading${readings === 1 ? '' : 's'} in ${((end - start) / 1000).toFixed(1)} s`;
  return {
    startTimestampMsUtc: windowStart,
    endTimestampMsUtc: windowEnd,
    triggerType: triggerTypeOf(worst),
    percentMagnitude: percentMagnitudeOf(worst),
    boxIds,
    requestee: settings.requestee,
    description: `${describeAnomaly(worst, settings)} ${where}: ${how}`,
    requestData: settings.requestData,
  };
}
