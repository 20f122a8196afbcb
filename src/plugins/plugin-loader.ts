import { readFile, stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { moduleUrl, resolveMakaiToThisCopy } from '../core/self-import.js';
import { ConfigError, describeError, isConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { builtinPlugins, type BuiltinPlugins } from './builtin/index.js';
import type { PluginContext, PluginFactory, PluginOperator, PluginSettings } from './plugin.js';
import { loadWasmPlugin } from './wasm-plugin.js';
import { isProcessPluginEntry, loadProcessPlugin } from './process-plugin-entry.js';

/** Options of {@link loadPlugin}. */
export interface LoadPluginOptions {
  /** Directory that relative `path`s are resolved against: the config file's directory. */
  readonly baseDir: string;
  /** Built-in plugins by name; defaults to {@link builtinPlugins}. */
  readonly builtins?: BuiltinPlugins;
  /** The config file, named in every `ConfigError`. */
  readonly file?: string;
  /** Field path of the entry in the config, e.g. `plugins[2]`; prefixes every error path (none when empty). Default `plugin`. */
  readonly field?: string;
  /** Where notes go (an original `.so` path mapped to a built-in). */
  readonly logger?: Logger;
}

/** A plugin entry resolved to its factory, ready to be instantiated. */
export interface LoadedPlugin {
  /** Instance name: the entry's `name`, else the built-in's name, else the module file name. */
  readonly name: string;
  /** `builtin:<name>` or the absolute module path; for logs. */
  readonly origin: string;
  /** The entry's whole JSON object, passed to the factory. */
  readonly settings: PluginSettings;
  readonly factory: PluginFactory;
  /**
   * Calls the factory with this plugin's settings. A `ConfigError` it throws is re-anchored at
   * the entry (`plugins[2].overrides.1001.voltagePercent`, with the config file); any other
   * exception becomes a `ConfigError` at the entry.
   *
   * @param context Everything but `name`, which is this plugin's; the logger gets a `plugin` binding.
   */
  create(context: Omit<PluginContext, 'name'>): PluginOperator;
}

/** File names of the original's Rust plugins (spec §5.7) and the built-in that replaces each. */
const ORIGINAL_PLUGINS: Readonly<Record<string, string>> = {
  threshold: 'threshold',
  print: 'print',
  napali: 'napali',
};
const NATIVE_LIBRARY = /\.(so|dylib|dll)(\.\d+)*$/i;
const TYPESCRIPT = /\.[cm]?tsx?$/i;
const WEBASSEMBLY = /\.wasm$/i;

/**
 * Resolves one plugin entry of the config (spec §5.5) to its factory.
 *
 * - `"plugin": "threshold"` (or `"name"` without `path`): a built-in from `builtins`.
 * - `"path": "plugins/my-plugin.ts"`: a JavaScript or TypeScript module, relative to `baseDir`,
 *   whose default export is the factory. TypeScript is compiled on the fly by tsx (a runtime
 *   dependency), in a scoped loader that does not change how anything else is imported.
 * - `"path": "plugins/my-plugin.wasm"`: a WebAssembly plugin (`docs/wasm-plugins.md`), checked
 *   against the ABI here and run in-process, sandboxed (it imports nothing).
 * - `"path": ".../libthreshold_plugin.so"` or `libprint_plugin.so`: the original Rust plugins
 *   are mapped to our built-ins, with a logged note. Any other native library is refused:
 *   Rust dylibs cannot be loaded into Node.
 * - `"command": ["python3", "-m", "my_plugin"]` or `"path": "sag.py"`: a separate program speaking
 *   the out-of-process protocol (docs/plugin-protocol.md), see `loadProcessPlugin`.
 * - `"name"` next to `path` or `plugin` names the instance (logs, metrics).
 *
 * @param entry The entry's JSON value.
 * @param options See {@link LoadPluginOptions}.
 * @returns The loaded plugin; call `create(context)` to get its operator.
 * @throws ConfigError naming the config file and the field (`plugins[2].path`) when the entry
 *   is malformed, the module is missing or fails to load, or its default export is not a function.
 */
export async function loadPlugin(entry: unknown, options: LoadPluginOptions): Promise<LoadedPlugin> {
  const field = options.field ?? 'plugin';
  const fail = (message: string, key?: string, cause?: unknown): never => {
    // An empty field (the topology anchors the error at its node) leaves the key alone.
    const path = key ? (field ? `${field}.${key}` : key) : field;
    const where = { ...(path ? { path } : {}), ...(options.file === undefined ? {} : { file: options.file }) };
    throw new ConfigError(message, where, cause === undefined ? undefined : { cause });
  };
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail('a plugin entry must be an object');
  const settings = entry as PluginSettings;
  for (const key of ['path', 'name', 'plugin'] as const) {
    const value = settings[key];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) fail('must be a non-empty string', key);
  }
  const modulePath = settings['path'] as string | undefined;
  const explicitName = settings['name'] as string | undefined;
  const builtinName = settings['plugin'] as string | undefined;
  const builtins = options.builtins ?? builtinPlugins;

  const builtin = (id: string, key: string) => {
    if (!Object.hasOwn(builtins, id)) fail(`unknown built-in plugin "${id}" (built-ins: ${Object.keys(builtins).join(', ')})`, key);
    return { factory: builtins[id] as PluginFactory, origin: `builtin:${id}`, defaultName: id };
  };

  let found: { factory: PluginFactory; origin: string; defaultName: string };
  if (modulePath !== undefined && builtinName !== undefined) {
    return fail('give either "path" (a plugin module) or "plugin" (a built-in), not both', 'plugin');
  } else if (isProcessPluginEntry(settings)) {
    // Out-of-process (docs/plugin-protocol.md): `command`, or a `.py` path.
    if (builtinName !== undefined) return fail('give either "command" (a program to run) or "plugin" (a built-in), not both', 'plugin');
    found = await loadProcessPlugin(settings, { baseDir: options.baseDir, name: explicitName, fail });
  } else if (builtinName !== undefined) {
    found = builtin(builtinName, 'plugin');
  } else if (modulePath !== undefined) {
    found = NATIVE_LIBRARY.test(modulePath)
      ? nativeLibrary(modulePath, builtin, fail, options.logger)
      : WEBASSEMBLY.test(modulePath)
        ? await importWasm(resolve(options.baseDir, modulePath), fail)
        : await importModule(resolve(options.baseDir, modulePath), fail);
  } else if (explicitName !== undefined) {
    found = builtin(explicitName, 'name');
  } else {
    return fail(`a plugin needs a "path" (a JS/TS plugin module or a .py file), a "command" (a program speaking docs/plugin-protocol.md) or a "plugin" (a built-in: ${Object.keys(builtins).join(', ')})`);
  }

  const name = explicitName ?? found.defaultName;
  const { factory, origin } = found;
  return {
    name,
    origin,
    settings,
    factory,
    create(context) {
      let operator: unknown;
      try {
        operator = factory(settings, { ...context, name, logger: context.logger.child({ plugin: name }) });
      } catch (error) {
        if (isConfigError(error)) return fail(stripPrefix(error), error.path, error);
        return fail(`plugin ${name} failed to start: ${describeError(error)}`, undefined, error);
      }
      if (typeof operator !== 'function') return fail(`plugin ${name}: the factory returned ${typeof operator}, not an operator function`);
      return operator as PluginOperator;
    },
  };
}

/**
 * Loads every entry of the config's `plugins` array, in order, and checks that instance names
 * are unique (they label metrics and logs). `options.field` is the array's path (default `plugins`).
 *
 * @throws ConfigError at `plugins[i]…` for the first entry that fails, or at `plugins[i].name`
 *   for a name already in use.
 */
export async function loadPlugins(entries: readonly unknown[], options: LoadPluginOptions): Promise<LoadedPlugin[]> {
  const field = options.field ?? 'plugins';
  const loaded: LoadedPlugin[] = [];
  const seen = new Map<string, number>();
  for (const [index, entry] of entries.entries()) {
    const plugin = await loadPlugin(entry, { ...options, field: `${field}[${index}]` });
    const previous = seen.get(plugin.name);
    if (previous !== undefined) {
      throw new ConfigError(
        `plugin name "${plugin.name}" is already used by ${field}[${previous}]; give each instance its own "name"`,
        { path: `${field}[${index}].name`, ...(options.file === undefined ? {} : { file: options.file }) },
      );
    }
    seen.set(plugin.name, index);
    loaded.push(plugin);
  }
  return loaded;
}

function nativeLibrary(
  modulePath: string,
  builtin: (id: string, key: string) => { factory: PluginFactory; origin: string; defaultName: string },
  fail: (message: string, key?: string) => never,
  logger: Logger | undefined,
) {
  const original = /^lib(\w+?)_plugin\./.exec(basename(modulePath))?.[1];
  const id = original === undefined ? undefined : ORIGINAL_PLUGINS[original];
  if (id === undefined) {
    return fail(
      `"${modulePath}" is a native library (the original's Rust plugins); Makai cannot load Rust dylibs. ` +
        'Write the plugin as a JavaScript or TypeScript module whose default export is a factory ' +
        '(`export default definePlugin((settings, context) => (measurements) => requests)`) and point "path" at it, ' +
        `or use a built-in with "plugin": ${Object.keys(ORIGINAL_PLUGINS).map((n) => `"${n}"`).join(' or ')}.`,
      'path',
    );
  }
  logger?.info(`plugin path "${modulePath}" is the original Rust plugin; using the built-in "${id}" instead`, { path: modulePath, plugin: id });
  return builtin(id, 'path');
}

async function importModule(file: string, fail: (message: string, key?: string, cause?: unknown) => never) {
  try {
    if (!(await stat(file)).isFile()) fail(`plugin module ${file} is not a file`, 'path');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    fail(`plugin module ${file} does not exist`, 'path', error);
  }
  let namespace: Record<string, unknown>;
  try {
    // TypeScript is imported as ESM with 'makai' resolving to this copy; plain JS as Node reads it (CommonJS too).
    namespace = TYPESCRIPT.test(extname(file)) ? await importTypeScript(moduleUrl(file)) : (resolveMakaiToThisCopy(), await import(pathToFileURL(file).href));
  } catch (error) {
    return fail(`could not load plugin module ${file}: ${describeError(error)}`, 'path', error);
  }
  let factory: unknown = namespace['default'];
  // A module compiled to CommonJS with `export default` arrives as { default: { default: f } }.
  if (typeof factory === 'object' && factory !== null && typeof (factory as { default?: unknown }).default === 'function') {
    factory = (factory as { default: unknown }).default;
  }
  if (factory === undefined) {
    return fail(`plugin module ${file} has no default export; export the factory with \`export default definePlugin(...)\``, 'path');
  }
  if (typeof factory !== 'function') {
    return fail(`the default export of plugin module ${file} is ${factory === null ? 'null' : typeof factory}, not a plugin factory function`, 'path');
  }
  return { factory: factory as PluginFactory, origin: file, defaultName: basename(file).replace(/\.[^.]+$/, '') };
}

async function importWasm(file: string, fail: (message: string, key?: string, cause?: unknown) => never) {
  try {
    if (!(await stat(file)).isFile()) fail(`WebAssembly plugin ${file} is not a file`, 'path');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    fail(`WebAssembly plugin ${file} does not exist`, 'path', error);
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    return fail(`could not read WebAssembly plugin ${file}: ${describeError(error)}`, 'path', error);
  }
  try {
    return { factory: loadWasmPlugin(bytes), origin: file, defaultName: basename(file).replace(/\.wasm$/i, '') };
  } catch (error) {
    return fail(`WebAssembly plugin ${file} ${error instanceof Error ? error.message : String(error)}`, 'path', error);
  }
}

/**
 * tsx's module hooks are process-wide: they are registered once per process, lazily, on the
 * first TypeScript plugin, for ESM and CommonJS (a `.ts` file outside a `"type": "module"`
 * package is CommonJS to Node). Not in a tsx namespace: a namespaced import would give the
 * plugin its own copies of every module it imports (rxjs, our errors).
 */
const typescriptSupport: { registered?: Promise<void> } = {};

async function importTypeScript(url: string): Promise<Record<string, unknown>> {
  typescriptSupport.registered ??= Promise.all([import('tsx/cjs/api'), import('tsx/esm/api')]).then(([cjs, esm]) => {
    cjs.register();
    esm.register();
  });
  await typescriptSupport.registered;
  return (await import(url)) as Record<string, unknown>;
}


/** The message of a ConfigError without its `file: path: ` prefix, so it can be re-anchored. */
function stripPrefix(error: Pick<ConfigError, 'file' | 'path' | 'message'>): string {
  const prefix = [error.file, error.path].filter(Boolean).join(': ');
  return prefix && error.message.startsWith(`${prefix}: `) ? error.message.slice(prefix.length + 2) : error.message;
}
