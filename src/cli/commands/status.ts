import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { describeError } from '../../core/errors.js';
import type { BoxHealth, HealthReport, PluginHealth } from '../../observability/health.js';
import { parseCommandArgs, UsageError, type CliCommand } from '../command.js';
import { textTable } from '../text-table.js';

/** OPQ's health plugin listened on port 8080; `metrics_address: "127.0.0.1:8080"` matches this default. */
export const DEFAULT_STATUS_URL = 'http://127.0.0.1:8080';

const usage = `Usage: makai status [--url http://host:port] [options]

Asks a running service for its health (GET /health on the address its metrics_address setting,
or the observability address it was started with, names) and prints it: the store's status,
each plugin (running or restarting, restarts, queue, drops), each box with when it was last
heard from, queue depths and counters. \`makai up\` serves it on ${DEFAULT_STATUS_URL} by default.

Options:
  --url URL       the service's endpoint (default ${DEFAULT_STATUS_URL}; host:port is enough)
  --timeout MS    how long to wait for an answer (default 5000)
  --json          print the health report as JSON

Exits 0 when the service reports ok; 1 when it reports degraded (a plugin is failing) or an
error (its store cannot be reached), or cannot be reached itself.`;

/** `makai status`: a running service's health report, readable. */
export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs({
      args: [...argv],
      allowPositionals: true,
      options: { url: { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean' } },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const base = baseUrl(values.url ?? DEFAULT_STATUS_URL);
    const timeoutMs = Number(values.timeout ?? 5000);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError('--timeout must be a positive number of ms');
    const url = `${base}/health`;

    let response: { status: number; text: string };
    try {
      response = await getText(url, timeoutMs);
    } catch (error) {
      io.err(`makai status: cannot reach ${url}: ${reachError(error)}\n(is the service running with metrics_address, or another --url?)`);
      return 1;
    }
    const { text } = response;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      io.err(`makai status: ${url} answered ${response.status} with something that is not a health report (is it a Makai service?)`);
      return 1;
    }
    if (!isHealthReport(body)) {
      const error = typeof body === 'object' && body !== null && 'error' in body ? String((body as { error: unknown }).error) : `status ${response.status}`;
      io.err(`makai status: the service at ${base} could not make its health report: ${error}`);
      return 1;
    }
    io.out(values.json ? JSON.stringify(body, null, 2) : formatHealthReport(body, base));
    return body.status === 'ok' ? 0 : 1;
  },
};

/** A health report as the lines `makai status` prints. */
export function formatHealthReport(report: HealthReport, source: string): string {
  const lines: string[] = [];
  lines.push(`${report.service}: ${report.status.toUpperCase()}  (up ${duration(report.uptime_s)}, ${source}, at ${new Date(report.time_ms).toISOString()})`);
  const store = report.store;
  if (store.status === 'none') lines.push('store:    none');
  else {
    const where = [store.kind, store.location].filter(Boolean).join(' ');
    const detail = store.status === 'ok' ? `probe ${store.probe_ms ?? '?'} ms` : store.error ?? 'unknown error';
    lines.push(`store:    ${store.status}  ${where}  (${detail})`);
  }
  for (const problem of report.problems ?? []) lines.push(`problem:  ${problem}`);
  const queues = Object.entries(report.queues);
  lines.push(`queues:   ${queues.length === 0 ? 'none' : queues.map(([name, depth]) => `${name} ${depth}`).join(', ')}`);
  const c = report.counters;
  const reasons = Object.entries(c.rejected.by_reason).filter(([, n]) => n > 0);
  lines.push(
    `counters: ${c.measurements_in} measurements in, ${c.pongs_in} PONGs, ${c.rejected.total} rejected` +
      (reasons.length > 0 ? ` (${reasons.map(([reason, n]) => `${reason} ${n}`).join(', ')})` : ''),
  );
  // A service from before plugins were reported sends none.
  const plugins = report.plugins ?? [];
  if (plugins.length > 0) {
    lines.push('');
    lines.push(`plugins (${plugins.length}):`);
    lines.push(pluginTable(plugins));
  }
  lines.push('');
  if (report.boxes.length === 0) {
    lines.push('boxes:    none known yet');
  } else {
    lines.push(`boxes (${report.boxes.length}):`);
    lines.push(boxTable(report.boxes));
  }
  return lines.join('\n');
}

function pluginTable(plugins: readonly PluginHealth[]): string {
  const rows = plugins.map((p) => [p.plugin, p.state, String(p.restarts), String(p.consecutive_failures), String(p.queue_depth), String(p.dropped)]);
  return textTable(['plugin', 'state', 'restarts', 'failing', 'queue', 'dropped'], rows, new Set([2, 3, 4, 5]));
}

function boxTable(boxes: readonly BoxHealth[]): string {
  const time = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());
  const rows = boxes.map((b) => [
    b.box_id,
    b.last_seen_ago_s === undefined ? 'never' : `${duration(b.last_seen_ago_s)} ago`,
    time(b.last_measurement_ms),
    time(b.last_pong_ms),
    b.registered ? 'yes' : 'no',
  ]);
  return textTable(['box', 'last seen', 'last measurement (UTC)', 'last PONG (UTC)', 'registered'], rows, new Set([0]));
}

/** `3.2 s`, `4 min 5 s`, `2 h 3 min`, `3 d 4 h`. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.floor(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** `http://host:port` without a trailing slash; `host:port` alone gets `http://`. */
function baseUrl(text: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--url "${text}" is not a URL like ${DEFAULT_STATUS_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must be http:// or https://, got ${url.protocol}`);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '').replace(/\/health$/, '')}`;
}

/**
 * GET `url` on a connection of its own (no keep-alive pool, so a service that restarted is
 * never asked over a dead pooled socket), within `timeoutMs`.
 */
function getText(url: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const request = get(url, { agent: false, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/** Why the request failed, in words: `ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:8080)`. */
function reachError(error: unknown): string {
  if (!(error instanceof Error)) return describeError(error);
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' ? `${code} (${error.message})` : error.message;
}

function isHealthReport(body: unknown): body is HealthReport {
  if (typeof body !== 'object' || body === null) return false;
  const r = body as Partial<HealthReport>;
  return (
    typeof r.service === 'string' &&
    (r.status === 'ok' || r.status === 'degraded' || r.status === 'error') &&
    typeof r.store === 'object' &&
    Array.isArray(r.boxes) &&
    typeof r.queues === 'object' &&
    typeof r.counters === 'object'
  );
}
