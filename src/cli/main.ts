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
  replay: () => import('./commands/replay.js'),
  test: () => import('./commands/test.js'),
  shadow: () => import('./commands/shadow.js'),
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

function processIo(): CliIo {
  // `makai events export … | head` closes stdout early: that ends the output, it is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
    stopRequested,
  };
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
  process.exitCode = await main(process.argv.slice(2), processIo());
}
