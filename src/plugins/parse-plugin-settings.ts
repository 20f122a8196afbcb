import type { z } from 'zod';
import { closestName } from '../config/closest-name.js';
import { knownKeys } from '../config/load-json-config.js';
import { ConfigError } from '../core/errors.js';
import type { PluginSettings } from './plugin.js';

/**
 * Validates a plugin's settings with a zod schema and returns the parsed value, or throws a
 * {@link ConfigError} whose `path` names the first offending field relative to the plugin's
 * entry (e.g. `overrides.1001.voltagePercent`). The loader re-anchors that path under the
 * entry (`plugins[2].overrides.1001.voltagePercent`) and adds the config file.
 *
 * @param schema Zod schema of the settings object.
 * @param settings The plugin's JSON object as the loader passed it.
 * @returns The parsed settings.
 * @throws ConfigError when the settings do not match the schema.
 */
export function parsePluginSettings<S extends z.ZodTypeAny>(schema: S, settings: PluginSettings): z.output<S> {
  const result = schema.safeParse(settings);
  if (result.success) return result.data as z.output<S>;
  const [first, ...rest] = result.error.issues;
  if (!first) throw new ConfigError('invalid plugin settings');
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  // zod reports unknown keys on the parent object; name the key itself, it is usually a typo.
  if (first.code === 'unrecognized_keys') {
    const key = first.keys[0] ?? '';
    const hint = closestName(key, knownKeys(schema, first.path));
    return throwConfigError(`unknown setting "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}${more}`, settingsPath([...first.path, key]));
  }
  return throwConfigError(`${first.message}${more}`, settingsPath(first.path));
}

function throwConfigError(message: string, path: string): never {
  throw path ? new ConfigError(message, { path }) : new ConfigError(message);
}

/** `['overrides', '1001', 'voltagePercent']` → `overrides.1001.voltagePercent`; numbers as `[i]`. */
export function settingsPath(parts: readonly (string | number)[]): string {
  let out = '';
  for (const part of parts) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out;
}
