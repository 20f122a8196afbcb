import type { z } from 'zod';
import { parseConfig } from './load-json-config.js';

/**
 * Checks a node's options against its zod schema: the `validate` of most components. Errors are
 * `ConfigError`s whose path is the option (`window`), with a did-you-mean for a misspelt one;
 * the topology prefixes the node (`nodes.trends.window`) and the loader the file.
 *
 * @param schema A strict zod object schema (unknown options are errors).
 * @param options The options as written in the topology or mapped from a JSON config.
 * @returns The parsed options (durations in ms, defaults filled in).
 */
export function checkOptions<S extends z.ZodTypeAny>(schema: S, options: unknown): z.output<S> {
  return parseConfig(options, schema);
}
