import { createJsonLogger, type LogLevel, type Logger } from '../core/logger.js';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * The process logger: JSON lines on stderr. Level from `--log-level` or `MAKAI_LOG_LEVEL`;
 * per-component levels from `MAKAI_LOG_<COMPONENT>` (e.g. `MAKAI_LOG_RUNTIME=debug`, where the
 * component `broker.acquisition` is spelt `BROKER_ACQUISITION`).
 */
export function createCliLogger(level: string | undefined, env: NodeJS.ProcessEnv = process.env): Logger {
  const chosen = level ?? env['MAKAI_LOG_LEVEL'] ?? 'info';
  if (!LEVELS.includes(chosen as LogLevel)) throw new Error(`unknown log level "${chosen}" (use ${LEVELS.join(', ')})`);
  const levels: Record<string, LogLevel> = {};
  for (const [key, value] of Object.entries(env)) {
    const match = /^MAKAI_LOG_(.+)$/.exec(key);
    if (match && match[1] !== 'LEVEL' && value && LEVELS.includes(value as LogLevel)) {
      levels[match[1]!.toLowerCase().replaceAll('_', '.')] = value as LogLevel;
    }
  }
  return createJsonLogger({ level: chosen as LogLevel, levels, now: Date.now });
}
