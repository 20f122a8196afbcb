import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { acquisitionBrokerConfigSchema } from '../../../src/brokers/acquisition-broker-config.js';
import { triggerBrokerConfigSchema } from '../../../src/brokers/trigger-broker-config.js';
import { loadJsonConfig } from '../../../src/config/load-json-config.js';

// The example broker configs shipped in config/ (and in the package): loaded as the broker
// commands load them, so an example that stops being valid fails here, and kept to the
// original's keys (spec §6.2, §7), so an OPQ installation's file reads the same way.

const CONFIG = join(import.meta.dirname, '..', '..', '..', 'config');
const keysOf = async (file: string) => Object.keys(JSON.parse(await readFile(file, 'utf8')) as object).sort();

describe('example broker configs in config/', () => {
  it('triggering_broker_config.json is valid and has exactly the original five keys', async () => {
    const file = join(CONFIG, 'triggering_broker_config.json');
    const config = await loadJsonConfig(file, triggerBrokerConfigSchema);
    assert.deepStrictEqual(await keysOf(file), ['backend', 'client_certs', 'interface', 'server_cert', 'white_list']);
    assert.equal(config.interface, 'tcp://*:9880', 'boxes connect to the original port');
    assert.equal(config.white_list, true, 'the example only lets known boxes in');
  });

  it('acquisition_broker_config.json is valid and has exactly the original seven keys', async () => {
    const file = join(CONFIG, 'acquisition_broker_config.json');
    const config = await loadJsonConfig(file, acquisitionBrokerConfigSchema);
    assert.deepStrictEqual(await keysOf(file), ['backend_pub', 'backend_pull', 'box_pub', 'box_pull', 'client_certs', 'mongo_uri', 'server_cert']);
    assert.deepStrictEqual([config.box_pub, config.box_pull], ['tcp://*:8194', 'tcp://*:8196'], 'boxes connect to the original ports');
    assert.equal(config.mongo_uri, 'mongodb://localhost:27017');
  });
});
