import type { PluginFactory } from '../plugin.js';
import { napaliPlugin } from './napali.js';
import { printPlugin } from './print.js';
import { thresholdPlugin } from './threshold.js';

/** Built-in plugins by name, as a plain value (no side-effect registration). */
export type BuiltinPlugins = Readonly<Record<string, PluginFactory>>;

/**
 * The plugins shipped with Makai: select one with `"plugin": "threshold"` (or `"name"`) in a
 * plugin entry. The original's `libthreshold_plugin.so` / `libprint_plugin.so` /
 * `libnapali_plugin.so` paths map here too.
 */
export const builtinPlugins: BuiltinPlugins = {
  threshold: thresholdPlugin,
  print: printPlugin,
  napali: napaliPlugin,
};
