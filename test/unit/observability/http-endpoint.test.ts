import assert from 'node:assert/strict';
import { request as httpRequest, Agent } from 'node:http';
import { createServer } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { ConnectionError } from '../../../src/core/errors.js';
import { RecordingLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/core/metrics.js';
import type { HealthReport } from '../../../src/observability/health.js';
import { parseListenAddress } from '../../../src/config/listen-address.js';
import { startObservabilityServer, type ObservabilityServer } from '../../../src/observability/http-endpoint.js';

function report(status: HealthReport['status']): HealthReport {
  return {
    service: 'test',
    status,
    time_ms: 2000,
    started_ms: 1000,
    uptime_s: 1,
    store: status === 'ok' ? { status: 'none' } : { status: 'error', error: 'database is locked' },
    boxes: [{ box_id: '1', last_measurement_ms: 1500, last_seen_ago_s: 0.5, registered: true }],
    queues: { 'store.measurements': 3 },
    counters: { measurements_in: 7, pongs_in: 0, rejected: { total: 0, by_reason: {}, by_source: {} }, totals: {} },
    plugins: [],
  };
}

describe('observability HTTP endpoint', () => {
  const open: ObservabilityServer[] = [];
  afterEach(async () => {
    for (const server of open.splice(0)) await server.close();
  });
  const start = async (health: () => Promise<HealthReport>, metrics = new Metrics(), logger = new RecordingLogger()) => {
    const server = await startObservabilityServer({ address: '127.0.0.1:0', metrics, health, logger, healthTimeoutMs: 200 });
    open.push(server);
    return server;
  };

  it('serves the registry as Prometheus text, with the counters as they move', async () => {
    const metrics = new Metrics();
    const counter = metrics.counter('makai_test_messages_total', 'test messages', ['socket']);
    const server = await start(async () => report('ok'), metrics);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);

    counter.inc({ socket: 'trigger' }, 3);
    let response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), metrics.registry.contentType);
    assert.match(response.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    assert.match(await response.text(), /^makai_test_messages_total\{socket="trigger"\} 3$/m);

    counter.inc({ socket: 'trigger' }, 2);
    response = await fetch(`${server.url}/metrics`);
    assert.match(await response.text(), /^makai_test_messages_total\{socket="trigger"\} 5$/m);
  });

  it('serves the health report as JSON: 200 when ok, 503 when it reports an error', async () => {
    let status: HealthReport['status'] = 'ok';
    const server = await start(async () => report(status));
    let response = await fetch(`${server.url}/health`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^application\/json/);
    assert.deepStrictEqual(await response.json(), report('ok'));

    status = 'error';
    response = await fetch(`${server.url}/health?verbose=1`);
    assert.equal(response.status, 503);
    assert.deepStrictEqual(await response.json(), report('error'));
  });

  it('answers 200 for a degraded service: it still serves, with the problems in the report', async () => {
    const server = await start(async () => ({ ...report('ok'), status: 'degraded', problems: ['plugin p: restarting'] }));
    const response = await fetch(`${server.url}/health`);
    assert.equal(response.status, 200);
    assert.deepStrictEqual(await response.json(), { ...report('ok'), status: 'degraded', problems: ['plugin p: restarting'] });
  });

  it('answers 503 with the message when the health check fails or does not answer, and keeps serving', async () => {
    const logger = new RecordingLogger();
    let mode: 'throw' | 'reject' | 'hang' = 'throw';
    const server = await start(
      () => {
        if (mode === 'throw') throw new Error('health exploded');
        if (mode === 'reject') return Promise.reject(new Error('store unreachable'));
        return new Promise<HealthReport>(() => undefined);
      },
      new Metrics(),
      logger,
    );
    let response = await fetch(`${server.url}/health`);
    assert.equal(response.status, 503);
    assert.deepStrictEqual(await response.json(), { status: 'error', error: 'Error: health exploded' });
    mode = 'reject';
    response = await fetch(`${server.url}/health`);
    assert.deepStrictEqual([response.status, await response.json()], [503, { status: 'error', error: 'Error: store unreachable' }]);
    mode = 'hang';
    response = await fetch(`${server.url}/health`);
    assert.equal(response.status, 503);
    assert.match(((await response.json()) as { error: string }).error, /no health report within 200 ms/);
    assert.equal(logger.records.filter((r) => r.msg === 'health check failed').length, 3);
    assert.equal((await fetch(`${server.url}/metrics`)).status, 200, 'still serving');
  });

  it('answers 404 elsewhere and 405 for other methods', async () => {
    const server = await start(async () => report('ok'));
    assert.equal((await fetch(`${server.url}/`)).status, 404);
    assert.equal((await fetch(`${server.url}/metricsx`)).status, 404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(`${server.url}/health`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  it('closes with a keep-alive connection still open, and stops answering', async () => {
    const server = await startObservabilityServer({ address: '0', metrics: new Metrics(), health: async () => report('ok'), logger: new RecordingLogger() });
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'a port alone binds loopback');
    const agent = new Agent({ keepAlive: true });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${server.url}/metrics`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
      // The agent keeps its socket open; close must not wait for it (nor for the keep-alive timeout).
      await server.close();
      await server.close();
      await assert.rejects(fetch(`${server.url}/metrics`));
    } finally {
      agent.destroy();
    }
  });

  it('refuses an address in use with a ConnectionError naming it', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      await assert.rejects(
        startObservabilityServer({ address: `127.0.0.1:${port}`, metrics: new Metrics(), health: async () => report('ok'), logger: new RecordingLogger() }),
        (error: unknown) => error instanceof ConnectionError && error.endpoint === `127.0.0.1:${port}` && /EADDRINUSE/.test(error.message),
      );
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('parses listen addresses, loopback by default', () => {
    assert.deepStrictEqual(parseListenAddress('9090'), { host: '127.0.0.1', port: 9090 });
    assert.deepStrictEqual(parseListenAddress(':9090'), { host: '127.0.0.1', port: 9090 });
    assert.deepStrictEqual(parseListenAddress('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 });
    assert.deepStrictEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
    assert.deepStrictEqual(parseListenAddress('[::1]:9090'), { host: '::1', port: 9090 });
    for (const bad of ['', 'host', 'host:', 'host:70000', 'http://host:90', '::1:9090', 'a b:90']) {
      assert.throws(() => parseListenAddress(bad), { name: 'ConfigError' }, bad);
    }
  });
});
