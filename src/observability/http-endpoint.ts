import { parseListenAddress } from '../config/listen-address.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, ConnectionError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { HealthReport } from './health.js';

export interface ObservabilityServerOptions {
  /**
   * Where to listen: `host:port`, `[v6]:port`, or just `port` / `:port` for the loopback
   * interface (127.0.0.1). Port 0 picks a free port (read it from `url`). Expose it beyond the
   * machine only on purpose (`0.0.0.0:9090`): the metrics name boxes and endpoints.
   */
  readonly address: string;
  readonly metrics: Metrics;
  /** Makes the `/health` document; a rejection or a timeout answers 503 with the error. */
  readonly health: () => Promise<HealthReport>;
  readonly logger: Logger;
  /** Longest `/health` waits for `health()` (ms, default 5000). */
  readonly healthTimeoutMs?: number;
  /** Other pages (the web console): asked first for every path but `/metrics` and `/health`; false lets it 404. */
  readonly routes?: (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;
}

/** A running {@link startObservabilityServer}. */
export interface ObservabilityServer {
  /** Base URL to reach it, e.g. `http://127.0.0.1:43127` (a wildcard host is reached via loopback). */
  readonly url: string;
  /** Stops listening and closes open connections (keep-alive ones too); idempotent. */
  close(): Promise<void>;
}

/**
 * The HTTP endpoint of a service, on `node:http`:
 *
 * - `GET /metrics`: the service's Prometheus registry in the text exposition format;
 * - `GET /health`: the {@link HealthReport} as JSON, status 200 when it says `ok` or
 *   `degraded` (the service still serves: a load balancer should keep it), 503 when it says
 *   `error` or could not be made (then `{ "status": "error", "error": "…" }`);
 * - anything else: 404 (405 for another method on those two paths).
 *
 * Nothing a client sends can crash it: a failing handler answers 500 and is logged.
 *
 * @throws ConfigError (rejected) for an address that is not `host:port`.
 * @throws ConnectionError (rejected) when the address cannot be bound (in use, not local).
 */
export async function startObservabilityServer(options: ObservabilityServerOptions): Promise<ObservabilityServer> {
  const { host, port } = parseListenAddress(options.address);
  const logger = options.logger.child({ component: 'observability.http' });
  const healthTimeoutMs = options.healthTimeoutMs ?? 5000;

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error('request failed', { path: request.url, error: describeError(error) });
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/health') {
      if (options.routes && (await options.routes(request, response))) return;
      send(response, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /health\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      const text = await options.metrics.registry.metrics();
      send(response, 200, options.metrics.registry.contentType, text, request.method === 'HEAD');
      return;
    }
    const outcome = await settleWithin(options.health, healthTimeoutMs);
    const [status, body] =
      'report' in outcome
        ? [outcome.report.status === 'error' ? 503 : 200, outcome.report]
        : [503, { status: 'error', error: describeError(outcome.error) }];
    if ('error' in outcome) logger.warn('health check failed', { error: describeError(outcome.error) });
    send(response, status, 'application/json; charset=utf-8', JSON.stringify(body) + '\n', request.method === 'HEAD');
  }

  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(new ConnectionError('listen', options.address, { cause: error }));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (error) => logger.error('server error', { error: describeError(error) }));
  const bound = server.address() as AddressInfo;
  const url = `http://${urlHost(host)}:${bound.port}`;
  logger.info('observability endpoint listening', { url, metrics: `${url}/metrics`, health: `${url}/health` });

  let closing: Promise<void> | undefined;
  return {
    url,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function send(response: ServerResponse, status: number, contentType: string, body: string, headOnly = false): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  response.end(headOnly ? undefined : body);
}

/** `make()`'s report, or why there is none (its error, or no answer within `timeoutMs`). */
async function settleWithin(make: () => Promise<HealthReport>, timeoutMs: number): Promise<{ report: HealthReport } | { error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ error: unknown }>((resolve) => {
    timer = setTimeout(() => resolve({ error: new Error(`no health report within ${timeoutMs} ms`) }), timeoutMs);
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(make)
        .then(
          (report) => ({ report }),
          (error: unknown) => ({ error }),
        ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
