import type { TrendDoc } from '../protocol/documents.js';
import type { TrendWindow } from './trend-window-assigner.js';

/** What `trends.location` holds when the box has no registry entry or no location (spec §4.2). */
export const UNKNOWN_LOCATION = 'unknown';

/**
 * Builds the `trends` document of a closed window (spec §4.2).
 *
 * Differences from the original, on purpose: `timestamp_ms` is the window *end* (aligned box
 * time) instead of the time of whichever message happened to close the window, and the extra
 * fields `window_start_ms` and `count` say what the statistics cover. Fields are created in the
 * original's order (voltage, frequency, thd, box_id, timestamp_ms, location), then the extras;
 * absent metrics are left out rather than set to `undefined`.
 *
 * @param window A window emitted by {@link trendWindow}.
 * @param location `opq_boxes.location` of the box, copied as is (any value, normally a slug);
 *   `undefined` (no registry entry, or no field) becomes `"unknown"`.
 * @returns The document, ready for `Store.insertTrends`.
 */
export function toTrendDoc(window: TrendWindow, location?: unknown): TrendDoc {
  return {
    ...(window.voltage && { voltage: window.voltage }),
    ...(window.frequency && { frequency: window.frequency }),
    ...(window.thd && { thd: window.thd }),
    box_id: window.boxId,
    timestamp_ms: window.windowEndMs,
    location: location === undefined ? UNKNOWN_LOCATION : location,
    window_start_ms: window.windowStartMs,
    count: window.count,
  };
}
