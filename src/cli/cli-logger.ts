import { createJsonLogger, type LogLevel, type Logger } from '../core/logger.js';
import { UsageError } from './command.js';
import { prettyLogLine } from './pretty-log-line.js';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** How log lines look: `json` (one JSON object a line, pino's field names) or `pretty` (for people). */
export type LogFormat = 'json' | 'pretty';

/**
 * The process logger, on stderr: human-readable lines on a terminal, JSON lines otherwise (a
 * file, a pipe, journald, a container log), or as `MAKAI_LOG_FORMAT=json|pretty` says. Level from
 * `--log-level` or `MAKAI_LOG_LEVEL`; per-component levels from `MAKAI_LOG_<COMPONENT>` (e.g.
 * `MAKAI_LOG_RUNTIME=debug`, where the component `broker.acquisition` is spelt
 * `BROKER_ACQUISITION`). Colours on a terminal unless `NO_COLOR` is set.
 *
 * @throws UsageError for an unknown level or format.
 */
export function createCliLogger(
  level: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  terminal: boolean = process.stderr.isTTY === true,
  write?: (line: string) => void,
): Logger {
  const chosen = level ?? env['MAKAI_LOG_LEVEL'] ?? 'info';
  if (!LEVELS.includes(chosen as LogLevel)) throw new UsageError(`unknown log level "${chosen}" (use ${LEVELS.join(', ')})`);
  const levels: Record<string, LogLevel> = {};
  for (const [key, value] of Object.entries(env)) {
    const match = /^MAKAI_LOG_(.+)$/.exec(key);
    if (match && match[1] !== 'LEVEL' && match[1] !== 'FORMAT' && value && LEVELS.includes(value as LogLevel)) {
      levels[match[1]!.toLowerCase().replaceAll('_', '.')] = value as LogLevel;
    }
  }
  const format = logFormat(env['MAKAI_LOG_FORMAT'], terminal);
  const color = terminal && !env['NO_COLOR'];
  return createJsonLogger({
    level: chosen as LogLevel,
    levels,
    now: Date.now,
    ...(write ? { write } : {}),
    ...(format === 'pretty' ? { format: (record) => prettyLogLine(record, { color }) } : {}),
  });
}

function logFormat(text: string | undefined, terminal: boolean): LogFormat {
  if (text === undefined || text === '') return terminal ? 'pretty' : 'json';
  if (text === 'json' || text === 'pretty') return text;
  throw new UsageError(`MAKAI_LOG_FORMAT must be json or pretty, got "${text}"`);
}
