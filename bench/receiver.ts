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
import { opqTriggeringTopology } from '../src/topologies/opq-triggering.js';
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
 * Protocol: `start` → `ready`; `reached` once `expected` messages are decoded (bare) or stored
 * (service); `stop` → `stopped` with the final counts, CPU time and, when asked, memory and
 * event-loop-delay samples.
 */

export type ReceiverConfig =
  | {
      readonly mode: 'bare';
      /** The sender's XPUB (or a broker's backend). */
      readonly endpoint: string;
      readonly expected?: number;
    }
  | {
      readonly mode: 'service';
      readonly triggerEndpoint: string;
      /** The harness's PULL, standing in for the acquisition broker's `backend_pull`. */
      readonly acquisitionEndpoint: string;
      /** `sqlite:<file>` or `mongodb://…`. */
      readonly storeUri: string;
      readonly expected?: number;
      /** Sample RSS, heap and event-loop delay this often (ms); off when absent. */
      readonly sampleEveryMs?: number;
      /** Largest measurement batch (the `measurement_batch_size` setting, default 1000). */
      readonly batchSize?: number;
    };

export type ReceiverRequest = { readonly type: 'start'; readonly config: ReceiverConfig } | { readonly type: 'stop' } | { readonly type: 'exit' };

/** One memory / event-loop sample of the service process. */
export interface MemorySample {
  /** ms since the service started. */
  readonly atMs: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** Measurements stored so far. */
  readonly stored: number;
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
    }
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
    };

const ms = (ns: number) => ns / 1e6;

interface Running {
  stop(): Promise<Omit<Extract<ReceiverReport, { type: 'stopped' }>, 'type' | 'cpuMs' | 'eventLoopP50Ms' | 'eventLoopP99Ms' | 'eventLoopMaxMs' | 'samples'>>;
}

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
  let reported = false;
  const loop = (async () => {
    for await (const frames of socket) {
      // What the ceiling includes: receiving the frames and decoding the TriggerMessage.
      decodeTriggerMessage(frames[1]!);
      count++;
      if (!reported && config.expected !== undefined && count >= config.expected) {
        reported = true;
        void tellParent({ type: 'reached', atMs: monotonicMs(), count, cpuMs: cpuMs() } satisfies ReceiverReport);
      }
    }
  })();
  return {
    stop: async () => {
      socket.close();
      await loop.catch(() => undefined);
      return { count, rejected: 0, dropped: 0, pluginDropped: 0, clean: true };
    },
  };
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
    loaded: { topology: opqTriggeringTopology(settings), settings, baseDir: process.cwd(), file: undefined },
    storeUri: config.storeUri,
    store,
    logger,
    metrics,
  });
  const stored = () => metrics.value('makai_store_written_total', { collection: 'measurements' });

  let watcher: NodeJS.Timeout | undefined;
  if (config.expected !== undefined) {
    const expected = config.expected;
    // Stored count from the service's own counter; 10 ms polling is < 1 % of a run.
    const poll = async () => {
      const n = await stored();
      if (n >= expected) {
        watcher = undefined;
        await tellParent({ type: 'reached', atMs: monotonicMs(), count: n, cpuMs: cpuMs() } satisfies ReceiverReport);
      } else watcher = setTimeout(poll, 10);
    };
    watcher = setTimeout(poll, 10);
  }
  if (config.sampleEveryMs !== undefined) {
    const interval = monitorEventLoopDelay({ resolution: 5 });
    interval.enable();
    const startedAt = monotonicMs();
    const sample = async () => {
      const memory = process.memoryUsage();
      samples.push({
        atMs: monotonicMs() - startedAt,
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        stored: await stored(),
        eventLoopP99Ms: ms(interval.percentile(99)),
        eventLoopMaxMs: ms(interval.max),
      });
      interval.reset();
    };
    sampler = setInterval(() => void sample(), config.sampleEveryMs);
  }

  return {
    stop: async () => {
      if (watcher) clearTimeout(watcher);
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

serveParent<ReceiverRequest>(async (message) => {
  switch (message.type) {
    case 'start': {
      const idleRssBytes = process.memoryUsage().rss;
      whole = monitorEventLoopDelay({ resolution: 5 });
      whole.enable();
      cpuStart = process.cpuUsage();
      samples = [];
      running = message.config.mode === 'bare' ? await startBare(message.config) : await startService(message.config);
      await tellParent({ type: 'ready', idleRssBytes, startedRssBytes: process.memoryUsage().rss } satisfies ReceiverReport);
      return;
    }
    case 'stop': {
      if (sampler) clearInterval(sampler);
      const result = await running!.stop();
      whole?.disable();
      await tellParent({
        type: 'stopped',
        ...result,
        cpuMs: cpuMs(),
        samples,
        eventLoopP50Ms: ms(whole?.percentile(50) ?? 0),
        eventLoopP99Ms: ms(whole?.percentile(99) ?? 0),
        eventLoopMaxMs: ms(whole?.max ?? 0),
      } satisfies ReceiverReport);
      return;
    }
    case 'exit':
      process.exit(0);
  }
});
