import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../../src/cli/main.js';
import { ensureStoreDirectory } from '../../../src/cli/store-directory.js';
import { ConfigError } from '../../../src/core/errors.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';
import { captureIo } from './sag-event-fixture.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const MAKAI_JSON = join(ROOT, 'config', 'makai.json');
const exists = (path: string) => stat(path).then(() => true, () => false);

describe('a store whose directory does not exist', () => {
  let dir: TempDir;
  before(async () => {
    dir = await createTempDir('makai-store-dir-');
  });
  after(async () => {
    await dir.remove();
  });

  it('is refused when the user named it, naming the flag or config field, and nothing is created', async () => {
    const missing = dir.file('no', 'such', 'dir');
    await assert.rejects(ensureStoreDirectory({ uri: `sqlite:${missing}/x.db`, origin: { configPath: '--store' } }, { create: false }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.path, '--store');
      assert.match(error.message, new RegExp(`^--store: the directory ${missing} of the store .*x\\.db does not exist; create it, or pass --create-store-dir`));
      return true;
    });
    await assert.rejects(ensureStoreDirectory({ uri: `${missing}/x.db`, origin: { configFile: '/etc/opq/makai.json', configPath: 'store' } }, { create: false }), {
      message: /^\/etc\/opq\/makai\.json: store: the directory /,
    });
    assert.equal(await exists(dir.file('no')), false);
  });

  it('is created with the flag, and for the built-in default (no origin), and MongoDB is not a directory', async () => {
    await ensureStoreDirectory({ uri: `sqlite:${dir.file('made', 'by', 'flag')}/x.db`, origin: { configPath: '--store' } }, { create: true });
    assert.equal(await exists(dir.file('made', 'by', 'flag')), true);
    await ensureStoreDirectory({ uri: `sqlite:${dir.file('default', 'data')}/makai.db`, origin: {} }, { create: false });
    assert.equal(await exists(dir.file('default', 'data')), true);
    await ensureStoreDirectory({ uri: 'mongodb://127.0.0.1:1/opq', origin: { configPath: '--store' } }, { create: false });
    await ensureStoreDirectory({ uri: 'sqlite::memory:', origin: { configPath: '--store' } }, { create: false });
  });

  it('makai run --store sqlite:/missing/dir/x.db exits 1 with the message, before opening anything', async () => {
    const missing = dir.file('run', 'missing');
    const outcome = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', MAIN, 'run', '--store', `sqlite:${missing}/x.db`], (error, _stdout, stderr) =>
        resolve({ code: error === null ? 0 : (error.code as number), stderr }),
      );
    });
    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, new RegExp(`^makai run: --store: the directory ${missing} of the store .* does not exist; create it, or pass --create-store-dir to have it created\\n$`));
    assert.equal(await exists(dir.file('run')), false, 'no directory left behind');
  });

  it('makai validate refuses it as run does, and creates nothing even with --create-store-dir', async () => {
    const missing = dir.file('validate', 'missing');
    let { io, err } = captureIo();
    assert.equal(await main(['validate', MAKAI_JSON, '--store', `sqlite:${missing}/x.db`], io), 1);
    assert.match(err.join('\n'), new RegExp(`^makai validate: --store: the directory ${missing} of the store .* does not exist`));
    ({ io, err } = captureIo());
    assert.equal(await main(['validate', MAKAI_JSON, '--store', `sqlite:${missing}/x.db`, '--create-store-dir'], io), 0, err.join('\n'));
    assert.equal(await exists(dir.file('validate')), false, 'validate opens and creates nothing');
  });

  it('makai boxes add --create-store-dir makes the directory and the store', async () => {
    const store = dir.file('boxes', 'new', 'x.db');
    let { io, err } = captureIo();
    assert.equal(await main(['boxes', 'add', '1', '--store', `sqlite:${store}`], io), 1);
    assert.match(err.join('\n'), /does not exist; create it, or pass --create-store-dir/);
    ({ io, err } = captureIo());
    assert.equal(await main(['boxes', 'add', '1', '--store', `sqlite:${store}`, '--create-store-dir'], io), 0, err.join('\n'));
    assert.equal(await exists(store), true);
  });
});
