import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * The contract of a `makai` subcommand. Each lives in `src/cli/commands/<name>.ts`, exports a
 * `command` of this type, and is listed (with its one-line summary) in `src/cli/command-index.ts`.
 * Commands parse their own argv (with {@link parseCommandArgs}) and return an exit code; they
 * write results to `io.out` and diagnostics to `io.err`.
 */
export interface CliCommand {
  /** Full usage text for `makai <name> --help`, also printed after a usage error. */
  readonly usage: string;
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Resolves when the user asks the command to stop (SIGINT/SIGTERM). */
  readonly stopRequested: Promise<NodeJS.Signals>;
}

/** A usage error: main prints the message and the command's usage, and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * `node:util` `parseArgs`, strict, except that what it refuses (an unknown option, a missing
 * value, a value given to a flag) is a {@link UsageError}: exit 2 with the usage, not a TypeError.
 */
export function parseCommandArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    if (isParseArgsError(error)) throw new UsageError(parseArgsMessage(error.message));
    throw error;
  }
}

/** True for the TypeErrors `parseArgs` throws (code `ERR_PARSE_ARGS_*`). */
export function isParseArgsError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** parseArgs' message up to its first sentence: `Unknown option '--bogus'` without the advice on `--`. */
export function parseArgsMessage(message: string): string {
  return message.split(/\. (?=To specify)/)[0]!.trim();
}

/**
 * What a user reads of a failure: the message (ours name the file, field or endpoint), never
 * the class name or a stack trace. `MAKAI_DEBUG=1` adds the stack, for bug reports.
 */
export function userMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const message = error.message || error.name;
  return process.env['MAKAI_DEBUG'] && error.stack ? `${message}\n${error.stack}` : message;
}
