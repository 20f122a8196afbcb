import type { Observer, SchedulerLike } from 'rxjs';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Rejection } from '../core/rejection.js';

export interface DeadLetterLogOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly scheduler: SchedulerLike;
  /** At most this many log lines per `intervalMs` per source and reason; the rest are only counted. */
  readonly maxLogsPerInterval?: number;
  readonly intervalMs?: number;
  /** Also keep each rejection somewhere (the bounded dead-letter store). */
  readonly keep?: (rejection: Rejection) => void;
}

/**
 * Where refused input goes: every rejection is counted by source and reason
 * (`makai_rejected_total`), logged at a bounded rate (a flood of garbage cannot flood the log),
 * and optionally kept.
 */
export function deadLetterLog(options: DeadLetterLogOptions): Observer<Rejection> {
  const { logger, scheduler } = options;
  const maxLogs = options.maxLogsPerInterval ?? 10;
  const intervalMs = options.intervalMs ?? 60_000;
  const rejected = options.metrics.counter('makai_rejected_total', 'Refused input by source and reason', ['source', 'reason']);
  const windows = new Map<string, { startMs: number; logged: number; suppressed: number }>();

  return {
    next(rejection) {
      rejected.inc({ source: rejection.source, reason: rejection.reason });
      options.keep?.(rejection);
      const key = `${rejection.source}/${rejection.reason}`;
      const now = scheduler.now();
      let window = windows.get(key);
      if (!window || now - window.startMs >= intervalMs) {
        if (window && window.suppressed > 0) {
          logger.warn('more input refused (not logged one by one)', { source: rejection.source, reason: rejection.reason, count: window.suppressed });
        }
        window = { startMs: now, logged: 0, suppressed: 0 };
        windows.set(key, window);
      }
      if (window.logged < maxLogs) {
        window.logged++;
        logger.warn('refused input', { ...rejection });
      } else {
        window.suppressed++;
      }
    },
    error() {},
    complete() {},
  };
}
