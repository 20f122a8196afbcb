import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { z } from 'zod';
import { acquisitionBrokerConfigSchema } from '../../src/brokers/acquisition-broker-config.js';
import { triggerBrokerConfigSchema } from '../../src/brokers/trigger-broker-config.js';
import { loadJsonConfig } from '../../src/config/load-json-config.js';
import { makaiSettingsSchema } from '../../src/config/makai-settings.js';
import { ConfigError } from '../../src/core/errors.js';
import { writeCertificatePair } from '../../src/security/curve-certificate.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';

// Config faults (issue 14, findings 2 and 4). A duration over 2^31 − 1 ms ("25d") reached
// Node's timers as 1 ms (a ping flood), "PT-5S" passed, key_refresh 0 spun a core, a TTL of
// 1e300 s dropped every measurement, and the acquisition broker, given such a setting,
// printed the error and lived on with no sockets, ignoring SIGTERM. Every one of these must be
// refused naming the file and the field, and every service must exit non-zero by itself.

/** Longest a service may take to exit after a config error (tsx start-up on a busy machine included). */
const EXIT_WAIT_MS = 30_000;

describe('config errors: bad values are refused naming the file and the field', () => {
  let dir: TempDir;
  before(async () => (dir = await createTempDir('makai-config-errors-')));
  after(async () => dir.remove());

  const cases: readonly [file: string, schema: z.ZodTypeAny, field: string, value: unknown, message: RegExp][] = [
    ['acquisition_broker_config.json', acquisitionBrokerConfigSchema, 'ping_interval', '25d', /from 10 ms to 1 hour, got 25 days/],
    ['acquisition_broker_config.json', acquisitionBrokerConfigSchema, 'key_refresh', '25d', /got 25 days/],
    ['triggering_broker_config.json', triggerBrokerConfigSchema, 'key_refresh', '25d', /got 25 days/],
    ['makai.json', makaiSettingsSchema, 'measurement_flush', '25d', /got 25 days/],
    ['makai.json', makaiSettingsSchema, 'trend_grace', '25d', /got 25 days/],
    ['makai.json', makaiSettingsSchema, 'box_registry_refresh', '25d', /got 25 days/],
    ['acquisition_broker_config.json', acquisitionBrokerConfigSchema, 'ping_interval', 'PT-5S', /negative duration/],
    ['acquisition_broker_config.json', acquisitionBrokerConfigSchema, 'store_retry_initial', 'PT-5S', /negative duration/],
    ['acquisition_broker_config.json', acquisitionBrokerConfigSchema, 'key_refresh', 0, /from 100 ms to 1 day, got 0 ms/],
    ['triggering_broker_config.json', triggerBrokerConfigSchema, 'key_refresh', 0, /got 0 ms/],
    ['acquisition_broker_config.json', acquisitionBrokerConfigSchema, 'max_event_window', 'PT-5M', /negative duration/],
    ['makai.json', makaiSettingsSchema, 'measurement_flush', 0, /got 0 ms/],
    ['makai.json', makaiSettingsSchema, 'mongo_measurement_expiration_seconds', 1e300, /whole number from 1 to 315 360 000, got 1e\+300/],
    ['makai.json', makaiSettingsSchema, 'measurement_batch_size', 1e300, /got 1e\+300/],
    ['makai.json', makaiSettingsSchema, 'mongo_port', 70_000, /from 1 to 65 535/],
    ['makai.json', makaiSettingsSchema, 'metrics_address', '127.0.0.1:70000', /not host:port/],
  ];

  for (const [file, schema, field, value, message] of cases) {
    it(`should refuse ${field}: ${JSON.stringify(value)} in ${file}`, async () => {
      const path = dir.file(`${field}-${String(value)}-${file}`);
      await writeFile(path, JSON.stringify({ [field]: value }));
      const error = await loadJsonConfig(path, schema).then(
        () => assert.fail(`${field} = ${JSON.stringify(value)} was accepted`),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(error.file, path);
      assert.equal(error.path, field);
      assert.match(error.message, message);
    });
  }
});

interface Exit {
  readonly code: number | null;
  readonly stderr: string;
}

/** Runs `makai <args>` as an operator would; kills it and fails if it has not exited by itself within {@link EXIT_WAIT_MS}. */
async function makaiExit(args: readonly string[]): Promise<Exit> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MAKAI_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let timer: NodeJS.Timeout | undefined;
  const stillAlive = new Promise<'alive'>((resolve) => (timer = setTimeout(() => resolve('alive'), EXIT_WAIT_MS)));
  const outcome = await Promise.race([exited, stillAlive]);
  clearTimeout(timer);
  if (outcome === 'alive') {
    child.kill('SIGKILL');
    await exited;
    assert.fail(`makai ${args.join(' ')} was still alive ${EXIT_WAIT_MS} ms after start (killed). stderr:\n${stderr}`);
  }
  return { code: outcome, stderr };
}

describe('config errors: no config error leaves a live process', () => {
  let dir: TempDir;
  let certs: { server_cert: string; client_certs: string };
  before(async () => {
    dir = await createTempDir('makai-config-exit-');
    const { secretFile } = await writeCertificatePair(dir.file('curve'), 'opqserver', generateCurveKeyPair());
    await mkdir(dir.file('clients'));
    certs = { server_cert: secretFile, client_certs: dir.file('clients') };
  });
  after(async () => dir.remove());

  const loopback = 'tcp://127.0.0.1:*';
  const acquisition = () => ({ ...certs, box_pub: loopback, box_pull: loopback, backend_pull: loopback, backend_pub: loopback, store: `sqlite:${dir.file('acq.db')}` });
  const trigger = () => ({ ...certs, interface: loopback, backend: loopback, white_list: true });
  const makai = () => ({ store: `sqlite:${dir.file('makai.db')}`, plugins: [] });
  const scenario = (disturbance: Record<string, unknown>) => ({ name: 'bad', disturbances: [{ kind: 'voltage-sag', at: '1s', duration: '1s', depth: 20, ...disturbance }] });

  /** [command, config file name, config, field the error must name, extra arguments (`{file}` is the config's path)]. */
  const table: readonly [command: string, file: string, config: () => object, field: string, args: readonly string[]][] = [
    ['acquisition-broker', 'acq-key-refresh-0.json', () => ({ ...acquisition(), key_refresh: 0 }), 'key_refresh', ['{file}']],
    ['acquisition-broker', 'acq-max-event-window.json', () => ({ ...acquisition(), max_event_window: 'PT-5M' }), 'max_event_window', ['{file}']],
    ['acquisition-broker', 'acq-store-retry.json', () => ({ ...acquisition(), store_retry_initial: 'PT-0.1S' }), 'store_retry_initial', ['{file}']],
    ['acquisition-broker', 'acq-ping-25d.json', () => ({ ...acquisition(), ping_interval: '25d' }), 'ping_interval', ['{file}']],
    ['trigger-broker', 'trg-key-refresh-25d.json', () => ({ ...trigger(), key_refresh: '25d' }), 'key_refresh', ['{file}']],
    ['trigger-broker', 'trg-key-refresh-neg.json', () => ({ ...trigger(), key_refresh: 'PT-5S' }), 'key_refresh', ['{file}']],
    ['run', 'run-trend-grace.json', () => ({ ...makai(), trend_grace: '25d' }), 'trend_grace', ['{file}']],
    ['run', 'run-expiration.json', () => ({ ...makai(), mongo_measurement_expiration_seconds: 1e300 }), 'mongo_measurement_expiration_seconds', ['{file}']],
    ['run', 'run-registry-refresh.json', () => ({ ...makai(), box_registry_refresh: 0 }), 'box_registry_refresh', ['{file}']],
    ['up', 'up-scenario.json', () => scenario({ duration: 'P1DT-5S' }), 'disturbances[0].duration', ['--data-dir', '{dir}/up', '--scenario', '{file}']],
    ['simulate', 'sim-scenario.json', () => scenario({ at: '25d' }), 'disturbances[0].at', ['--server-key', '{cert}', '--keys-dir', '{dir}/sim-keys', '--scenario', '{file}']],
  ];

  for (const [command, file, config, field, args] of table) {
    it(`should make \`makai ${command}\` exit non-zero by itself on ${file} (bad ${field}), naming the file and the field`, async () => {
      const path = dir.file(file);
      await writeFile(path, JSON.stringify(config()));
      const argv = args.map((a) => a.replace('{file}', path).replace('{dir}', dir.path).replace('{cert}', certs.server_cert));
      const { code, stderr } = await makaiExit([command, ...argv]);
      assert.notEqual(code, 0, stderr);
      assert.notEqual(code, null, `killed by a signal: ${stderr}`);
      assert.ok(stderr.includes(path), `stderr names the file ${path}:\n${stderr}`);
      assert.ok(stderr.includes(`${field}:`), `stderr names the field ${field}:\n${stderr}`);
      assert.doesNotMatch(stderr, /sqlite store open|broker started|service started/, 'nothing was opened before the config was refused');
      // Nothing written either: no store file, no data directory, no generated box keys.
      for (const made of ['acq.db', 'makai.db', 'up', 'sim-keys']) assert.equal(existsSync(dir.file(made)), false, `${made} was created`);
    });
  }

  it('should make `makai run` exit non-zero by itself on a bad plugin setting, naming the file and the field', async () => {
    // Plugin settings are the plugin's own and are checked when it is created, after the store
    // is open; the store is closed again and the process still ends by itself.
    const path = dir.file('run-plugin.json');
    await writeFile(path, JSON.stringify({ store: `sqlite:${dir.file('plugin.db')}`, plugins: [{ plugin: 'threshold', silenceTimeoutMs: '25d' }] }));
    const { code, stderr } = await makaiExit(['run', path]);
    assert.equal(code, 1, stderr);
    assert.ok(stderr.includes(`${path}: plugins[0].silenceTimeoutMs: must be from 1 ms to 1 hour, got 25 days`), stderr);
  });

  it('should make `makai up` and `makai simulate` refuse durations a timer cannot take and a fleet too big to start', async () => {
    const up = await makaiExit(['up', '--data-dir', dir.file('up-flags'), '--status-every', '25d']);
    assert.equal(up.code, 2, up.stderr);
    assert.match(up.stderr, /--status-every must be from 100 ms to 1 day, got 25 days/);
    const boxes = await makaiExit(['up', '--data-dir', dir.file('up-flags'), '--boxes', '1e9']);
    assert.equal(boxes.code, 2, boxes.stderr);
    assert.match(boxes.stderr, /--boxes must be a whole number from 0 to 10 000/);
    const simulate = await makaiExit(['simulate', '--server-key', certs.server_cert, '--keys-dir', dir.file('k'), '--duration', '25d']);
    assert.equal(simulate.code, 2, simulate.stderr);
    assert.match(simulate.stderr, /--duration must be from 1 ms to 24 days 20 hours 31 minutes 23 seconds 647 ms, got 25 days/);
  });
});
