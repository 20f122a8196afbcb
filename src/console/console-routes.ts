import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { SchedulerLike } from 'rxjs';
import type { Logger } from '../core/logger.js';
import type { Store } from '../stores/store.js';
import { eventView } from './event-view.js';
import { startLiveFeed, type LiveFeed } from './live-feed.js';

/** Handles one request if it is the console's; resolves false to let the server answer 404. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

export interface ConsoleOptions {
  readonly store: Store;
  readonly logger: Logger;
  /** The service's health report (plugin status, queues), shown on the console's status panel. */
  readonly health?: () => Promise<unknown>;
  readonly scheduler?: SchedulerLike;
  /** How often the live view reads new measurements (default 1000 ms). */
  readonly liveEveryMs?: number;
}

/** The console's routes, and what to stop when the server closes. */
export interface ConsoleRoutes {
  readonly handle: RouteHandler;
  close(): void;
}

/** The page and its script, shipped in the package's `web/` folder (no CDN). */
const WEB = fileURLToPath(new URL('../../web/', import.meta.url));
const require = createRequire(import.meta.url);
/** Assets by URL path: file and content type. uPlot comes from its npm package. */
const ASSETS: Readonly<Record<string, readonly [file: string, type: string]>> = {
  '/': [`${WEB}index.html`, 'text/html; charset=utf-8'],
  '/console/app.js': [`${WEB}app.js`, 'text/javascript; charset=utf-8'],
  '/console/app.css': [`${WEB}app.css`, 'text/css; charset=utf-8'],
  '/console/uplot.js': [require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
  '/console/uplot.css': [require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
};

/**
 * The web console, read-only, over the service's store: the page and its assets, and a JSON
 * API — `/api/boxes` (registry, last status), `/api/live` (server-sent events: new
 * measurements each second), `/api/trends?box=1,2&from=&to=`, `/api/events`,
 * `/api/events/<id>` (waveforms in volts and the RMS envelope) and `/api/status` (health).
 * Nothing it serves changes anything.
 */
export function consoleRoutes(options: ConsoleOptions): ConsoleRoutes {
  const { store } = options;
  const feeds = new Set<() => void>();
  let live: LiveFeed | undefined;
  const liveFeed = () =>
    (live ??= startLiveFeed({
      store,
      logger: options.logger,
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      ...(options.liveEveryMs ? { everyMs: options.liveEveryMs } : {}),
    }));

  const handle: RouteHandler = async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://console');
    const path = url.pathname;
    if (request.method !== 'GET') return false;
    const asset = ASSETS[path];
    if (asset) {
      response.writeHead(200, { 'content-type': asset[1], 'cache-control': 'no-cache' });
      response.end(await readFile(asset[0]));
      return true;
    }
    if (path === '/api/boxes') {
      const [boxes, statuses] = await Promise.all([store.listBoxes(), store.listBoxStatus()]);
      const statusOf = new Map(statuses.map((status) => [status.box_id, status]));
      const ids = [...new Set([...boxes.map((b) => b.box_id), ...statuses.map((s) => s.box_id)])].sort((a, b) => Number(a) - Number(b));
      const byId = new Map(boxes.map((box) => [box.box_id, box]));
      return json(response, ids.map((id) => ({ box_id: id, location: byId.get(id)?.location, status: statusOf.get(id) })));
    }
    if (path === '/api/live') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      response.write(': makai live measurements\n\n');
      const stop = await liveFeed().watch((points) => response.write(`data: ${JSON.stringify(points)}\n\n`));
      feeds.add(stop);
      request.once('close', () => {
        stop();
        feeds.delete(stop);
      });
      return true;
    }
    if (path === '/api/trends') {
      const boxes = (url.searchParams.get('box') ?? '').split(',').filter((b) => /^\d+$/.test(b));
      const fromMs = numberParam(url, 'from');
      const toMs = numberParam(url, 'to');
      const series = await Promise.all(
        boxes.map(async (box) => ({
          box_id: box,
          trends: await store.queryTrends({ box_id: box, ...(fromMs === undefined ? {} : { fromMs }), ...(toMs === undefined ? {} : { toMs }), limit: 100_000 }),
        })),
      );
      return json(response, series);
    }
    if (path === '/api/events') return json(response, await store.listEvents({ limit: Math.min(numberParam(url, 'limit') ?? 100, 1000) }));
    const event = /^\/api\/events\/(\d+)$/.exec(path);
    if (event) {
      const view = await eventView(store, Number(event[1]));
      return view ? json(response, view) : json(response, { error: `no event ${event[1]}` }, 404);
    }
    if (path === '/api/status') return json(response, options.health ? await options.health() : {});
    return false;
  };

  return {
    handle,
    close() {
      for (const stop of feeds) stop();
      feeds.clear();
      live?.close();
    },
  };
}

function json(response: ServerResponse, body: unknown, status = 200): true {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
  response.end(JSON.stringify(body));
  return true;
}

function numberParam(url: URL, name: string): number | undefined {
  const value = url.searchParams.get(name);
  if (value === null || value === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}
