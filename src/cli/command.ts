/**
 * The contract of a `makai` subcommand. Each lives in `src/cli/commands/<name>.ts`, exports a
 * `command` of this type, and is listed in `src/cli/main.ts`. Commands parse their own argv
 * (with `node:util` `parseArgs`) and return an exit code; they write results to `io.out` and
 * diagnostics to `io.err`.
 */
export interface CliCommand {
  /** One line for `makai --help`. */
  readonly summary: string;
  /** Full usage text for `makai <name> --help`. */
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
