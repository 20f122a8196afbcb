import type { Worker } from 'node:worker_threads';
import { Observable, Subscription, asyncScheduler, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { ConfigError, describeError } from '../core/errors.js';
import { startModuleWorker } from '../core/module-worker.js';
import type { LogFields, Logger, LogLevel } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { EventRequest, Measurement, PluginOperator, PluginSettings } from './plugin.js';
import { DEFAULT_PLUGIN_MAX_QUEUE } from './isolate-plugin.js';

/** One box of the registry as a worker plugin sees it: `[box id, location]`. */
export type BoxEntry = readonly [boxId: string, location: unknown];

/** Options of {@link workerPlugin}. Durations are scheduler milliseconds. */
export interface WorkerPluginOptions {
  /**
   * The plugin entry as {@link loadPlugin} takes it (`path`, `plugin` or `name`, plus the
   * plugin's own settings), without `isolation`. It is loaded inside the worker, so it must be
   * plain data (it is copied with the structured-clone algorithm).
   */
  readonly entry: PluginSettings;
  /** Directory a relative `path` is resolved against (the config file's). */
  readonly baseDir: string;
  /** Field path of the entry in the config (`plugins[2]`), for `ConfigError`s. Default `plugin`. */
  readonly field?: string;
  /** The config file, for `ConfigError`s. */
  readonly file?: string;
  /** Instance name: the `plugin` label of the metrics and the `plugin` field of log lines. */
  readonly name: string;
  /** Receives the plugin's log lines (forwarded from the worker) and the worker's failures. */
  readonly logger: Logger;
  /** Where `makai_plugin_dropped_total{plugin}` is counted. */
  readonly metrics: Metrics;
  /** Host-side timers (batching, registry refresh, start timeout). Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Reads the box registry; the worker gets a copy at start and every `boxRefreshMs`. */
  readonly boxes?: () => Promise<readonly BoxEntry[]>;
  /** How often the worker's copy of the registry is refreshed. Default 30 000. */
  readonly boxRefreshMs?: number;
  /** Most measurements waiting on the host for the worker; beyond it the oldest is dropped and counted. Default {@link DEFAULT_PLUGIN_MAX_QUEUE}. */
  readonly maxQueue?: number;
  /** Measurements handed to the worker that it has not finished yet. Default 64. */
  readonly maxInFlight?: number;
  /** How long a worker may take to load the plugin before start-up fails. Default 30 000. */
  readonly startTimeoutMs?: number;
}

/** Host → worker messages. @internal */
export type HostMessage =
  | { readonly type: 'start' }
  | { readonly type: 'measurements'; readonly items: readonly Measurement[] }
  | { readonly type: 'complete' }
  | { readonly type: 'boxes'; readonly boxes: readonly BoxEntry[] };

/** Worker → host messages. @internal */
export type WorkerMessage =
  /** The plugin is loaded and its operator created; waiting for `start`. */
  | { readonly type: 'ready' }
  /** Loading or creating the plugin failed. */
  | { readonly type: 'failed'; readonly error: SerializedError }
  | { readonly type: 'request'; readonly request: EventRequest }
  /** `count` more measurements were handed to the plugin and returned. */
  | { readonly type: 'ack'; readonly count: number }
  /** The plugin's output errored. */
  | { readonly type: 'error'; readonly error: SerializedError }
  | { readonly type: 'complete' }
  | { readonly type: 'log'; readonly level: Exclude<LogLevel, 'silent'>; readonly msg: string; readonly fields: LogFields };

/** What the worker entry is started with (`workerData`). @internal */
export interface WorkerPluginData {
  readonly entry: PluginSettings;
  readonly baseDir: string;
  readonly field: string;
  readonly file: string | undefined;
  readonly boxes: readonly BoxEntry[];
}

/** An error as it crosses the thread boundary. @internal */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly path?: string | undefined;
  readonly file?: string | undefined;
}

/** A worker whose plugin is loaded, not yet handed to a subscription. */
interface ReadyWorker {
  readonly worker: Worker;
}

/**
 * Runs a plugin in its own `node:worker_threads` Worker, so that even a plugin that blocks
 * synchronously (a busy loop, heavy numerics) cannot stall storage, trends or the other plugins.
 *
 * Informally: the same operator contract as an in-process plugin. Measurements are posted to
 * the worker in batches; at most `maxInFlight` are in the worker at once, and the rest wait in
 * a bounded queue on the host (`maxQueue`, the oldest dropped first and counted in
 * `makai_plugin_dropped_total{plugin}`), so a slow plugin costs a bounded amount of memory
 * and the host never waits for it. Requests come back as messages; logs too (the plugin's
 * `context.logger` forwards to `logger`). The worker's `context.scheduler` is its own
 * `asyncScheduler` (real time: a worker plugin cannot be run in virtual time), and
 * `context.boxes` is a copy of the registry refreshed every `boxRefreshMs`.
 *
 * ```
 * source:   -a-b-c-d-e-f-|            (maxQueue 2, the worker busy with a and b)
 * worker:   --[a b]------[e f]-|      (c and d dropped and counted)
 * output:   requests as the worker emits them, then complete when it completes
 * ```
 *
 * Each subscription gets a fresh worker (the first one is the worker started here to check
 * the entry); unsubscribing terminates it, even in the middle of a busy loop. A plugin that
 * errors, throws outside the stream (an uncaught exception in the worker) or exits its worker
 * errors the output; wrap the result in `isolatePlugin`, which restarts it (a new worker) with
 * back-off and checks its requests. What the failed worker had in flight or queued is counted
 * as dropped.
 *
 * @param options See {@link WorkerPluginOptions}.
 * @returns The plugin's operator, once a worker has loaded the plugin and created its operator.
 * @throws ConfigError at the entry (`plugins[2].path`, ...) when the plugin fails to load or
 *   its factory refuses its settings, as for an in-process plugin; or when loading takes
 *   longer than `startTimeoutMs`.
 * @see isolatePlugin
 */
export async function workerPlugin(options: WorkerPluginOptions): Promise<PluginOperator> {
  const {
    name,
    scheduler = asyncScheduler,
    boxRefreshMs = 30_000,
    maxQueue = DEFAULT_PLUGIN_MAX_QUEUE,
    maxInFlight = 64,
    startTimeoutMs = 30_000,
  } = options;
  const field = options.field ?? 'plugin';
  for (const [key, value] of [
    ['boxRefreshMs', boxRefreshMs],
    ['maxQueue', maxQueue],
    ['maxInFlight', maxInFlight],
    ['startTimeoutMs', startTimeoutMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 1) throw new ConfigError(`must be a number ≥ 1, got ${value}`, { path: key });
  }
  const logger = options.logger.child({ plugin: name, isolation: 'worker' });
  const labels = { plugin: name };
  const dropped = options.metrics.counter(
    'makai_plugin_dropped_total',
    'Measurements a plugin never saw (queue full, or left over when it stopped)',
    ['plugin'],
  );
  let boxes: readonly BoxEntry[] = options.boxes ? await options.boxes() : [];
  const data = (): WorkerPluginData => ({ entry: options.entry, baseDir: options.baseDir, field, file: options.file, boxes });
  const forwardLog = (message: Extract<WorkerMessage, { type: 'log' }>) => logger[message.level](message.msg, message.fields);

  // Started now, so that a bad entry fails the service at start-up like an in-process plugin.
  let spare: ReadyWorker | undefined = await startWorker(data(), { scheduler, startTimeoutMs, onLog: forwardLog, where: options });

  return function workerPluginOperator(source: Observable<Measurement>): Observable<EventRequest> {
    return new Observable<EventRequest>((subscriber) => {
      // All state lives in this subscription: a restart is a new subscription and a new worker.
      const queue: Measurement[] = [];
      const timers = new Subscription();
      let inFlight = 0;
      let inputDone = false;
      let completeSent = false;
      let done = false;
      let pumpPending = false;
      let ready = false;

      const later = (work: () => void, delay: number): void => {
        timers.add(
          scheduler.schedule(function (this: SchedulerAction<unknown>) {
            try {
              work();
            } finally {
              this.unsubscribe(); // removes the finished action from `timers`
            }
          }, delay),
        );
      };

      let worker: Worker;
      if (spare) {
        worker = spare.worker;
        spare = undefined;
        ready = true;
      } else {
        worker = spawnWorker(data());
      }
      const post = (message: HostMessage) => worker.postMessage(message);

      const stop = () => {
        done = true;
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        timers.unsubscribe();
        worker.terminate().catch(() => undefined);
      };

      const fail = (error: unknown) => {
        if (done) return;
        const lost = queue.length + inFlight;
        if (lost > 0) dropped.inc(labels, lost);
        queue.length = 0;
        stop();
        subscriber.error(error);
      };

      const pump = () => {
        pumpPending = false;
        if (done || !ready) return;
        const room = maxInFlight - inFlight;
        if (room > 0 && queue.length > 0) {
          const items = queue.splice(0, room);
          inFlight += items.length;
          post({ type: 'measurements', items });
        }
        if (inputDone && queue.length === 0 && !completeSent) {
          completeSent = true;
          post({ type: 'complete' });
        }
      };
      const schedulePump = () => {
        if (pumpPending || done) return;
        pumpPending = true;
        later(pump, 0);
      };

      function onMessage(message: WorkerMessage): void {
        switch (message.type) {
          case 'ready':
            ready = true;
            post({ type: 'start' });
            schedulePump();
            break;
          case 'failed':
          case 'error':
            fail(deserializeError(message.error));
            break;
          case 'request':
            if (!done) subscriber.next(message.request);
            break;
          case 'ack':
            inFlight = Math.max(0, inFlight - message.count);
            schedulePump();
            break;
          case 'complete':
            if (done) return;
            stop();
            subscriber.complete();
            break;
          case 'log':
            forwardLog(message);
            break;
        }
      }
      function onError(error: Error): void {
        // An uncaught exception or unhandled rejection inside the worker (or out of memory).
        fail(error);
      }
      function onExit(code: number): void {
        fail(new Error(`the plugin worker exited unexpectedly (code ${code})`));
      }
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      if (ready) {
        post({ type: 'start' });
      }

      if (options.boxes) {
        const readBoxes = options.boxes;
        const refresh = () => {
          readBoxes().then(
            (fresh) => {
              boxes = fresh;
              if (!done) post({ type: 'boxes', boxes: fresh });
            },
            (error: unknown) => logger.warn('could not refresh the box registry for the plugin worker; it keeps the last one', { error: describeError(error) }),
          ).finally(() => {
            if (!done) later(refresh, boxRefreshMs);
          });
        };
        later(refresh, boxRefreshMs);
      }

      const sourceSubscription = source.subscribe({
        next: (measurement) => {
          if (done) return;
          if (queue.length >= maxQueue) {
            // Oldest first, as in isolatePlugin: the freshest data is the most useful.
            queue.shift();
            dropped.inc(labels);
          }
          queue.push(measurement);
          schedulePump();
        },
        error: (error: unknown) => {
          if (done) return;
          stop();
          subscriber.error(error);
        },
        complete: () => {
          inputDone = true;
          schedulePump();
        },
      });

      return () => {
        sourceSubscription.unsubscribe();
        if (done) return;
        // Cut off (drain timeout, service stop): what the plugin never finished is counted.
        const lost = queue.length + inFlight;
        if (lost > 0) dropped.inc(labels, lost);
        queue.length = 0;
        stop();
      };
    });
  };
}

function spawnWorker(data: WorkerPluginData): Worker {
  const worker = startModuleWorker(import.meta.url, 'worker-plugin-entry', data);
  // A plugin worker never keeps the process alive by itself: the service's sockets and timers do.
  worker.unref();
  return worker;
}

/** Starts a worker and waits until its plugin is loaded; the ConfigError of a bad entry otherwise. */
function startWorker(
  data: WorkerPluginData,
  options: {
    readonly scheduler: SchedulerLike;
    readonly startTimeoutMs: number;
    readonly onLog: (message: Extract<WorkerMessage, { type: 'log' }>) => void;
    readonly where: { readonly field?: string; readonly file?: string; readonly name: string };
  },
): Promise<ReadyWorker> {
  const worker = spawnWorker(data);
  const where = { path: data.field, ...(data.file === undefined ? {} : { file: data.file }) };
  return new Promise<ReadyWorker>((resolve, reject) => {
    const settle = (error?: unknown) => {
      timeout.unsubscribe();
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (error === undefined) {
        resolve({ worker });
      } else {
        worker.terminate().catch(() => undefined);
        reject(error);
      }
    };
    const onMessage = (message: WorkerMessage) => {
      if (message.type === 'log') options.onLog(message);
      else if (message.type === 'ready') settle();
      else if (message.type === 'failed') settle(deserializeError(message.error, where));
    };
    const onError = (error: Error) =>
      settle(new ConfigError(`plugin ${options.where.name}: its worker failed while loading: ${describeError(error)}`, where, { cause: error }));
    const onExit = (code: number) => settle(new ConfigError(`plugin ${options.where.name}: its worker exited while loading (code ${code})`, where));
    const timeout = options.scheduler.schedule(
      () => settle(new ConfigError(`plugin ${options.where.name}: its worker did not load the plugin within ${options.startTimeoutMs} ms`, where)),
      options.startTimeoutMs,
    );
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** A worker's error as an Error of the host: a ConfigError keeps its file and path, re-anchored without a doubled prefix. */
function deserializeError(error: SerializedError, fallback?: { path?: string; file?: string }): Error {
  if (error.name === 'ConfigError') {
    const where = { ...(error.file ? { file: error.file } : fallback?.file ? { file: fallback.file } : {}), ...(error.path ? { path: error.path } : fallback?.path ? { path: fallback.path } : {}) };
    const prefix = [where.file, where.path].filter(Boolean).join(': ');
    const message = prefix && error.message.startsWith(`${prefix}: `) ? error.message.slice(prefix.length + 2) : error.message;
    return new ConfigError(message, where);
  }
  const restored = new Error(error.message);
  restored.name = error.name;
  return restored;
}

/** An error as plain data for `postMessage`. @internal */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const { path, file } = error as Error & { path?: unknown; file?: unknown };
    return {
      name: error.name,
      message: error.message,
      ...(typeof path === 'string' ? { path } : {}),
      ...(typeof file === 'string' ? { file } : {}),
    };
  }
  return { name: 'Error', message: describeError(error) };
}
