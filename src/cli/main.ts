#!/usr/bin/env -S node --max-semi-space-size=4 --optimize-for-size --single-threaded-gc --v8-pool-size=1
// Node flags for a long-running daemon on a small machine (docs/benchmarks.md, "Cost per message"):
// --max-semi-space-size=4: under a steady stream V8 grows the young generation to 32 MB, all of it
//   resident; capped at 8 MB the RSS is 12 MB lower at 1,000 msg/s and 19 MB at 10,000.
// --optimize-for-size: smaller heap growth steps and caches: 13 MB less at 1,000 msg/s.
// --single-threaded-gc --v8-pool-size=1: no GC helper threads and one background thread for V8,
//   instead of four woken for every collection on a 2-core box where libzmq's I/O thread and the
//   SQLite writer already want the second core.
// Together: no measurable CPU change at 1,000 msg/s, about 8 % more at 10,000. `npm start`
// passes the same flags.
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeError } from '../core/errors.js';
import { COMMANDS } from './command-index.js';
import { isParseArgsError, parseArgsMessage, UsageError, userMessage, type CliCommand, type CliIo } from './command.js';

function mainUsage(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((name) => name.length));
  return [
    'makai: reactive stream processing for OPQ power-quality sensor networks',
    '',
    'Usage: makai <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`),
    '',
    'Run `makai <command> --help` for the options of one command, `makai --version` for the version.',
    'Exit codes: 0 success, 1 the command failed, 2 a usage error (the usage is printed).',
  ].join('\n');
}

/** The version in package.json (two levels up from both `src/cli/` and `dist/cli/`). */
function version(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit code: 0 when the
 * command succeeded, 1 when it failed at run time (one line naming what, no class name or stack
 * trace), 2 for a usage error (the message, then the command's usage).
 *
 * @param hooks.beforeRun Runs after the command is loaded, before it runs (not for `--help`):
 *   the process entry point installs its rxjs error reporting there.
 */
export async function main(argv: readonly string[], io: CliIo, hooks: { readonly beforeRun?: () => Promise<void> } = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(`makai ${version()}`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.out(mainUsage());
    return name === undefined ? 2 : 0;
  }
  if (name === 'help') return main([rest[0]!, '--help'], io);
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    io.err(`makai: unknown command "${name}". Run \`makai --help\` for the list.`);
    return 2;
  }
  let command: CliCommand;
  try {
    ({ command } = await entry.load());
  } catch (error) {
    io.err(`makai ${name}: cannot load the command: ${userMessage(error)}`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return 0;
  }
  try {
    await hooks.beforeRun?.();
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`makai ${name}: ${parseArgsMessage((error as Error).message)}\n\n${command.usage}`);
      return 2;
    }
    io.err(`makai ${name}: ${userMessage(error)}`);
    return 1;
  }
}

/**
 * An error thrown inside a subscriber callback escapes rxjs's error channel and would be rethrown
 * from a timer, killing the process (e.g. a plugin's own `subscribe(next)` that throws). Log it
 * instead: one misbehaving component must not take the service down.
 */
async function reportUnhandledRxjsErrors(): Promise<void> {
  // Imported here, not at the top: rxjs alone takes ~150 ms to load, and `makai --help` needs none of it.
  const { config: rxjsConfig } = await import('rxjs');
  rxjsConfig.onUnhandledError = (error: unknown) => {
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'unhandled error in a stream callback', error: describeError(error) }) + '\n');
  };
}

/** The process's io, and `release()` to give SIGINT/SIGTERM back their default (exit) once the command is done. */
function processIo(): CliIo & { release(): void } {
  // `makai events export … | head` closes stdout early: that ends the output, it is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const handlers: [NodeJS.Signals, () => void][] = [];
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = (): void => resolve(signal);
      handlers.push([signal, handler]);
      process.once(signal, handler);
    }
  });
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
    stopRequested,
    release: () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}

/** How long a finished command may leave the process alive before it is ended anyway. */
const EXIT_GRACE_MS = 2000;

/**
 * Every command closes what it opened, so the process ends when `main` returns. Should a bug
 * leave a handle open (a timer, a socket), a finished command, above all one that failed on
 * a config error, must still end the process rather than live on with nothing to do: after a
 * grace period (an unref'd timer, so it never delays a clean exit) say so and exit.
 */
function exitEvenIfSomethingIsLeftOpen(): void {
  setTimeout(() => {
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: 'the command finished but something was left open; exiting anyway', exitCode: process.exitCode }) + '\n');
    process.exit();
  }, EXIT_GRACE_MS).unref();
}

/** True when this file is the program (also through the `node_modules/.bin/makai` symlink), false when imported. */
function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  const io = processIo();
  process.exitCode = await main(process.argv.slice(2), io, { beforeRun: reportUnhandledRxjsErrors });
  io.release();
  exitEvenIfSomethingIsLeftOpen();
}
