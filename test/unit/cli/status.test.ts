import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { command, duration } from '../../../src/cli/commands/status.js';
import { UsageError } from '../../../src/cli/command.js';
import { closedPort } from '../../helpers/mongodb.js';
import { captureIo } from './sag-event-fixture.js';

describe('makai status', () => {
  // A stand-in service: /health answers whatever the test sets.
  let server: Server;
  let url: string;
  let answer: { status: number; type: string; body: string } = { status: 200, type: 'text/plain', body: '' };
  before(async () => {
    server = createServer((_, res) => {
      res.writeHead(answer.status, { 'content-type': answer.type });
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('exits 1 with a clear message when nothing listens', async () => {
    const { io, out, err } = captureIo();
    const port = await closedPort();
    assert.equal(await command.run(['--url', `127.0.0.1:${port}`], io), 1);
    assert.deepEqual(out, []);
    assert.match(err.join('\n'), new RegExp(`^makai status: cannot reach http://127\\.0\\.0\\.1:${port}/health: ECONNREFUSED`));
  });

  it('exits 1 when the service could not make its report, or is not a Makai service', async () => {
    answer = { status: 503, type: 'application/json', body: JSON.stringify({ status: 'error', error: 'Error: no health report within 5000 ms' }) };
    let { io, err } = captureIo();
    assert.equal(await command.run(['--url', `${url}/health`], io), 1);
    assert.match(err.join('\n'), /could not make its health report: Error: no health report within 5000 ms/);

    answer = { status: 404, type: 'text/html', body: '<html>not here</html>' };
    ({ io, err } = captureIo());
    assert.equal(await command.run(['--url', url], io), 1);
    assert.match(err.join('\n'), /answered 404 with something that is not a health report/);
  });

  it('prints the report and exits 1 when the service reports an error', async () => {
    const report = {
      service: 'acquisition-broker',
      status: 'error',
      time_ms: 1_700_000_000_000,
      started_ms: 1_699_999_990_000,
      uptime_s: 10,
      store: { status: 'error', kind: 'mongodb', location: 'mongodb://db:27017/ (database opq)', error: 'StoreError: server selection timed out' },
      boxes: [],
      queues: {},
      counters: { measurements_in: 0, pongs_in: 3, rejected: { total: 0, by_reason: {}, by_source: {} }, totals: {} },
    };
    answer = { status: 503, type: 'application/json', body: JSON.stringify(report) };
    const { io, out } = captureIo();
    assert.equal(await command.run(['--url', url], io), 1);
    const text = out.join('\n');
    assert.match(text, /^acquisition-broker: ERROR {2}\(up 10\.0 s, /);
    assert.match(text, /store: +error +mongodb mongodb:\/\/db:27017\/ \(database opq\) +\(StoreError: server selection timed out\)/);
    assert.match(text, /0 measurements in, 3 PONGs, 0 rejected$/m);
    assert.match(text, /boxes: +none known yet/);

    const json = captureIo();
    assert.equal(await command.run(['--url', url, '--json'], json.io), 1);
    assert.deepStrictEqual(JSON.parse(json.out.join('')), report);
  });

  it('prints a degraded service with its problems and plugin table, and exits 1', async () => {
    const report = {
      service: 'triggering',
      status: 'degraded',
      problems: ['plugin broken: restarting after 3 consecutive failures (2 restarts)'],
      time_ms: 1_700_000_000_000,
      started_ms: 1_699_999_990_000,
      uptime_s: 10,
      store: { status: 'ok', kind: 'sqlite', location: '/data/makai.db', probe_ms: 1 },
      boxes: [],
      queues: { 'plugin.broken': 12 },
      counters: { measurements_in: 60, pongs_in: 0, rejected: { total: 0, by_reason: {}, by_source: {} }, totals: {} },
      plugins: [
        { plugin: 'broken', state: 'restarting', restarts: 2, errors: 3, consecutive_failures: 3, queue_depth: 12, dropped: 4 },
        { plugin: 'threshold', state: 'running', restarts: 0, errors: 0, consecutive_failures: 0, queue_depth: 0, dropped: 0 },
      ],
    };
    answer = { status: 200, type: 'application/json', body: JSON.stringify(report) };
    const { io, out } = captureIo();
    assert.equal(await command.run(['--url', url], io), 1);
    const text = out.join('\n');
    assert.match(text, /^triggering: DEGRADED {2}\(up 10\.0 s, /);
    assert.match(text, /^problem: +plugin broken: restarting after 3 consecutive failures \(2 restarts\)$/m);
    assert.match(text, /^plugins \(2\):\nplugin +state +restarts +failing +queue +dropped\nbroken +restarting +2 +3 +12 +4\nthreshold +running +0 +0 +0 +0$/m);
  });

  it('refuses a URL that is not http(s) and a bad timeout', async () => {
    const { io } = captureIo();
    await assert.rejects(command.run(['--url', 'ftp://host:21'], io), UsageError);
    await assert.rejects(command.run(['--timeout', '0'], io), UsageError);
    await assert.rejects(command.run(['extra'], io), UsageError);
  });

  it('formats durations for people', () => {
    assert.deepStrictEqual([duration(0.25), duration(59.94), duration(61), duration(7322), duration(90_000)], ['0.3 s', '59.9 s', '1 min 1 s', '2 h 2 min', '1 d 1 h']);
  });
});
