/**
 * The logging contract. Components receive a {@link Logger} through their dependencies and
 * derive a child with their own bindings (`{ component: 'sink.measurements' }`); only the
 * composition root (`src/cli/`) creates a real one. Operators do not log: they emit or count.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** One written log record, as the JSON logger serialises it and the recording logger keeps it. */
export interface LogRecord extends Record<string, unknown> {
  level: Exclude<LogLevel, 'silent'>;
  msg: string;
}

export interface JsonLoggerOptions {
  /** Minimum level for every component without its own entry in `levels`. */
  readonly level?: LogLevel;
  /** Per-component minimum levels, keyed by the `component` binding (e.g. `broker.acquisition`). */
  readonly levels?: Readonly<Record<string, LogLevel>>;
  /** Where lines go; defaults to stderr so stdout stays free for command output. */
  readonly write?: (line: string) => void;
  /** Clock for the `time` field; the CLI passes the wall clock. */
  readonly now: () => number;
  /**
   * Turns a record (`time` as ISO 8601, `level`, the bindings, `msg`, the fields, in that order)
   * into the line written; JSON by default. The CLI passes a human-readable one on a terminal.
   */
  readonly format?: (record: Readonly<Record<string, unknown>>) => string;
}

/** Field names whose values are never written, whatever component logs them. */
const SECRET_FIELDS = /secret|password|private/i;

function redact(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = SECRET_FIELDS.test(key) ? '[redacted]' : value instanceof Error ? value.message : value;
  }
  return out;
}

/**
 * Structured JSON-lines logger with per-component levels (the `MONGODB_LOG_<COMPONENT>` idea).
 * Fields whose names look like secrets are redacted. The field names are pino's (`time`,
 * `level`, `msg`), so pino tooling (pino-pretty, log shippers' pino parsers) reads the lines;
 * `level` is the name (`info`), not pino's number.
 */
export function createJsonLogger(options: JsonLoggerOptions, bindings: LogFields = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const format = options.format ?? JSON.stringify;
  const component = typeof bindings['component'] === 'string' ? bindings['component'] : undefined;
  const threshold = RANK[(component && options.levels?.[component]) || options.level || 'info'];
  const emit = (level: Exclude<LogLevel, 'silent'>) => (msg: string, fields: LogFields = {}) => {
    if (RANK[level] < threshold) return;
    write(format({ time: new Date(options.now()).toISOString(), level, ...redact(bindings), msg, ...redact(fields) }));
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (more) => createJsonLogger(options, { ...bindings, ...more }),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** A logger that keeps every record in memory, for tests that assert on what was logged. */
export class RecordingLogger implements Logger {
  readonly records: LogRecord[];
  private readonly bindings: LogFields;
  constructor(records: LogRecord[] = [], bindings: LogFields = {}) {
    this.records = records;
    this.bindings = bindings;
  }
  debug(msg: string, fields?: LogFields) { this.push('debug', msg, fields); }
  info(msg: string, fields?: LogFields) { this.push('info', msg, fields); }
  warn(msg: string, fields?: LogFields) { this.push('warn', msg, fields); }
  error(msg: string, fields?: LogFields) { this.push('error', msg, fields); }
  child(bindings: LogFields): RecordingLogger {
    return new RecordingLogger(this.records, { ...this.bindings, ...bindings });
  }
  private push(level: LogRecord['level'], msg: string, fields: LogFields = {}) {
    this.records.push({ ...redact(this.bindings), ...redact(fields), level, msg });
  }
}
