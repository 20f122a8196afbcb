import type { OperatorFunction, SchedulerLike } from 'rxjs';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { RequestEventMessage, TriggerMessage } from '../protocol/messages.js';

/**
 * The plugin contract of the triggering service (spec §5.5, redone for TypeScript).
 *
 * A plugin is a module whose **default export** is a {@link PluginFactory}: given its settings
 * (the plugin's whole JSON object from the config, `path` included, as the original passed it)
 * and a {@link PluginContext}, it returns an RxJS operator from measurements to event requests.
 * The operator sees every measurement of every box, in arrival order, and may emit zero or more
 * requests at any time (a timer on `context.scheduler` may close an anomaly on its own).
 *
 * ```ts
 * import { map, filter } from 'rxjs';
 * import { definePlugin } from 'makai';
 *
 * export default definePlugin((settings, { scheduler }) => (measurements) =>
 *   measurements.pipe(filter((m) => m.rms < 100), map((m) => ({ ...request for m... }))));
 * ```
 *
 * Rules a plugin keeps (the runtime isolates it, see `isolatePlugin`, but cannot fix these):
 * - Validate settings in the factory and throw `ConfigError` (with the field `path`)
 *   synchronously, so a bad config fails at start-up.
 * - Keep state per subscription (`defer`, `new Observable`), never in the factory closure: after
 *   a failure the runtime re-subscribes to restart the plugin from a clean state.
 * - Time comes from `context.scheduler` (timers) and from box timestamps (event time); never
 *   `Date.now` or `setTimeout`, so marble tests can run the plugin in virtual time.
 * - Never block the event loop: a synchronous busy loop stalls the whole process, and no
 *   in-process isolation can prevent that.
 */
export type PluginFactory = (settings: PluginSettings, context: PluginContext) => PluginOperator;

/** What a plugin factory returns: measurements in, event requests out. */
export type PluginOperator = OperatorFunction<Measurement, EventRequest>;

/** A measurement as plugins see it: one decoded `TriggerMessage` (6 per second per box). */
export type Measurement = TriggerMessage;

/** An event request as plugins emit it: a `RequestEventMessage` for the acquisition broker. */
export type EventRequest = RequestEventMessage;

/** The plugin's JSON object from the config, unvalidated: the factory checks what it needs. */
export type PluginSettings = Readonly<Record<string, unknown>>;

/**
 * Keys the loader reads from a plugin entry (`path`, `name`, `plugin`). They stay in the
 * settings object the factory receives; a factory that refuses unknown keys must allow these.
 */
export const PLUGIN_ENTRY_KEYS = ['path', 'name', 'plugin'] as const;

/** What the runtime gives every plugin instance. */
export interface PluginContext {
  /** Instance name (from the entry's `name`, else the built-in or file name); unique per service. */
  readonly name: string;
  /** A logger bound to this plugin instance. */
  readonly logger: Logger;
  /** The only clock and timer source a plugin may use (virtual in tests). */
  readonly scheduler: SchedulerLike;
  /** A synchronous, read-only view of the box registry. */
  readonly boxes: BoxDirectory;
  /**
   * The service's metrics, when the runtime provides them (it does; a marble test may not):
   * for a plugin that queues on its own, such as an out-of-process plugin counting what it drops.
   */
  readonly metrics?: Metrics;
}

/**
 * A synchronous read-only view of the box registry (`opq_boxes`), refreshed by the runtime in
 * the background so that plugins never wait on a store.
 */
export interface BoxDirectory {
  /** True when the box is in the registry. `boxId` is the decimal string form (`"1001"`). */
  has(boxId: string): boolean;
  /** The box's `location` value as stored, or undefined when the box or its location is unknown. */
  location(boxId: string): unknown | undefined;
}

/** A {@link BoxDirectory} that knows no box; for tests and for services without a registry. */
export const emptyBoxDirectory: BoxDirectory = {
  has: () => false,
  location: () => undefined,
};

/**
 * Identity helper that types a plugin factory, so a plugin module gets its parameter types
 * without importing them one by one: `export default definePlugin((settings, context) => …)`.
 *
 * @param factory The plugin factory.
 * @returns The same factory.
 */
export function definePlugin<F extends PluginFactory>(factory: F): F {
  return factory;
}
