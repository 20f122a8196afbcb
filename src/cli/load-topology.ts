import { dirname, extname, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadJsonConfig, parseConfig } from '../config/load-json-config.js';
import { makaiSettingsSchema, type MakaiSettings } from '../config/makai-settings.js';
import { topologyOptionsOf, type OpqTriggeringOptions } from '../topologies/opq-triggering-options.js';
import { ConfigError, isConfigError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { moduleUrl } from '../core/self-import.js';
import { prepareTopology, type PreparedTopology } from '../prepare-topology.js';
import type { Registry } from '../registry.js';
import { isTopology, type Topology } from '../topology.js';

/** A topology ready to start, with where it came from. */
export interface LoadedTopology {
  /** Checked and prepared: every node's options and plugin modules have passed. */
  readonly topology: PreparedTopology;
  /** Settings from a JSON config (defaults otherwise), for the store, registry refresh and endpoint. */
  readonly settings: MakaiSettings;
  /** Relative paths (plugins) resolve against this directory. */
  readonly baseDir: string;
  readonly file: string | undefined;
}

export interface LoadTopologyOptions {
  /** Node kinds; default the built-in ones. */
  readonly registry?: Registry;
  /** Where prepare-time notes go (an original `.so` mapped to a built-in). */
  readonly logger?: Logger;
}

/** The default topology, shipped as a file to read and copy: `config/topology.ts` of this package. */
export const DEFAULT_TOPOLOGY_FILE = fileURLToPath(new URL('../../config/topology.ts', import.meta.url));

/**
 * The same module as the build compiled it (`npm run build`, `tsconfig.topology.json`), present
 * only beside the built CLI. Its `'makai'` import resolves to this package by Node's package
 * self-reference, i.e. to the very files running it, so the built daemon imports it with no
 * TypeScript loader and no resolve hook: each of those costs a thread of its own (tsx alone
 * about 30 MB of RSS), for a file that never changes.
 */
const BUILT_DEFAULT_TOPOLOGY = import.meta.url.endsWith('.js') ? fileURLToPath(new URL('../shipped-config/topology.js', import.meta.url)) : undefined;

/**
 * Loads and prepares what `makai run` and `makai validate` were given (both call this, so they
 * refuse the same things with the same messages): an original-format JSON config (mapped onto
 * the default topology's options), a topology module (`.ts`, `.mts`, `.js`, `.mjs`) whose default
 * export was made by `defineTopology`, or nothing (the default topology, `config/topology.ts`).
 *
 * @throws ConfigError naming the file and the field (`plugins[0].path`, `nodes.trends.window`).
 */
export async function loadTopology(file: string | undefined, options: LoadTopologyOptions = {}): Promise<LoadedTopology> {
  const logger = options.logger ?? silentLogger;
  const prepare = (topology: Topology, baseDir: string, at?: string) =>
    prepareTopology(topology, { baseDir, logger, ...(at === undefined ? {} : { file: at }), ...(options.registry ? { registry: options.registry } : {}) });
  if (file === undefined) {
    const settings = parseConfig({}, makaiSettingsSchema);
    const topology = checkedTopology(await importDefaultTopology(), DEFAULT_TOPOLOGY_FILE);
    return { topology: await prepare(topology, process.cwd(), DEFAULT_TOPOLOGY_FILE), settings, baseDir: process.cwd(), file };
  }
  const path = resolve(file);
  const extension = extname(path);
  if (extension === '.json' || extension === '.conf') {
    const settings = await loadJsonConfig(path, makaiSettingsSchema);
    const topology = await defaultTopology(topologyOptionsOf(settings, path), path);
    return { topology: await prepare(topology, dirname(path), path), settings, baseDir: dirname(path), file: path };
  }
  if (!['.ts', '.mts', '.js', '.mjs'].includes(extension)) {
    throw new ConfigError('expected a JSON config (.json, .conf) or a topology module (.ts, .mts, .js, .mjs)', { file: path });
  }
  const topology = await importTopology(path);
  return { topology: await prepare(topology, dirname(path), path), settings: parseConfig({}, makaiSettingsSchema), baseDir: dirname(path), file: path };
}

/**
 * The default topology (`config/topology.ts`) built with `options`, not yet prepared.
 *
 * @param file The config file the options came from, named in errors.
 */
export async function defaultTopology(options: OpqTriggeringOptions, file?: string): Promise<Topology> {
  const module = await importDefaultTopology();
  const build = module['opqTriggering'];
  if (typeof build !== 'function') throw new ConfigError('must export the function opqTriggering(options)', { file: DEFAULT_TOPOLOGY_FILE });
  try {
    return (build as (options: OpqTriggeringOptions) => Topology)(options);
  } catch (error) {
    throw isConfigError(error) ? anchorAtFile(error, file ?? DEFAULT_TOPOLOGY_FILE) : error;
  }
}

/** Imports a topology module and checks that its default export is a topology. */
async function importTopology(path: string): Promise<Topology> {
  return checkedTopology(await importModule(path), path);
}

function checkedTopology(module: Record<string, unknown>, path: string): Topology {
  if (!isTopology(module['default'])) {
    throw new ConfigError('the default export must be a topology made with defineTopology(...)', { file: path, path: 'default' });
  }
  return module['default'];
}

/** `config/topology.ts`: its built copy when the CLI runs built and the build made one, else the source. */
async function importDefaultTopology(): Promise<Record<string, unknown>> {
  if (BUILT_DEFAULT_TOPOLOGY !== undefined && existsSync(BUILT_DEFAULT_TOPOLOGY)) {
    return (await import(pathToFileURL(BUILT_DEFAULT_TOPOLOGY).href)) as Record<string, unknown>;
  }
  return importModule(DEFAULT_TOPOLOGY_FILE);
}

let tsxRegistered: Promise<void> | undefined;

/**
 * Imports a topology module as ESM, TypeScript compiled on the fly by tsx, with `'makai'`
 * resolving to this copy (see {@link moduleUrl}). A `ConfigError` thrown while it
 * is evaluated (by `defineTopology`) gets the file added.
 */
async function importModule(path: string): Promise<Record<string, unknown>> {
  if (/\.[cm]?ts$/.test(path)) {
    // A no-op when already running under tsx; process-wide hooks, registered once.
    tsxRegistered ??= import('tsx/esm/api').then(({ register }) => void register());
    await tsxRegistered;
  }
  try {
    return (await import(moduleUrl(path))) as Record<string, unknown>;
  } catch (error) {
    if (isConfigError(error)) throw anchorAtFile(error, path);
    throw new ConfigError(`cannot load the topology module: ${(error as Error).message}`, { file: path }, { cause: error });
  }
}


function anchorAtFile(error: ConfigError, file: string): ConfigError {
  if (error.file !== undefined) return error;
  const prefix = error.path ? `${error.path}: ` : '';
  const message = prefix && error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return new ConfigError(message, { file, ...(error.path ? { path: error.path } : {}) }, { cause: error });
}
