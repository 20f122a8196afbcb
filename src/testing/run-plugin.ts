import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import { silentLogger, type Logger } from '../core/logger.js';
import { loadPlugin } from '../plugins/plugin-loader.js';
import { emptyBoxDirectory, type BoxDirectory, type EventRequest, type Measurement, type PluginSettings } from '../plugins/plugin.js';

/** Options of {@link runPlugin}. */
export interface RunPluginOptions {
  /** What a relative `path` in the entry is resolved against (the test's folder: `import.meta.dirname`). */
  readonly baseDir: string;
  /** The box registry the plugin sees; none by default. */
  readonly boxes?: BoxDirectory;
  /** Where the plugin's log lines go; nowhere by default. */
  readonly logger?: Logger;
}

/**
 * Loads a plugin entry as `makai run` does (a TypeScript module, a `.wasm` file, a built-in)
 * and runs `measurements` through it on the real scheduler, for a plugin's own test in any
 * language. It resolves with every request, in order, once the plugin has completed.
 *
 * ```ts
 * const requests = await runPlugin({ path: 'my-plugin.wasm', minMessages: 2 }, measurements, { baseDir: import.meta.dirname });
 * ```
 *
 * @throws ConfigError (the promise rejects) when the entry or its settings are refused.
 */
export async function runPlugin(entry: PluginSettings, measurements: Iterable<Measurement>, options: RunPluginOptions): Promise<EventRequest[]> {
  const loaded = await loadPlugin(entry, { baseDir: options.baseDir });
  const operator = loaded.create({ logger: options.logger ?? silentLogger, scheduler: asyncScheduler, boxes: options.boxes ?? emptyBoxDirectory });
  return lastValueFrom(from(measurements).pipe(operator, toArray()));
}
