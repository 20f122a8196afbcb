import type { TrendDoc, TrendStats } from '../protocol/documents.js';

/**
 * What makes two trend documents the same window of the same box: the box, the window start
 * and the window end (`timestamp_ms`), so windows of another length never merge.
 */
export function trendKey(doc: Pick<TrendDoc, 'box_id' | 'window_start_ms' | 'timestamp_ms'>): string {
  return `${doc.box_id}\u0000${doc.window_start_ms}\u0000${doc.timestamp_ms}`;
}

/**
 * One trend document for a window written twice (a service stopped and restarted inside a
 * minute, a box whose clock stepped back into a minute already written): min of the mins, max
 * of the maxes, the average weighted by each document's `count`, counts added. A statistic
 * present in only one of them is taken as it is. The location of the document already stored
 * is kept, so a trend does not change place when it is completed.
 *
 * The weight is the message count of the window, also for `thd`, which not every message may
 * carry: the closest weight a trend document keeps. Documents with count 0 (written by the
 * original Makai, which kept no count) weigh equally.
 *
 * @param stored The document already in the store.
 * @param incoming The second write for the same {@link trendKey}.
 */
export function mergeTrends(stored: TrendDoc, incoming: TrendDoc): TrendDoc {
  const voltage = mergeStats(stored.voltage, stored.count, incoming.voltage, incoming.count);
  const frequency = mergeStats(stored.frequency, stored.count, incoming.frequency, incoming.count);
  const thd = mergeStats(stored.thd, stored.count, incoming.thd, incoming.count);
  return {
    box_id: stored.box_id,
    timestamp_ms: stored.timestamp_ms,
    window_start_ms: stored.window_start_ms,
    count: stored.count + incoming.count,
    ...(voltage && { voltage }),
    ...(frequency && { frequency }),
    ...(thd && { thd }),
    location: stored.location,
  };
}

function mergeStats(a: TrendStats | undefined, aCount: number, b: TrendStats | undefined, bCount: number): TrendStats | undefined {
  if (!a) return b;
  if (!b) return a;
  const total = aCount + bCount;
  const average = total > 0 ? (a.average * aCount + b.average * bCount) / total : (a.average + b.average) / 2;
  return { min: Math.min(a.min, b.min), max: Math.max(a.max, b.max), average };
}
