/** ANSI colours of the level names (bold red for errors, yellow warnings, dim debug). */
const LEVEL_COLOR: Readonly<Record<string, string>> = { error: '\x1b[1;31m', warn: '\x1b[33m', info: '\x1b[32m', debug: '\x1b[2m' };
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

/**
 * A log record as one line for a person at a terminal:
 * `10:04:05.123 WARN  broker.acquisition  box refused  box=3 reason="unknown key"`.
 * The time is local (hh:mm:ss.mmm), the component (when bound) leads, the other fields follow
 * as key=value with strings quoted only when they hold spaces or quotes, objects as JSON.
 */
export function prettyLogLine(record: Readonly<Record<string, unknown>>, options: { readonly color: boolean }): string {
  const { time, level, msg, component, ...fields } = record;
  const name = String(level ?? 'info');
  const paint = (code: string | undefined, text: string) => (options.color && code ? `${code}${text}${RESET}` : text);
  const parts = [paint(DIM, clock(time)), paint(LEVEL_COLOR[name], name.toUpperCase().padEnd(5))];
  if (typeof component === 'string') parts.push(paint(DIM, component));
  parts.push(String(msg ?? ''));
  const rest = Object.entries(fields).map(([key, value]) => `${key}=${fieldText(value)}`);
  return rest.length > 0 ? `${parts.join(' ')}  ${paint(DIM, rest.join(' '))}` : parts.join(' ');
}

function clock(time: unknown): string {
  const date = new Date(typeof time === 'string' || typeof time === 'number' ? time : Number.NaN);
  if (Number.isNaN(date.getTime())) return String(time);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value) ?? String(value);
}
