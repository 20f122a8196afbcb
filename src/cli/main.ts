#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { config as rxjsConfig } from 'rxjs';
import { ConfigError, describeError } from '../core/errors.js';
import { UsageError, type CliCommand, type CliIo } from './command.js';

/** Every subcommand, loaded only when used so `makai keys` does not load ZeroMQ or MongoDB. */
const COMMANDS: Readonly<Record<string, () => Promise<{ command: CliCommand }>>> = {
  keys: () => import('./commands/keys.js'),
  simulate: () => import('./commands/simulate.js'),
  run: () => import('./commands/run.js'),
  up: () => import('./commands/up.js'),
  validate: () => import('./commands/validate.js'),
  'trigger-broker': () => import('./commands/trigger-broker.js'),
  'acquisition-broker': () => import('./commands/acquisition-broker.js'),
  status: () => import('./commands/status.js'),
  deadletters: () => import('./commands/deadletters.js'),
  events: () => import('./commands/events.js'),
  trends: () => import('./commands/trends.js'),
  plugin: () => import('./commands/plugin.js'),
};

function mainUsage(summaries: readonly [string, string][]): string {
  const width = Math.max(...summaries.map(([name]) => name.length));
  return [
    'makai: reactive stream processing for OPQ power-quality sensor networks',
    '',
    'Usage: makai <command> [options]',
    '',
    'Commands:',
    ...summaries.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    'Run `makai <command> --help` for the options of one command.',
  ].join('\n');
}

/** Runs the CLI with `argv` (without `node` and the script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const summaries = await Promise.all(
      Object.entries(COMMANDS).map(async ([n, load]) => [n, (await load()).command.summary] as [string, string]),
    );
    io.out(mainUsage(summaries));
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.err(`makai: unknown command "${name}". Run \`makai --help\` for the list.`);
    return 2;
  }
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`makai ${name}: ${error.message}\n\n${command.usage}`);
      return 2;
    }
    // A config error is the user's to fix: its message names the file and field; no class name.
    io.err(`makai ${name}: ${error instanceof ConfigError ? error.message : describeError(error)}`);
    return 1;
  }
}

/**
 * An error thrown inside a subscriber callback escapes rxjs's error channel and would be rethrown
 * from a timer, killing the process (e.g. a plugin's own `subscribe(next)` that throws). Log it
 * instead: one misbehaving component must not take the service down.
 */
function reportUnhandledRxjsErrors(): void {
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
  reportUnhandledRxjsErrors();
  const io = processIo();
  process.exitCode = await main(process.argv.slice(2), io);
  io.release();
  exitEvenIfSomethingIsLeftOpen();
}
