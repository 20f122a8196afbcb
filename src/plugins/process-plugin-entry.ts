import { stat } from 'node:fs/promises';
import { basename, isAbsolute, resolve } from 'node:path';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { z } from 'zod';
import { duration, wholeNumber } from '../config/zod-fields.js';
import { ConfigError, describeError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { LengthDelimitedFrames } from './length-delimited-frames.js';
import { parsePluginSettings } from './parse-plugin-settings.js';
import { PLUGIN_PROTOCOL_VERSION, decodePluginMessage, encodeHostFrame } from './plugin-protocol-codec.js';
import type { PluginFactory, PluginSettings } from './plugin.js';
import { processPlugin, processPluginSettings, startPluginProcess, type ProcessPluginSpec, type ProcessPluginTuning } from './process-plugin.js';

/** The `process` object of an out-of-process plugin entry (all optional; see {@link ProcessPluginTuning}). */
export const processTuningSchema = z
  .object({
    heartbeatIntervalMs: duration({ min: '1ms', max: '1h' }).optional(),
    heartbeatTimeoutMs: duration({ min: '1ms', max: '1d' }).optional(),
    startTimeoutMs: duration({ min: '1ms', max: '1h' }).optional(),
    maxBatch: wholeNumber({ min: 1, max: 100_000 }).optional(),
    maxInFlight: wholeNumber({ min: 1, max: 10_000 }).optional(),
    maxQueue: wholeNumber({ min: 1, max: 1_000_000 }).optional(),
  })
  .strict();

/** Reports a problem at a key of the entry (re-anchored by the loader: `plugins[2].command`). */
type Fail = (message: string, key?: string, cause?: unknown) => never;

/**
 * True for an entry the loader runs as a separate program: it has a `command`, or its `path` is
 * a Python file (`.py`).
 */
export function isProcessPluginEntry(settings: PluginSettings): boolean {
  const path = settings['path'];
  return settings['command'] !== undefined || (typeof path === 'string' && /\.py$/i.test(path));
}

/**
 * Resolves an out-of-process plugin entry to its factory (docs/plugin-protocol.md):
 *
 * - `"command": ["python3", "-m", "my_plugin"]`: the program and its arguments. A program with a
 *   `/` in it (`./bin/plugin`, `.venv/bin/python`) is relative to `baseDir`; without one it is
 *   looked up on `PATH`. The plugin runs in `baseDir`.
 * - `"path": "sag.py"`: a Python file, relative to `baseDir`, run by the interpreter named in the
 *   `MAKAI_PYTHON` environment variable, else `python3`.
 * - `"process": { heartbeatIntervalMs, heartbeatTimeoutMs, startTimeoutMs, maxBatch, maxInFlight, maxQueue }`:
 *   optional limits.
 *
 * The program is started once here and sent the handshake, so that a program that cannot run,
 * speaks another protocol version, or refuses its settings fails at start-up (and in
 * `makai validate`) with a ConfigError at the entry, as a TS plugin's factory would; then it is
 * killed. The service starts its own process per subscription.
 *
 * @param settings The entry.
 * @param options `baseDir`, the instance name (or undefined), and the loader's `fail`.
 * @returns The factory, its origin (the command line, for logs), and the default instance name.
 */
export async function loadProcessPlugin(
  settings: PluginSettings,
  options: { readonly baseDir: string; readonly name: string | undefined; readonly fail: Fail; readonly scheduler?: SchedulerLike },
): Promise<{ factory: PluginFactory; origin: string; defaultName: string }> {
  const { baseDir, fail } = options;
  const spec = await processSpec(settings, baseDir, fail);
  let tuning: ProcessPluginTuning = {};
  if (settings['process'] !== undefined) {
    try {
      tuning = parsePluginSettings(processTuningSchema, settings['process'] as PluginSettings) as ProcessPluginTuning;
    } catch (error) {
      const { path, message } = error as ConfigError;
      return fail(path && message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message, path ? `process.${path}` : 'process', error);
    }
  }
  const key = settings['command'] !== undefined ? 'command' : 'path';
  const defaultName = basename(spec.command[spec.command.length - 1] as string).replace(/\.[^.]+$/, '');
  await probe(spec, settings, options.name ?? defaultName, tuning.startTimeoutMs ?? 30_000, options.scheduler ?? asyncScheduler, (message, path, cause) =>
    fail(message, path ?? key, cause),
  );
  return { factory: processPlugin(spec, tuning), origin: spec.command.join(' '), defaultName };
}

async function processSpec(settings: PluginSettings, baseDir: string, fail: Fail): Promise<ProcessPluginSpec> {
  const command = settings['command'];
  const path = settings['path'];
  if (command !== undefined) {
    if (path !== undefined) return fail('give either "command" (a program to run) or "path" (a module or a .py file), not both', 'command');
    if (!Array.isArray(command) || command.length === 0 || !command.every((part) => typeof part === 'string' && part !== '')) {
      return fail('must be a non-empty array of non-empty strings: the program and its arguments, e.g. ["python3", "-m", "my_plugin"]', 'command');
    }
    const [program, ...args] = command as string[];
    const resolved = program!.includes('/') && !isAbsolute(program!) ? resolve(baseDir, program!) : program!;
    return { command: [resolved, ...args], cwd: baseDir };
  }
  const file = resolve(baseDir, path as string);
  try {
    if (!(await stat(file)).isFile()) fail(`plugin file ${file} is not a file`, 'path');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    fail(`plugin file ${file} does not exist`, 'path', error);
  }
  return { command: [process.env['MAKAI_PYTHON'] || 'python3', file], cwd: baseDir };
}

/** Starts the program, sends the handshake, and waits for its reply; fails with the plugin's own words otherwise. */
function probe(
  spec: ProcessPluginSpec,
  settings: PluginSettings,
  name: string,
  startTimeoutMs: number,
  scheduler: SchedulerLike,
  fail: (message: string, path?: string, cause?: unknown) => never,
): Promise<void> {
  const child = startPluginProcess(spec, silentLogger);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  const lastWords = () => (stderr.trim() ? `; its stderr: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : '');
  return new Promise<void>((resolvePromise, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      timeout.unsubscribe();
      child.removeAllListeners('close');
      child.on('error', () => undefined);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      try {
        outcome();
        resolvePromise();
      } catch (error) {
        reject(error);
      }
    };
    const frames = new LengthDelimitedFrames();
    child.stdout.on('data', (chunk: Buffer) => {
      try {
        for (const frame of frames.push(chunk)) {
          const message = decodePluginMessage(frame);
          if (message.kind === 'handshake') {
            const version = message.protocolVersion;
            settle(() => {
              if (version !== PLUGIN_PROTOCOL_VERSION) fail(`plugin ${name} speaks protocol version ${version}; this Makai speaks ${PLUGIN_PROTOCOL_VERSION}`);
            });
          } else if (message.kind === 'error') {
            settle(() => (message.errorKind === 'SETTINGS' ? fail(message.message, message.path || undefined) : fail(`plugin ${name} refused to start: ${message.message}`)));
          } else {
            settle(() => fail(`plugin ${name} answered the handshake with "${message.kind}", not a handshake reply`));
          }
          return;
        }
      } catch (error) {
        settle(() => fail(`plugin ${name} wrote something that is not a plugin message to stdout: ${describeError(error)}`, undefined, error));
      }
    });
    child.on('error', (error) => settle(() => fail(`could not run plugin ${name} (${spec.command.join(' ')}): ${describeError(error)}`, undefined, error)));
    child.on('close', (code, signal) =>
      settle(() => fail(`plugin ${name} (${spec.command.join(' ')}) exited ${signal ? `on signal ${signal}` : `with code ${code}`} before answering the handshake${lastWords()}`)),
    );
    const timeout = scheduler.schedule(() => settle(() => fail(`plugin ${name} did not answer the handshake within ${startTimeoutMs} ms${lastWords()}`)), startTimeoutMs);
    child.stdin.write(
      encodeHostFrame({ handshake: { protocolVersion: PLUGIN_PROTOCOL_VERSION, pluginName: name, settingsJson: JSON.stringify(processPluginSettings(settings)) } }),
    );
  });
}
