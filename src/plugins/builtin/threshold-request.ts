import type { EventRequest } from '../plugin.js';
import { percentOfNominal, severity, triggerTypeOf, type Excursion } from './threshold-excursion.js';
import type { ThresholdSettings } from './threshold-settings.js';

/**
 * The one event request for a closed group of excursions (one or more boxes, one or more
 * metrics).
 *
 * - Window: `[earliest start − padBeforeMs, latest end + padAfterMs]`, never before 0. When it
 *   is longer than `maxWindowMs` it keeps its start and ends at `start + maxWindowMs`: the onset
 *   of an anomaly is what analysis needs most, and a box's 10-minute buffer loses the oldest
 *   data first.
 * - `triggerType`, `percentMagnitude` and the description come from the worst excursion,
 *   relative to its own limit (see `severity`).
 * - Excursions still going on (the group reached `maxWindowMs`) end at `now` (the newest box
 *   time seen) and the description says "ongoing".
 *
 * @param excursions The group's excursions; at least one.
 * @param settings The plugin's settings.
 * @param now Newest box time seen, for excursions that have not ended.
 */
export function buildThresholdRequest(excursions: readonly Excursion[], settings: ThresholdSettings, now: number): EventRequest {
  const [first, ...rest] = excursions;
  if (!first) throw new RangeError('a request needs at least one excursion');
  let worst = first;
  for (const excursion of rest) if (severity(excursion) > severity(worst)) worst = excursion;
  const start = Math.min(...excursions.map((e) => e.start));
  const end = Math.max(...excursions.map((e) => e.end ?? now));
  const ongoing = excursions.some((e) => e.end === undefined);
  const windowStart = Math.max(0, start - settings.padBeforeMs);
  const windowEnd = Math.min(end + settings.padAfterMs, windowStart + settings.maxWindowMs);
  const boxIds = [...new Set(excursions.map((e) => e.boxId))].sort((a, b) => a - b);
  return {
    startTimestampMsUtc: windowStart,
    endTimestampMsUtc: windowEnd,
    triggerType: triggerTypeOf(worst),
    percentMagnitude: Math.round(percentOfNominal(worst) * 1000) / 1000,
    boxIds,
    requestee: settings.requestee,
    description: describeGroup(worst, boxIds, end - start, ongoing),
    requestData: settings.requestData,
  };
}

/** E.g. `Voltage sag to 96.0 V (-20.0 %) on boxes 1001, 1002 for 1.2 s`. */
function describeGroup(worst: Excursion, boxIds: readonly number[], durationMs: number, ongoing: boolean): string {
  const where = boxIds.length === 1 ? `on box ${boxIds[0]}` : `on boxes ${boxIds.join(', ')}`;
  const seconds = (durationMs / 1000).toFixed(1);
  const how = ongoing ? `for at least ${seconds} s, ongoing` : `for ${seconds} s`;
  return `${describeExcursion(worst)} ${where} ${how}`;
}

function describeExcursion(e: Excursion): string {
  const signed = (percent: number, digits: number) => `${percent < 0 ? '-' : '+'}${Math.abs(percent).toFixed(digits)}`;
  const relative = ((e.extreme - e.limit.nominal) / e.limit.nominal) * 100;
  switch (e.metric) {
    case 'voltage':
      return `Voltage ${e.direction} to ${e.extreme.toFixed(1)} V (${signed(relative, 1)} %)`;
    case 'frequency':
      return `Frequency ${e.direction} to ${e.extreme.toFixed(2)} Hz (${signed(relative, 2)} %)`;
    case 'thd':
      return `THD ${(e.extreme * 100).toFixed(1)} % (limit ${(e.limit.enter * 100).toFixed(1)} %)`;
  }
}
