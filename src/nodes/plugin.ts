import { basename } from 'node:path';
import { z } from 'zod';
import { defineStage, type PrepareContext } from './component.js';
import { pluginIsolationSchema, type PluginIsolation } from '../config/makai-settings.js';
import { parseConfig } from '../config/load-json-config.js';
import { ConfigError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { isolatePlugin } from '../plugins/isolate-plugin.js';
import { builtinPlugins } from '../plugins/builtin/index.js';
import { loadPlugin, type LoadedPlugin } from '../plugins/plugin-loader.js';
import { emptyBoxDirectory, type PluginSettings } from '../plugins/plugin.js';
import { workerPlugin, type BoxEntry } from '../plugins/worker-plugin.js';
import type { RequestEventMessage, TriggerMessage } from '../protocol/messages.js';
import { asyncScheduler } from 'rxjs';

/**
 * A plugin entry, as in the original `makai.json`: `path` (a JS/TS module, relative to the
 * topology or config file; an original `lib*_plugin.so` maps to a built-in; a `.py` file runs
 * out of process), `command` (a program speaking docs/plugin-protocol.md), or `plugin` (a
 * built-in: `threshold`, `napali`, `print`), an optional instance `name` and `isolation`; every other
 * field is the plugin's own setting, checked by the plugin.
 */
export type PluginOptions = PluginSettings & {
  readonly path?: string;
  readonly plugin?: string;
  readonly name?: string;
  /** `"in-process"` (default) or `"worker"`, or `{ mode, maxQueue, drainTimeoutMs, initialBackoffMs, maxBackoffMs, maxInFlight }`. */
  readonly isolation?: unknown;
  /**
   * A shadow plugin runs live beside the others, but its requests go to a `shadow-log` sink
   * (logged, never sent): the topology routes them (the default one does). Default false.
   */
  readonly shadow?: boolean;
};

interface CheckedPlugin {
  /** The entry without `isolation`: what the plugin's factory receives as its settings. */
  readonly settings: PluginSettings;
  readonly isolation: IsolationTuning;
  readonly name: string;
  /** Its requests belong in a shadow log, not at the broker (routing is the topology's). */
  readonly shadow: boolean;
  /** Filled by `prepare`: the module loaded and the settings accepted by the factory. */
  readonly loaded?: LoadedPlugin;
  readonly where?: PrepareContext;
}

/** Either form of `isolation`, read as one shape. */
type IsolationTuning = { readonly mode: PluginIsolation['mode'] } & {
  readonly [K in 'maxQueue' | 'drainTimeoutMs' | 'initialBackoffMs' | 'maxBackoffMs' | 'maxInFlight']?: number | undefined;
};

const entrySchema = z.object({ isolation: pluginIsolationSchema.optional(), shadow: z.boolean().optional() }).passthrough();

/**
 * One plugin, isolated: its failures are counted and it is restarted with back-off; it never
 * stops the rest. `isolation: "worker"` runs it in a worker thread, the only isolation from a
 * plugin that blocks synchronously. `prepare` imports the module and calls its factory once
 * (factories open nothing and keep state per subscription), so a missing module, a native
 * library or a misspelt setting is refused by `makai validate` as by `makai run`.
 */
export const plugin = defineStage<PluginOptions, CheckedPlugin, 'store' | 'boxes', TriggerMessage, RequestEventMessage>({
  kind: 'plugin',
  summary: 'an anomaly-detection plugin, isolated (restarted with back-off, bounded queue)',
  resources: ['store', 'boxes'],
  sideOutputs: [],
  validate(options) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new ConfigError('a plugin entry must be an object');
    // `isolation` and `shadow` are the runtime's and the topology's; the plugin never sees them.
    const { isolation: rawIsolation, shadow, ...settings } = parseConfig(options, entrySchema) as PluginSettings & { isolation?: IsolationTuning; shadow?: boolean };
    for (const key of ['path', 'name', 'plugin'] as const) {
      const value = settings[key];
      if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) throw new ConfigError('must be a non-empty string', { path: key });
    }
    if (settings['path'] === undefined && settings['plugin'] === undefined && settings['name'] === undefined && settings['command'] === undefined) {
      throw new ConfigError(
        `a plugin needs a "path" (a JS/TS plugin module or a .py file), a "command" (a program speaking docs/plugin-protocol.md) or a "plugin" (a built-in: ${Object.keys(builtinPlugins).join(', ')})`,
      );
    }
    return { settings, isolation: rawIsolation ?? { mode: 'in-process' }, name: pluginInstanceName(settings), shadow: shadow ?? false };
  },
  async prepare(checked, where) {
    const loaded = await loadPlugin(checked.settings, { builtins: builtinPlugins, baseDir: where.baseDir, field: '', logger: where.logger });
    // The factory checks its settings; calling it opens nothing (state lives per subscription).
    loaded.create({ logger: silentLogger, scheduler: asyncScheduler, boxes: emptyBoxDirectory });
    return { ...checked, loaded, where };
  },
  async create(checked, context) {
    const { isolation } = checked;
    const tuning = isolateTuning(isolation);
    if (isolation.mode === 'worker') {
      const operator = await workerPlugin({
        entry: checked.settings,
        baseDir: checked.where?.baseDir ?? process.cwd(),
        field: `nodes.${context.id}`,
        ...(checked.where?.file ? { file: checked.where.file } : {}),
        name: checked.name,
        logger: context.logger,
        metrics: context.metrics,
        scheduler: context.scheduler,
        boxes: async () => (await context.store.listBoxes()).map((box): BoxEntry => [box.box_id, box.location]),
        ...(isolation.maxQueue === undefined ? {} : { maxQueue: isolation.maxQueue }),
        ...(isolation.maxInFlight === undefined ? {} : { maxInFlight: isolation.maxInFlight }),
      });
      return isolatePlugin(operator, { name: checked.name, logger: context.logger, metrics: context.metrics, scheduler: context.scheduler, ...tuning });
    }
    const loaded = checked.loaded ?? (await loadPlugin(checked.settings, { builtins: builtinPlugins, baseDir: process.cwd(), field: `nodes.${context.id}` }));
    const operator = loaded.create({ logger: context.logger, scheduler: context.scheduler, boxes: context.boxes, metrics: context.metrics });
    return isolatePlugin(operator, { name: loaded.name, logger: context.logger, metrics: context.metrics, scheduler: context.scheduler, ...tuning });
  },
});

/** The isolatePlugin options an `isolation` object sets. */
function isolateTuning(tuning: IsolationTuning) {
  return {
    ...(tuning.maxQueue === undefined ? {} : { maxQueue: tuning.maxQueue }),
    ...(tuning.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: tuning.drainTimeoutMs }),
    ...(tuning.initialBackoffMs === undefined ? {} : { initialBackoffMs: tuning.initialBackoffMs }),
    ...(tuning.maxBackoffMs === undefined ? {} : { maxBackoffMs: tuning.maxBackoffMs }),
  };
}

/** The instance name the loader gives the entry (its `name`, else the built-in, else the module file name). */
export function pluginInstanceName(settings: PluginSettings): string {
  const command = settings['command'];
  const name = settings['name'] ?? settings['plugin'] ?? settings['path'] ?? (Array.isArray(command) ? command[command.length - 1] : undefined);
  if (typeof name !== 'string') return 'plugin';
  return settings['name'] === undefined && settings['plugin'] === undefined ? basename(name).replace(/\.[^.]+$/, '') : name;
}
