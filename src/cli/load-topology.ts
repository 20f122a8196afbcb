import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadJsonConfig, parseConfig } from '../config/load-json-config.js';
import { makaiSettingsSchema, type MakaiSettings } from '../config/makai-settings.js';
import { ConfigError } from '../core/errors.js';
import { opqTriggeringTopology } from '../topologies/opq-triggering.js';
import { isTopology, type Topology } from '../topology.js';

/** A topology ready to start, with where it came from. */
export interface LoadedTopology {
  readonly topology: Topology;
  /** Settings from a JSON config (defaults otherwise), for the store and registry refresh. */
  readonly settings: MakaiSettings;
  /** Relative paths (plugins) resolve against this directory. */
  readonly baseDir: string;
  readonly file: string | undefined;
}

let tsxRegistered = false;

/**
 * Loads what `makai run` was given: an original-format JSON config (mapped onto the default
 * topology), a topology module (`.ts`, `.mts`, `.js`, `.mjs`) whose default export was made by
 * `defineTopology`, or nothing (the default topology with default settings).
 */
export async function loadTopology(file: string | undefined): Promise<LoadedTopology> {
  if (file === undefined) {
    const settings = parseConfig({}, makaiSettingsSchema);
    return { topology: opqTriggeringTopology(settings), settings, baseDir: process.cwd(), file };
  }
  const path = resolve(file);
  const extension = extname(path);
  if (extension === '.json' || extension === '.conf') {
    const settings = await loadJsonConfig(path, makaiSettingsSchema);
    return { topology: opqTriggeringTopology(settings, path), settings, baseDir: dirname(path), file: path };
  }
  if (!['.ts', '.mts', '.js', '.mjs'].includes(extension)) {
    throw new ConfigError('expected a JSON config (.json, .conf) or a topology module (.ts, .mts, .js, .mjs)', { file: path });
  }
  if (extension.endsWith('ts') && !tsxRegistered) {
    // Topology files are TypeScript; tsx compiles them on import (a no-op when already running under tsx).
    const { register } = await import('tsx/esm/api');
    register();
    tsxRegistered = true;
  }
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot load the topology module: ${(error as Error).message}`, { file: path }, { cause: error });
  }
  if (!isTopology(module.default)) {
    throw new ConfigError('the default export must be a topology made with defineTopology(...)', { file: path, path: 'default' });
  }
  return { topology: module.default, settings: parseConfig({}, makaiSettingsSchema), baseDir: dirname(path), file: path };
}
