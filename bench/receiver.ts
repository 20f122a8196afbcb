import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import * as zmq from 'zeromq';
import { parseConfig } from '../src/config/load-json-config.js';
import { makaiSettingsSchema } from '../src/config/makai-settings.js';
import { createJsonLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { startTriggeringService, type TriggeringService } from '../src/cli/triggering-service.js';
import { decodeTriggerMessage } from '../src/protocol/codec.js';
import { openStore } from '../src/stores/open-store.js';
import type { Store } from '../src/stores/store.js';
import { defaultTopology } from '../src/cli/load-topology.js';
import { topologyOptionsOf } from '../src/topologies/opq-triggering-options.js';
import { monotonicMs, serveParent, tellParent } from './child-process.js';

/**
 * The process under test, a child of its own (fresh heap per run, RSS of nothing else):
 *
 * - `bare`: the transport ceiling. A zeromq.js SUB that receives `[box id, TriggerMessage]`
 *   and decodes the TriggerMessage, nothing else.
 * - `service`: the real triggering service (`startTriggeringService`) on the default topology
 *   (`opqTriggeringTopology`: decode, measurements batched into the store, 1-minute trends,
 *   the threshold plugin, de-duplication, acquisition PUSH).
 *
 * Protocol: `start` → `ready`; `warm` once `warmUp` messages are decoded (bare) or stored
 * (service), when the config asks for it; `reached` once `expected` messages (from the config,
 * or a later `expect`) are; `stop` → `stopped` with the final counts, CPU
 * time and, when asked, memory and event-loop-delay samples. Started with `--expose-gc`, it
 * also reports the heap after a full collection at start and before stopping, for bytes per box.
 */

export type ReceiverConfig =
  | {
      readonly mode: 'bare';
      /** The sender's XPUB (or a broker's backend). */
      readonly endpoint: string;
      readonly expected?: number;
      /** Report `warm` once this many are decoded: where a steady-state window starts. */
      readonly warmUp?: number;
    }
  | {
      readonly mode: 'service';
      readonly triggerEndpoint: string;
      /** The harness's PULL, standing in for the acquisition broker's `backend_pull`. */
      readonly acquisitionEndpoint: string;
      /** `sqlite:<file>` or `mongodb://…`. */
      readonly storeUri: string;
      readonly expected?: number;
      /** Report `warm` once this many are stored: where a steady-state window starts. */
      readonly warmUp?: number;
      /** Sample RSS, heap and event-loop delay this often (ms); off when absent. */
      readonly sampleEveryMs?: number;
      /** Largest measurement batch (the `measurement_batch_size` setting, default 1000). */
      readonly batchSize?: number;
    };

export type ReceiverRequest =
  | { readonly type: 'start'; readonly config: ReceiverConfig }
  /** Report `reached` once this many are decoded/stored (for runs whose count is known only at the end). */
  | { readonly type: 'expect'; readonly count: number }
  | { readonly type: 'stop' }
  | { readonly type: 'exit' };

/** One memory / event-loop sample of the service process. */
export interface MemorySample {
  /** ms since the service started. */
  readonly atMs: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** Measurements stored so far. */
  readonly stored: number;
  /** Measurements waiting for the store (`makai_store_queue_depth`). */
  readonly storeQueue: number;
  /** p99 and max event-loop delay over the interval since the previous sample, ms. */
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
}

export type ReceiverReport =
  | {
      readonly type: 'ready';
      /** RSS before the service (or socket) was started, bytes. */
      readonly idleRssBytes: number;
      /** RSS right after start, with nothing received yet. */
      readonly startedRssBytes: number;
      /** Heap used after a full collection right after start (needs `--expose-gc`). */
      readonly startedHeapBytes?: number;
    }
  | { readonly type: 'warm'; readonly atMs: number; readonly count: number }
  | { readonly type: 'reached'; readonly atMs: number; readonly count: number; readonly cpuMs: number }
  | {
      readonly type: 'stopped';
      /** Decoded (bare) or stored (service, counted in the store after a graceful stop). */
      readonly count: number;
      /** Refused frames (service: `makai_rejected_total`). */
      readonly rejected: number;
      /** Documents the store writer dropped because its queue was full. */
      readonly dropped: number;
      /** Measurements the plugin never saw (its isolation queue was full): `makai_plugin_dropped_total`. */
      readonly pluginDropped: number;
      readonly cpuMs: number;
      readonly samples: readonly MemorySample[];
      /** Event-loop delay over the whole run, ms. */
      readonly eventLoopP50Ms: number;
      readonly eventLoopP99Ms: number;
      readonly eventLoopMaxMs: number;
      /** The graceful stop finished before its deadline. */
      readonly clean: boolean;
      /** Heap used after a full collection before stopping (needs `--expose-gc`). */
      readonly finalHeapBytes?: number;
      /** RSS at the same moment. */
      readonly finalRssBytes: number;
    };

/**
 * Sampling interval of the event-loop delay histograms, ms. Node records the time between two
 * samples, so the delay proper is that minus the interval.
 */
const ELD_RESOLUTION_MS = 2;
const delayMs = (ns: number) => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);

type StopResult = Pick<Extract<ReceiverReport, { type: 'stopped' }>, 'count' | 'rejected' | 'dropped' | 'pluginDropped' | 'clean'>;

interface Running {
  /** Reports `reached` once `count` messages are decoded/stored (at once when they already are). */
  expect(count: number): void;
  stop(): Promise<StopResult>;
}

/** A full collection when the process runs with `--expose-gc`; undefined otherwise. */
function heapAfterGc(): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return undefined;
  gc();
  return process.memoryUsage().heapUsed;
}

const reached = (count: number) => tellParent({ type: 'reached', atMs: monotonicMs(), count, cpuMs: cpuMs() } satisfies ReceiverReport);
const warm = (count: number) => tellParent({ type: 'warm', atMs: monotonicMs(), count } satisfies ReceiverReport);

let running: Running | undefined;
let cpuStart = process.cpuUsage();
let whole: IntervalHistogram | undefined;
let samples: MemorySample[] = [];
let sampler: NodeJS.Timeout | undefined;

const cpuMs = () => {
  const used = process.cpuUsage(cpuStart);
  return (used.user + used.system) / 1000;
};

async function startBare(config: Extract<ReceiverConfig, { mode: 'bare' }>): Promise<Running> {
  const socket = new zmq.Subscriber({ linger: 0 });
  socket.subscribe();
  socket.connect(config.endpoint);
  let count = 0;
  let expected = Number.POSITIVE_INFINITY;
  const warmUp = config.warmUp ?? Number.POSITIVE_INFINITY;
  const loop = (async () => {
    for await (const frames of socket) {
      // What the ceiling includes: receiving the frames and decoding the TriggerMessage.
      decodeTriggerMessage(frames[1]!);
      count++;
      if (count === warmUp) void warm(count);
      if (count === expected) void reached(count);
    }
  })();
  const running: Running = {
    expect: (n) => {
      expected = n;
      if (count >= n) void reached(count);
    },
    stop: async () => {
      socket.close();
      await loop.catch(() => undefined);
      return { count, rejected: 0, dropped: 0, pluginDropped: 0, clean: true };
    },
  };
  if (config.expected !== undefined) running.expect(config.expected);
  return running;
}

async function startService(config: Extract<ReceiverConfig, { mode: 'service' }>): Promise<Running> {
  const settings = parseConfig(
    {
      zmq_trigger_endpoint: config.triggerEndpoint,
      zmq_acquisition_endpoint: config.acquisitionEndpoint,
      plugins: [{ plugin: 'threshold' }],
      store: config.storeUri,
      ...(config.batchSize === undefined ? {} : { measurement_batch_size: config.batchSize }),
    },
    makaiSettingsSchema,
  );
  const logger = createJsonLogger({ level: 'warn', now: Date.now });
  const metrics = new Metrics();
  const store: Store = await openStore(config.storeUri, { logger, metrics });
  const service: TriggeringService = await startTriggeringService({
    loaded: { topology: await defaultTopology(topologyOptionsOf(settings)), settings, baseDir: process.cwd(), file: undefined },
    storeUri: config.storeUri,
    store,
    logger,
    metrics,
  });
  const stored = () => metrics.value('makai_store_written_total', { collection: 'measurements' });

  // Stored count from the service's own counter; 10 ms polling is < 1 % of a run.
  const watchers = new Set<NodeJS.Timeout>();
  let stopping = false;
  const whenStored = (target: number, report: (n: number) => Promise<void>): (() => void) => {
    let timer: NodeJS.Timeout;
    const poll = async () => {
      watchers.delete(timer);
      const n = await stored();
      if (stopping) return;
      if (n >= target) await report(n);
      else watchers.add((timer = setTimeout(poll, 10)));
    };
    watchers.add((timer = setTimeout(poll, 0)));
    return () => {
      clearTimeout(timer);
      watchers.delete(timer);
    };
  };
  let stopExpecting: (() => void) | undefined;
  const expect = (expected: number) => {
    stopExpecting?.();
    stopExpecting = whenStored(expected, reached);
  };
  if (config.warmUp !== undefined) whenStored(config.warmUp, warm);
  if (config.expected !== undefined) expect(config.expected);
  if (config.sampleEveryMs !== undefined) {
    const interval = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
    interval.enable();
    const startedAt = monotonicMs();
    const sample = async () => {
      const memory = process.memoryUsage();
      samples.push({
        atMs: monotonicMs() - startedAt,
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        stored: await stored(),
        storeQueue: await metrics.value('makai_store_queue_depth', { collection: 'measurements' }),
        eventLoopP99Ms: delayMs(interval.percentile(99)),
        eventLoopMaxMs: delayMs(interval.max),
      });
      interval.reset();
    };
    sampler = setInterval(() => void sample(), config.sampleEveryMs);
  }

  return {
    expect,
    stop: async () => {
      stopping = true;
      for (const timer of watchers) clearTimeout(timer);
      const clean = await service.stop(60_000);
      const count = await store.countMeasurements();
      await store.close();
      return {
        count,
        rejected: await metrics.value('makai_rejected_total'),
        dropped: await metrics.value('makai_store_dropped_total', { collection: 'measurements' }),
        pluginDropped: await metrics.value('makai_plugin_dropped_total'),
        clean,
      };
    },
  };
}

let startedHeapBytes: number | undefined;

serveParent<ReceiverRequest>(async (message) => {
  switch (message.type) {
    case 'start': {
      const idleRssBytes = process.memoryUsage().rss;
      whole = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
      whole.enable();
      cpuStart = process.cpuUsage();
      samples = [];
      running = message.config.mode === 'bare' ? await startBare(message.config) : await startService(message.config);
      startedHeapBytes = heapAfterGc();
      // CPU from here on: start-up (module loading, schema creation) is not the stream's.
      cpuStart = process.cpuUsage();
      await tellParent({
        type: 'ready',
        idleRssBytes,
        startedRssBytes: process.memoryUsage().rss,
        ...(startedHeapBytes === undefined ? {} : { startedHeapBytes }),
      } satisfies ReceiverReport);
      return;
    }
    case 'expect':
      running!.expect(message.count);
      return;
    case 'stop': {
      if (sampler) clearInterval(sampler);
      const finalHeapBytes = heapAfterGc();
      const finalRssBytes = process.memoryUsage().rss;
      const result = await running!.stop();
      whole?.disable();
      await tellParent({
        type: 'stopped',
        ...result,
        cpuMs: cpuMs(),
        samples,
        eventLoopP50Ms: delayMs(whole?.percentile(50) ?? 0),
        eventLoopP99Ms: delayMs(whole?.percentile(99) ?? 0),
        eventLoopMaxMs: delayMs(whole?.max ?? 0),
        finalRssBytes,
        ...(finalHeapBytes === undefined ? {} : { finalHeapBytes }),
      } satisfies ReceiverReport);
      return;
    }
    case 'exit':
      process.exit(0);
  }
});
