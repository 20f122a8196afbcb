import { ReplayClock } from '../core/replay-clock.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import type { PreparedTopology } from '../prepare-topology.js';
import { startTopology } from '../runtime.js';
import { staticBoxDirectory } from '../stores/box-directory.js';
import type { Store } from '../stores/store.js';
import { replayTopology, type ReplayedRequest } from './replay-topology.js';

export interface ReplayOptions {
  /** Where the measurements are read from (and the box registry, for plugins that look boxes up). */
  readonly store: Store;
  /** Box time range, ms: `[fromMs, toMs)`. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Only these boxes; default all. */
  readonly boxes?: readonly string[];
  readonly logger?: Logger;
  /** Default a fresh registry (the replay's counters are its own, not a live service's). */
  readonly metrics?: Metrics;
  /** Called after every measurement fed. */
  readonly onProgress?: (fed: number, timeMs: number) => void;
  readonly pageSize?: number;
}

export interface ReplayResult {
  /** In the order the request sinks received them. */
  readonly requests: readonly ReplayedRequest[];
  /** Measurements fed through the plugins. */
  readonly measurements: number;
  /** Stored documents that could not be fed (a box id that is not a valid int32 box id). */
  readonly skipped: number;
}

/**
 * Replays a stored range through a live topology's plugins and dedupe (see
 * {@link replayTopology}) on a {@link ReplayClock}, and returns the requests they made. Writes
 * nothing: the only store calls are reads.
 */
export async function runReplay(live: PreparedTopology, options: ReplayOptions): Promise<ReplayResult> {
  const requests: ReplayedRequest[] = [];
  let measurements = 0;
  const topology = replayTopology(
    live,
    {
      from: options.fromMs,
      to: options.toMs,
      ...(options.boxes ? { boxes: options.boxes } : {}),
      ...(options.pageSize ? { pageSize: options.pageSize } : {}),
      onProgress: (fed, timeMs) => {
        measurements = fed;
        options.onProgress?.(fed, timeMs);
      },
    },
    (replayed) => requests.push(replayed),
  );
  const boxes = staticBoxDirectory(await options.store.listBoxes());
  const metrics = options.metrics ?? new Metrics();
  const running = await startTopology(topology, {
    scheduler: new ReplayClock(options.fromMs),
    logger: options.logger ?? silentLogger,
    metrics,
    resources: { store: options.store, boxes },
  });
  await running.done;
  return { requests, measurements, skipped: await metrics.value('makai_replay_skipped_total', { node: topology.nodes[0]!.id }) };
}
