import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { loadJsonConfig } from '../../../src/config/load-json-config.js';
import { makaiSettingsSchema } from '../../../src/config/makai-settings.js';
import { ConfigError } from '../../../src/core/errors.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';

describe('loadJsonConfig with the makai.json schema', () => {
  let dir: TempDir;
  before(async () => (dir = await createTempDir()));
  after(async () => dir.remove());

  const load = async (name: string, content: string) => {
    await writeFile(dir.file(name), content);
    return loadJsonConfig(dir.file(name), makaiSettingsSchema);
  };
  const refused = async (name: string, content: string, message: RegExp, path?: string) => {
    const error = await load(name, content).then(
      () => assert.fail('expected a ConfigError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(error.message, message);
    assert.equal(error.file, dir.file(name));
    assert.equal(error.path, path);
  };

  it('should give every field its documented default', async () => {
    const settings = await load('empty.json', '{}');
    assert.equal(settings.zmq_trigger_endpoint, 'tcp://127.0.0.1:9881');
    assert.equal(settings.zmq_acquisition_endpoint, 'tcp://127.0.0.1:9884');
    assert.equal(settings.mongo_measurement_expiration_seconds, 86_400);
    assert.equal(settings.mongo_trends_update_interval_seconds, 60);
    assert.equal(settings.event_request_expiration_window_ms, 1_800_000);
    assert.deepEqual(settings.plugins, []);
    assert.equal(settings.measurement_flush, 1000);
  });

  it('should name a misspelt field and suggest the right one', async () => {
    await refused('typo.json', '{"mongo_trends_update_interval_second": 60}', /unknown field \(did you mean "mongo_trends_update_interval_seconds"\?\)/, 'mongo_trends_update_interval_second');
  });

  it('should name a mistyped field, also inside plugins', async () => {
    await refused('type.json', '{"mongo_port": "27017"}', /Expected number, received string/, 'mongo_port');
    await refused('plugin.json', '{"plugins": [{"path": "a.js"}, {"path": 7}]}', /Expected string/, 'plugins[1].path');
    await refused('plugin2.json', '{"plugins": [{"script_path": "main.ket"}]}', /needs a "path"/, 'plugins[0]');
    await refused('endpoint.json', '{"zmq_trigger_endpoint": "localhost:9881"}', /ZeroMQ endpoint/, 'zmq_trigger_endpoint');
    await refused('duration.json', '{"measurement_flush": "soon"}', /not a duration/, 'measurement_flush');
  });

  it('should name the file when it is not JSON or missing', async () => {
    await refused('broken.json', '{"mongo_port": 27017,}', /not valid JSON/);
    await assert.rejects(loadJsonConfig(dir.file('missing.json'), makaiSettingsSchema), /missing\.json: cannot read the config file \(ENOENT\)/);
  });

  it('should keep plugin settings as given', async () => {
    const settings = await load('plugins.json', '{"plugins": [{"path": "/usr/local/lib/opq/plugins/libketos_plugin.so", "script_path": "./main.ket"}]}');
    assert.deepEqual(settings.plugins, [{ path: '/usr/local/lib/opq/plugins/libketos_plugin.so', script_path: './main.ket' }]);
  });
});
