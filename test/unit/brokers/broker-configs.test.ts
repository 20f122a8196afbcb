import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acquisitionBrokerConfigSchema } from '../../../src/brokers/acquisition-broker-config.js';
import { triggerBrokerConfigSchema } from '../../../src/brokers/trigger-broker-config.js';
import { parseConfig } from '../../../src/config/load-json-config.js';
import { ConfigError } from '../../../src/core/errors.js';

describe('triggerBrokerConfigSchema', () => {
  it('should accept the original file and fill the fields it lacks', () => {
    const original = {
      client_certs: '/etc/opq/curve/public_keys',
      server_cert: '/etc/opq/curve/private_keys/opqserver_secret',
      interface: 'tcp://*:9880',
      backend: 'tcp://*:9881',
      white_list: false,
    };
    assert.deepEqual(parseConfig(original, triggerBrokerConfigSchema, 'trg.json'), { ...original, key_refresh: 10_000, max_frame_bytes: 1_048_576, count_handshake_failures: false });
  });

  it('should default every field, with the allow-list on', () => {
    const config = parseConfig({}, triggerBrokerConfigSchema);
    assert.equal(config.interface, 'tcp://*:9880');
    // Loopback since issue 14: the backend is unauthenticated (the original bound tcp://*:9881).
    assert.equal(config.backend, 'tcp://127.0.0.1:9881');
    assert.equal(config.white_list, true);
    assert.equal(config.client_certs, '/etc/opq/curve/public_keys');
  });

  it('should name a misspelt field and the file', () => {
    assert.throws(
      () => parseConfig({ whitelist: true }, triggerBrokerConfigSchema, 'trg.json'),
      (error: unknown) => error instanceof ConfigError && error.file === 'trg.json' && error.path === 'whitelist' && /white_list/.test(error.message),
    );
  });

  it('should refuse an endpoint that is not one, naming the field', () => {
    assert.throws(() => parseConfig({ backend: '9881' }, triggerBrokerConfigSchema), (error: unknown) => error instanceof ConfigError && error.path === 'backend');
  });
});

describe('acquisitionBrokerConfigSchema', () => {
  const original = {
    client_certs: '/etc/opq/curve/public_keys',
    server_cert: '/etc/opq/curve/private_keys/opqserver_secret',
    box_pub: 'tcp://*:8194',
    box_pull: 'tcp://*:8196',
    backend_pull: 'tcp://*:9884',
    backend_pub: 'tcp://*:9899',
    mongo_uri: 'mongodb://localhost:27017',
  };

  it('should accept the original file', () => {
    const config = parseConfig(original, acquisitionBrokerConfigSchema, 'acq.json');
    assert.equal(config.box_pub, 'tcp://*:8194');
    assert.equal(config.max_event_window, 600_000);
    assert.equal(config.ping_interval, 13_000);
    assert.equal(config.max_frame_bytes, 1_048_576);
    assert.equal(config.mongo_uri, 'mongodb://localhost:27017');
  });

  it('should bind the unauthenticated backend_pull to loopback by default and keep an explicit wildcard', () => {
    assert.equal(parseConfig({}, acquisitionBrokerConfigSchema).backend_pull, 'tcp://127.0.0.1:9884');
    assert.equal(parseConfig({ backend_pull: 'tcp://*:9884' }, acquisitionBrokerConfigSchema).backend_pull, 'tcp://*:9884');
  });

  it('should default the admission limits and refuse ones out of bounds, naming the field', () => {
    const config = parseConfig({}, acquisitionBrokerConfigSchema);
    assert.equal(config.max_outstanding_reads, 64);
    assert.equal(config.max_outstanding_reads_per_requester, 16);
    assert.equal(config.read_timeout, 30_000);
    assert.equal(config.request_rate, 5);
    assert.equal(config.request_burst, 20);
    for (const [field, value] of [
      ['max_outstanding_reads', 0],
      ['max_outstanding_reads', 1e9],
      ['request_rate', -1],
      ['request_rate', 1e300],
      ['request_burst', 0.5],
      ['read_timeout', '25d'],
      ['read_timeout', 0],
    ] as const) {
      assert.throws(
        () => parseConfig({ [field]: value }, acquisitionBrokerConfigSchema, 'acq.json'),
        (e: unknown) => e instanceof ConfigError && e.path === field && e.file === 'acq.json',
        `${field}: ${value}`,
      );
    }
  });

  it('should read durations in the house forms', () => {
    const config = parseConfig({ max_event_window: '2m', ping_interval: 'PT5S' }, acquisitionBrokerConfigSchema);
    assert.equal(config.max_event_window, 120_000);
    assert.equal(config.ping_interval, 5_000);
  });

  it('should refuse a zero ping interval and a misspelt field, naming them', () => {
    assert.throws(() => parseConfig({ ping_interval: 0 }, acquisitionBrokerConfigSchema), (e: unknown) => e instanceof ConfigError && e.path === 'ping_interval');
    assert.throws(
      () => parseConfig({ box_pubb: 'tcp://*:1' }, acquisitionBrokerConfigSchema),
      (e: unknown) => e instanceof ConfigError && e.path === 'box_pubb' && /box_pub/.test(e.message),
    );
  });
});
