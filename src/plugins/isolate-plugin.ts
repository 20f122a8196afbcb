import { Observable, Subject, Subscription, asyncScheduler, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { MAX_TIMER_MS } from '../core/duration.js';
import { ConfigError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { checkEventRequest } from './check-event-request.js';
import type { EventRequest, Measurement, PluginOperator } from './plugin.js';

/** Options of {@link isolatePlugin}. All durations are scheduler milliseconds (virtual in tests). */
export interface IsolatePluginOptions {
  /** Plugin instance name: the `plugin` label of every metric and the `plugin` field of every log line. */
  readonly name: string;
  /** Where failures, restarts and refused requests are logged. */
  readonly logger: Logger;
  /** Where `makai_plugin_*` counters go. */
  readonly metrics: Metrics;
  /** Timers (drain, back-off, cut-off). Defaults to `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Delay before the first restart after a failure; doubles with each consecutive failure. Default 1000. */
  readonly initialBackoffMs?: number;
  /** Longest delay between restarts. Default 60 000. */
  readonly maxBackoffMs?: number;
  /** A plugin that ran this long since its last (re)start without failing starts back-off afresh. Default 60 000. */
  readonly resetAfterMs?: number;
  /**
   * Most measurements waiting for the plugin (while it restarts, or while it is slower than
   * the source). Beyond it the oldest waiting measurement is dropped and counted. Default
   * {@link DEFAULT_PLUGIN_MAX_QUEUE}.
   */
  readonly maxQueue?: number;
  /** After the source completes, how long the plugin may take to finish before it is cut off. Default 5000. */
  readonly drainTimeoutMs?: number;
}

/**
 * Default bound of a plugin's queue (about 1 MB of measurements). It must absorb what arrives
 * while the event loop is busy elsewhere (a store batch, a major GC): at 10,000 msg/s a stall of
 * 100 ms already queues 1000, and the old default of 1000 dropped a few hundred measurements per
 * benchmark run, i.e. anomalies the plugin never saw (docs/benchmarks.md).
 */
export const DEFAULT_PLUGIN_MAX_QUEUE = 10_000;

/**
 * What an isolated plugin is doing, as the `state` label of `makai_plugin_state`: `running`
 * (subscribed, taking measurements), `restarting` (failed, waiting out its back-off; what
 * arrives meanwhile queues), `stopped` (completed, or cut off when its input ended).
 */
export const PLUGIN_STATES = ['running', 'restarting', 'stopped'] as const;
export type PluginState = (typeof PLUGIN_STATES)[number];

/** Measurements delivered to the plugin between checks of the drain's time budget. */
const DRAIN_BATCH = 64;
/**
 * Longest (scheduler ms) one drain keeps handing measurements to the plugin; what is left waits
 * for the next turn, so the source and storage get turns in between. A budget rather than one
 * batch per turn: a timer per 64 measurements cannot keep up with tens of thousands per second,
 * and the queue then overflows (measurements the plugin never sees).
 */
const DRAIN_BUDGET_MS = 5;

/**
 * Runs one plugin on its own branch so that it can never stop storage or the other plugins.
 *
 * Informally: measurements go into a bounded queue that is handed to the plugin on the
 * scheduler, off the source's call stack. When the plugin throws or errors, the failure is
 * logged and counted, the measurement that caused it is skipped, and the plugin is
 * re-subscribed after an exponential back-off (`initialBackoffMs`, doubling, up to
 * `maxBackoffMs`, starting afresh after `resetAfterMs` without failure) while measurements
 * keep queueing. The source is subscribed once and never re-subscribed. Every request the
 * plugin emits is checked ({@link checkEventRequest}); an incomplete one is refused and
 * counted as `invalid-request` instead of crashing the service (spec §9 item 5).
 *
 * ```
 * source:     -a--b--c--d--e--|
 * plugin:     throws on b, then fine; initialBackoffMs = 4
 * output:     -A------C-D--E--|        (c waited in the queue during the back-off)
 * ```
 *
 * On source completion a plugin in back-off is restarted at once to see what is queued, its
 * input completes, and the output completes when the plugin does; a plugin that has not
 * completed `drainTimeoutMs` later is cut off (logged), so it cannot hold up shutdown. A
 * plugin that completes early ends its output. A source error is passed on unchanged.
 *
 * Limits: a plugin that blocks the event loop synchronously (a busy loop) stalls the whole
 * process and cannot be isolated in-process. The queue bounds what waits for the plugin;
 * buffering inside an asynchronous plugin (e.g. `concatMap` over slow promises) is the
 * plugin's own and invisible here.
 *
 * Metrics, labelled `plugin`: `makai_plugin_errors_total`, `makai_plugin_restarts_total`,
 * `makai_plugin_dropped_total`, `makai_plugin_requests_total`,
 * `makai_plugin_requests_rejected_total{reason="invalid-request"}`, and the gauges the health
 * report reads: `makai_plugin_state{state}` (1 for the current one of {@link PLUGIN_STATES}),
 * `makai_plugin_queue_depth` and `makai_plugin_consecutive_failures` (failures since the plugin
 * last ran `resetAfterMs` without one; 0 for a healthy plugin).
 *
 * @param plugin The plugin's operator (from its factory). It must keep its state per
 *   subscription: a restart is a new subscription.
 * @param options See {@link IsolatePluginOptions}.
 * @returns An operator from measurements to checked event requests.
 * @throws ConfigError when an option is out of range.
 * @see checkEventRequest
 */
export function isolatePlugin(plugin: PluginOperator, options: IsolatePluginOptions): PluginOperator {
  const {
    name,
    scheduler = asyncScheduler,
    initialBackoffMs = 1000,
    maxBackoffMs = 60_000,
    resetAfterMs = 60_000,
    maxQueue = DEFAULT_PLUGIN_MAX_QUEUE,
    drainTimeoutMs = 5000,
  } = options;
  for (const [field, value, min] of [
    ['initialBackoffMs', initialBackoffMs, 0],
    ['maxBackoffMs', maxBackoffMs, 0],
    ['resetAfterMs', resetAfterMs, 0],
    ['maxQueue', maxQueue, 1],
    ['drainTimeoutMs', drainTimeoutMs, 0],
  ] as const) {
    if (!Number.isFinite(value) || value < min) throw new ConfigError(`must be a number ≥ ${min}, got ${value}`, { path: field });
    // A longer delay would reach a timer as 1 ms (Node's limit), restarting the plugin in a loop.
    if (field !== 'maxQueue' && value > MAX_TIMER_MS) throw new ConfigError(`must be at most ${MAX_TIMER_MS} ms, got ${value}`, { path: field });
  }
  if (maxBackoffMs < initialBackoffMs) throw new ConfigError('must be ≥ initialBackoffMs', { path: 'maxBackoffMs' });

  const logger = options.logger.child({ plugin: name });
  const labels = { plugin: name };
  const { metrics } = options;
  const errors = metrics.counter('makai_plugin_errors_total', 'Plugin failures (thrown or errored); each is followed by a restart', ['plugin']);
  const restarts = metrics.counter('makai_plugin_restarts_total', 'Plugin restarts after a failure', ['plugin']);
  const dropped = metrics.counter('makai_plugin_dropped_total', 'Measurements a plugin never saw (queue full, or left over when it stopped)', ['plugin']);
  const accepted = metrics.counter('makai_plugin_requests_total', 'Event requests a plugin emitted that passed the checks', ['plugin']);
  const rejected = metrics.counter('makai_plugin_requests_rejected_total', 'Event requests a plugin emitted that were refused', ['plugin', 'reason']);
  const stateGauge = metrics.gauge('makai_plugin_state', 'What a plugin is doing: 1 for its current state (running, restarting, stopped), 0 for the others', ['plugin', 'state']);
  const queueDepth = metrics.gauge('makai_plugin_queue_depth', 'Measurements waiting for a plugin', ['plugin']).labels(labels);
  const consecutiveFailures = metrics
    .gauge('makai_plugin_consecutive_failures', 'Plugin failures since it last ran resetAfterMs without one (0: healthy)', ['plugin'])
    .labels(labels);
  const showState = (state: PluginState) => {
    for (const s of PLUGIN_STATES) stateGauge.set({ ...labels, state: s }, s === state ? 1 : 0);
  };

  return function isolatedPlugin(source: Observable<Measurement>): Observable<EventRequest> {
    return new Observable<EventRequest>((destination) => {
      // All state lives in this subscription.
      const queue: Measurement[] = [];
      const timers = new Subscription();
      let phase: 'running' | 'backoff' | 'done' = 'running';
      /** Bumped whenever the current plugin subscription is abandoned, so its late callbacks are ignored. */
      let generation = 0;
      let input: Subject<Measurement> | undefined;
      let pluginSubscription: Subscription | undefined;
      let inputCompleted = false;
      let sourceDone = false;
      let failures = 0;
      let startedAt = scheduler.now();
      let drainPending = false;
      let restartTimer: Subscription | undefined;
      let invalidSeen = 0;

      const later = (work: () => void, delay: number): Subscription => {
        const action = scheduler.schedule(function (this: SchedulerAction<unknown>) {
          try {
            work();
          } finally {
            // Removes the finished action from `timers`, so timers do not pile up.
            this.unsubscribe();
          }
        }, delay);
        timers.add(action);
        return action;
      };

      const dropQueue = () => {
        if (queue.length > 0) dropped.inc(labels, queue.length);
        queue.length = 0;
        queueDepth.set(0);
      };
      /** Armed at each restart: a plugin that then runs resetAfterMs without failing is healthy again. */
      let recoveredTimer: Subscription | undefined;
      const setFailures = (n: number) => {
        failures = n;
        consecutiveFailures.set(n);
      };

      const stopPlugin = () => {
        generation += 1;
        const subscription = pluginSubscription;
        pluginSubscription = undefined;
        input = undefined;
        subscription?.unsubscribe();
      };

      const finish = () => {
        if (phase === 'done') return;
        phase = 'done';
        showState('stopped');
        stopPlugin();
        dropQueue();
        timers.unsubscribe();
        destination.complete();
      };

      const forward = (value: EventRequest) => {
        const problem = checkEventRequest(value);
        if (problem) {
          rejected.inc({ ...labels, reason: 'invalid-request' });
          invalidSeen += 1;
          // Counted every time; logged loudly once, then quietly, as a buggy plugin repeats itself.
          const log = invalidSeen === 1 ? logger.warn : logger.debug;
          log.call(logger, 'plugin emitted an invalid event request; refused', { reason: 'invalid-request', ...problem });
          return;
        }
        accepted.inc(labels);
        destination.next(value);
      };

      const scheduleDrain = () => {
        if (drainPending || phase !== 'running') return;
        drainPending = true;
        later(drain, 0);
      };

      const drain = () => {
        drainPending = false;
        const started = scheduler.now();
        // Each next() may fail the plugin synchronously; the loop then stops with the rest queued.
        do {
          for (let n = 0; n < DRAIN_BATCH && phase === 'running' && input && queue.length > 0; n++) {
            input.next(queue.shift() as Measurement);
          }
        } while (phase === 'running' && input && queue.length > 0 && scheduler.now() - started < DRAIN_BUDGET_MS);
        queueDepth.set(queue.length);
        if (phase !== 'running' || !input) return;
        if (queue.length > 0) scheduleDrain();
        else if (sourceDone && !inputCompleted) {
          inputCompleted = true;
          input.complete();
        }
      };

      const fail = (error: unknown) => {
        stopPlugin();
        errors.inc(labels);
        if (sourceDone) {
          logger.error('plugin failed while finishing; what it had not seen is dropped', { error: describeError(error), dropped: queue.length });
          finish();
          return;
        }
        const now = scheduler.now();
        recoveredTimer?.unsubscribe();
        recoveredTimer = undefined;
        setFailures((now - startedAt >= resetAfterMs ? 0 : failures) + 1);
        const delay = Math.min(initialBackoffMs * 2 ** (failures - 1), maxBackoffMs);
        logger.error('plugin failed; restarting after back-off', { error: describeError(error), failures, restartInMs: delay });
        phase = 'backoff';
        showState('restarting');
        restartTimer = later(() => {
          restartTimer = undefined;
          restart();
        }, delay);
      };

      const completed = () => {
        if (!sourceDone) logger.warn('plugin completed before its input did; it gets no more measurements');
        finish();
      };

      const start = () => {
        const incarnation = ++generation;
        phase = 'running';
        showState('running');
        startedAt = scheduler.now();
        inputCompleted = false;
        const subject = new Subject<Measurement>();
        input = subject;
        let subscription: Subscription;
        try {
          subscription = plugin(subject.asObservable()).subscribe({
            next: (value) => {
              if (incarnation === generation) forward(value);
            },
            error: (error: unknown) => {
              if (incarnation === generation) fail(error);
            },
            complete: () => {
              if (incarnation === generation) completed();
            },
          });
        } catch (error) {
          // The factory's operator threw while wiring up, or returned something that is not an Observable.
          if (incarnation === generation) fail(error);
          return;
        }
        // It may have failed or completed during subscribe.
        if (incarnation !== generation) {
          subscription.unsubscribe();
          return;
        }
        pluginSubscription = subscription;
        if (queue.length > 0 || sourceDone) scheduleDrain();
      };

      const restart = () => {
        restarts.inc(labels);
        logger.info('plugin restarted');
        recoveredTimer = later(() => {
          recoveredTimer = undefined;
          setFailures(0);
        }, resetAfterMs);
        start();
      };

      start();
      // A plugin that completed while subscribing has ended the output already.
      if (destination.closed) return undefined;
      const sourceSubscription = source.subscribe({
        next: (measurement) => {
          if (phase === 'done') return;
          if (queue.length >= maxQueue) {
            // Oldest first: after a restart the freshest data is the most useful.
            queue.shift();
            dropped.inc(labels);
          }
          queue.push(measurement);
          // While running, the drain (in this turn) sets the depth it leaves; one gauge write per
          // message here would be a label lookup per message for a value nobody reads in between.
          if (phase !== 'running') queueDepth.set(queue.length);
          scheduleDrain();
        },
        error: (error: unknown) => {
          phase = 'done';
          showState('stopped');
          stopPlugin();
          destination.error(error);
        },
        complete: () => {
          sourceDone = true;
          if (phase === 'done') return;
          later(() => {
            if (phase === 'done') return;
            logger.warn('plugin did not finish after its input completed; cut off', { drainTimeoutMs, unseen: queue.length });
            finish();
          }, drainTimeoutMs);
          if (phase === 'backoff') {
            // No more input is coming: waiting out the back-off would only delay shutdown.
            restartTimer?.unsubscribe();
            restartTimer = undefined;
            restart();
          } else {
            scheduleDrain();
          }
        },
      });

      return () => {
        phase = 'done';
        showState('stopped');
        sourceSubscription.unsubscribe();
        stopPlugin();
        timers.unsubscribe();
        queue.length = 0;
        queueDepth.set(0);
      };
    });
  };
}
