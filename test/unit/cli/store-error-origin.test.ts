import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { command as acquisitionBroker } from '../../../src/cli/commands/acquisition-broker.js';
import { command as run } from '../../../src/cli/commands/run.js';
import { command as triggerBroker } from '../../../src/cli/commands/trigger-broker.js';
import type { CliCommand } from '../../../src/cli/command.js';
import { ConfigError } from '../../../src/core/errors.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';

const io = { out: () => undefined, err: () => undefined, stopRequested: new Promise<never>(() => {}) };

/** Runs a command that must refuse its store URI, and returns the ConfigError it refused with. */
async function storeRefusal(command: CliCommand, argv: string[]): Promise<ConfigError> {
  const error = await command.run(argv, io).then(
    () => assert.fail('the command should have refused the store URI'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
  return error;
}

// The URIs have a scheme no store supports, so every case fails before touching a network or a file.
describe('a store URI the store refuses is reported where it was written', () => {
  let dir: TempDir;
  before(async () => {
    dir = await createTempDir();
  });
  after(async () => {
    await dir.remove();
  });

  async function config(name: string, fields: Record<string, unknown>): Promise<string> {
    const file = dir.file(name);
    await writeFile(file, JSON.stringify(fields));
    return file;
  }

  for (const [name, command] of [['trigger-broker', triggerBroker], ['acquisition-broker', acquisitionBroker]] as const) {
    it(`${name}: --store, over both config fields`, async () => {
      const file = await config(`${name}-flag.json`, { client_certs: 'keys', server_cert: 'server', store: 'redis://a', mongo_uri: 'redis://b' });
      const error = await storeRefusal(command, [file, '--store', 'redis://flag']);
      assert.equal(error.file, undefined);
      assert.equal(error.path, '--store');
      assert.match(error.message, /^--store: unsupported store URI "redis:\/\/flag"/);
    });

    it(`${name}: the config's store, over its mongo_uri`, async () => {
      const file = await config(`${name}-store.json`, { client_certs: 'keys', server_cert: 'server', store: 'redis://a', mongo_uri: 'redis://b' });
      const error = await storeRefusal(command, [file]);
      assert.equal(error.file, file);
      assert.equal(error.path, 'store');
      assert.match(error.message, /: store: unsupported store URI "redis:\/\/a"/);
    });

    it(`${name}: the config's mongo_uri`, async () => {
      const file = await config(`${name}-mongo-uri.json`, { client_certs: 'keys', server_cert: 'server', mongo_uri: 'redis://b' });
      const error = await storeRefusal(command, [file]);
      assert.equal(error.file, file);
      assert.equal(error.path, 'mongo_uri');
    });
  }

  it('run: --store names the flag, not the config file', async () => {
    const file = await config('makai-flag.json', { store: 'redis://a' });
    const error = await storeRefusal(run, [file, '--store', 'redis://flag']);
    assert.equal(error.file, undefined);
    assert.equal(error.path, '--store');
  });

  it("run: the config's store names the file and the field", async () => {
    const file = await config('makai-store.json', { store: 'redis://a' });
    const error = await storeRefusal(run, [file]);
    assert.equal(error.file, file);
    assert.equal(error.path, 'store');
    assert.match(error.message, /makai-store\.json: store: unsupported store URI "redis:\/\/a"/);
  });
});
