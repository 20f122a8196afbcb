import { parseDuration } from '../core/duration.js';
import { UsageError } from './command.js';

/**
 * A `--from`/`--to` value: ISO-8601 (`2026-12-03T14:00:00Z`), ms since the epoch
 * (`1764770400000`), `now`, or relative to now (`-24h`, `-90m`, `-PT1H`).
 *
 * @param nowMs The wall clock, for relative times (the CLI's to read; operators never do).
 * @throws UsageError naming the flag.
 */
export function parseReplayTime(text: string, flag: string, nowMs: number): number {
  const value = text.trim();
  if (value === 'now') return nowMs;
  if (/^\d+$/.test(value)) return Number(value);
  if (value.startsWith('-')) {
    const parsed = parseDuration(value.slice(1));
    if ('error' in parsed) throw new UsageError(`${flag}: ${parsed.error}`);
    return nowMs - parsed.ms;
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${flag}: "${text}" is not a time (use ISO-8601, ms since the epoch, "now" or relative like "-24h")`);
  return ms;
}
