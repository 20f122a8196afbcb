import { ignoreElements, map, tap, type Observable } from 'rxjs';
import type { Observer } from 'rxjs';
import { encodeRequestEventMessage } from './protocol/codec.js';
import type { RequestEventMessage, TriggerMessage } from './protocol/messages.js';
import { batchByCountOrTime } from './operators/batch-by-count-or-time.js';
import { decodeTrigger, type DecodeTriggerOptions } from './operators/decode-trigger.js';
import { dedupeRequests } from './operators/dedupe-requests.js';
import { toMeasurementDocs } from './operators/to-measurement-doc.js';
import { toTrendDoc, UNKNOWN_LOCATION } from './operators/to-trend-doc.js';
import { trendWindow, type LateMessage, type TrendWindow } from './operators/trend-window.js';
import { isolatePlugin } from './plugins/isolate-plugin.js';
import { workerPlugin, type BoxEntry } from './plugins/worker-plugin.js';
import { pluginIsolationSchema, type PluginIsolation } from './config/makai-settings.js';
import { ConfigError } from './core/errors.js';
import { basename } from 'node:path';
import { loadPlugin } from './plugins/plugin-loader.js';
import { builtinPlugins } from './plugins/builtin/index.js';
import type { PluginSettings } from './plugins/plugin.js';
import { storeWriter } from './sinks/store-writer.js';
import { zmqPusher } from './sinks/zmq-pusher.js';
import { zmqSubscriber } from './sources/zmq-subscriber.js';
import type { CurveClientOptions, ZmqFrames } from './sources/zmq-socket-options.js';
import type { SinkSpec, SourceSpec, StageSpec } from './topology.js';

/**
 * The built-in nodes that topologies are made of: each wraps a source, operator or sink
 * factory with what it needs from the runtime (scheduler, metrics, store, dead letters).
 * Option values are validated when the node is declared, so a bad topology fails at build time.
 */

// --- sources ------------------------------------------------------------------------------

export interface TriggerSubscriptionOptions {
  /** The triggering broker's backend (XPUB), e.g. `tcp://127.0.0.1:9881`. */
  readonly endpoint: string;
  /** Box ids (decimal prefixes) to receive; default all. */
  readonly boxes?: readonly string[];
  readonly curve?: CurveClientOptions;
}

/** The box measurement stream: SUB to the triggering broker, multipart `[box id, TriggerMessage]` frames. */
export function triggerSubscription(options: TriggerSubscriptionOptions): SourceSpec<ZmqFrames> {
  return {
    kind: 'zmq-sub',
    create: (context) =>
      zmqSubscriber({
        endpoint: options.endpoint,
        topics: options.boxes ? [...options.boxes] : [''],
        metrics: context.metrics,
        ...(options.curve ? { curve: options.curve } : {}),
      }),
  };
}

// --- stages -------------------------------------------------------------------------------

/** Limits of {@link decodeTriggers}; see `DecodeTriggerOptions` for the defaults. */
export type DecodeTriggersOptions = Pick<DecodeTriggerOptions, 'maxFrameBytes' | 'maxClockSkewMs'>;

/** Frames → TriggerMessages; refused frames go to the dead letters with a reason. */
export function decodeTriggers(options: DecodeTriggersOptions = {}): StageSpec<ZmqFrames, TriggerMessage> {
  return {
    kind: 'decode-trigger',
    create: (context) => decodeTrigger({ ...options, rejected: context.rejected, scheduler: context.scheduler, source: context.id }),
  };
}

export interface TrendsOptions {
  /** Window length in ms (the original `mongo_trends_update_interval_seconds` × 1000). */
  readonly windowMs: number;
  /** How long past its window end a silent box's window waits for more data before closing. */
  readonly graceMs: number;
}

/** Per-box event-time trend windows (min, max, average). Late messages are counted and logged as rejections. */
export function trends(options: TrendsOptions): StageSpec<TriggerMessage, TrendWindow> {
  return {
    kind: 'trend-window',
    create: (context) => {
      const late: Observer<LateMessage> = {
        next: (message) =>
          context.rejected.next({
            source: context.id,
            reason: 'out-of-range',
            detail: `late for its trend window (${message.reason})`,
            preview: '',
            atMs: context.scheduler.now(),
          }),
        error: () => {},
        complete: () => {},
      };
      return trendWindow({ windowMs: options.windowMs, graceMs: options.graceMs, late, metrics: context.metrics, scheduler: context.scheduler });
    },
  };
}

/**
 * One plugin (a module path, an original `.so` path mapped to a built-in, or a built-in name),
 * isolated: its failures are counted and it is restarted with back-off; it never stops the rest.
 *
 * The entry's `isolation` field (see `pluginIsolationSchema`) chooses where it runs: on the
 * service's event loop (default; enough for plugins that never block), or in a worker thread
 * (`"worker"`), the only isolation from a plugin that blocks synchronously. It also tunes the
 * queue and back-off; the plugin's factory never sees it.
 */
export function plugin(entry: PluginSettings, where: { readonly field: string; readonly file?: string }): StageSpec<TriggerMessage, RequestEventMessage> {
  return {
    kind: 'plugin',
    create: async (context) => {
      const { isolation: rawIsolation, ...settings } = entry;
      const file = where.file ? { file: where.file } : {};
      const parsed = pluginIsolationSchema.optional().safeParse(rawIsolation);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const path = [where.field, 'isolation', ...(issue?.path ?? [])].join('.');
        throw new ConfigError(issue?.message ?? 'invalid isolation', { path, ...file });
      }
      const isolation: IsolationTuning = parsed.data ?? { mode: 'in-process' };
      if (isolation.mode === 'worker') {
        const name = pluginInstanceName(settings);
        const operator = await workerPlugin({
          entry: settings,
          baseDir: context.baseDir,
          field: where.field,
          ...file,
          name,
          logger: context.logger,
          metrics: context.metrics,
          scheduler: context.scheduler,
          boxes: async () => (await context.store.listBoxes()).map((box): BoxEntry => [box.box_id, box.location]),
          ...(isolation.maxQueue === undefined ? {} : { maxQueue: isolation.maxQueue }),
          ...(isolation.maxInFlight === undefined ? {} : { maxInFlight: isolation.maxInFlight }),
        });
        return isolatePlugin(operator, { name, logger: context.logger, metrics: context.metrics, scheduler: context.scheduler, ...isolateTuning(isolation) });
      }
      const loaded = await loadPlugin(settings, {
        builtins: builtinPlugins,
        baseDir: context.baseDir,
        field: where.field,
        ...file,
        logger: context.logger,
      });
      const operator = loaded.create({ logger: context.logger, scheduler: context.scheduler, boxes: context.boxes });
      return isolatePlugin(operator, { name: loaded.name, logger: context.logger, metrics: context.metrics, scheduler: context.scheduler, ...isolateTuning(isolation) });
    },
  };
}

/** Either form of `isolation`, read as one shape. */
type IsolationTuning = { readonly mode: PluginIsolation['mode'] } & {
  readonly [K in 'maxQueue' | 'drainTimeoutMs' | 'initialBackoffMs' | 'maxBackoffMs' | 'maxInFlight']?: number | undefined;
};

/** The isolatePlugin options an `isolation` object sets. */
function isolateTuning(tuning: IsolationTuning) {
  return {
    ...(tuning.maxQueue === undefined ? {} : { maxQueue: tuning.maxQueue }),
    ...(tuning.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: tuning.drainTimeoutMs }),
    ...(tuning.initialBackoffMs === undefined ? {} : { initialBackoffMs: tuning.initialBackoffMs }),
    ...(tuning.maxBackoffMs === undefined ? {} : { maxBackoffMs: tuning.maxBackoffMs }),
  };
}

/** The instance name the loader would give the entry (its `name`, else the built-in, else the module file name). */
function pluginInstanceName(settings: PluginSettings): string {
  const name = settings['name'] ?? settings['plugin'] ?? settings['path'];
  if (typeof name !== 'string') return 'plugin';
  return settings['name'] === undefined && settings['plugin'] === undefined ? basename(name).replace(/\.[^.]+$/, '') : name;
}

/** Request de-duplication (spec §5.6 without its bugs). */
export function dedupe(options: { readonly expirationMs: number }): StageSpec<RequestEventMessage, RequestEventMessage> {
  return {
    kind: 'dedupe-requests',
    create: (context) => dedupeRequests({ expirationMs: options.expirationMs, metrics: context.metrics, scheduler: context.scheduler }),
  };
}

// --- sinks --------------------------------------------------------------------------------

export interface MeasurementStoreOptions {
  /** Measurement TTL in ms (`expireAt` = receipt time + TTL). */
  readonly ttlMs: number;
  /** Largest batch written at once. */
  readonly batchSize: number;
  /** Longest a measurement waits for its batch. */
  readonly flushMs: number;
  /** Most measurements held while the store is down before the oldest are dropped (counted). */
  readonly maxQueued?: number;
}

/** Measurements into the store in bounded batches, flushed by a timer and on stop. */
export function measurementStore(options: MeasurementStoreOptions): SinkSpec<TriggerMessage> {
  return {
    kind: 'store-measurements',
    create: (context) => (input) =>
      input.pipe(
        toMeasurementDocs({ ttlMs: options.ttlMs, scheduler: context.scheduler }),
        batchByCountOrTime({ maxCount: options.batchSize, maxDelayMs: options.flushMs, scheduler: context.scheduler }),
        storeWriter({
          name: 'measurements',
          write: (docs) => context.store.insertMeasurements(docs),
          maxQueuedItems: options.maxQueued ?? 1_000_000,
          overflow: 'drop-oldest',
          scheduler: context.scheduler,
          logger: context.logger,
          metrics: context.metrics,
        }),
      ),
  };
}

/** Closed trend windows into the store, with the box's location from the registry. Never dropped. */
export function trendStore(): SinkSpec<TrendWindow> {
  return {
    kind: 'store-trends',
    create: (context) => (input) =>
      input.pipe(
        map((window) => toTrendDoc(window, context.boxes.location(window.boxId) ?? UNKNOWN_LOCATION)),
        batchByCountOrTime({ maxCount: 500, maxDelayMs: 1000, scheduler: context.scheduler }),
        storeWriter({
          name: 'trends',
          write: (docs) => context.store.insertTrends(docs),
          maxQueuedItems: Number.MAX_SAFE_INTEGER,
          overflow: 'keep',
          scheduler: context.scheduler,
          logger: context.logger,
          metrics: context.metrics,
        }),
      ),
  };
}

/** Event requests, encoded, PUSHed to the acquisition broker's `backend_pull`. */
export function acquisitionPush(options: { readonly endpoint: string }): SinkSpec<RequestEventMessage> {
  return {
    kind: 'zmq-push',
    create: (context) => (input: Observable<RequestEventMessage>) =>
      input.pipe(
        tap((request) => context.logger.info('requesting event', { ...request })),
        map(encodeRequestEventMessage),
        zmqPusher({ endpoint: options.endpoint, metrics: context.metrics }),
        tap((receipt) => {
          if (!receipt.sent) context.logger.warn('event request dropped (counted)', { reason: receipt.reason });
        }),
        ignoreElements(),
      ),
  };
}
