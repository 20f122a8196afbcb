import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { main } from '../../../src/cli/main.js';
import { createTempDir } from '../../helpers/temp-dir.js';

const run = promisify(execFile);

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), stopRequested: new Promise<never>(() => {}) } };
}

describe('makai (main)', () => {
  it('should list every command with its summary on --help', async () => {
    const { out, io } = capture();
    assert.equal(await main(['--help'], io), 0);
    for (const name of ['keys', 'run', 'up', 'simulate', 'validate', 'trigger-broker', 'acquisition-broker']) {
      assert.match(out.join('\n'), new RegExp(`^  ${name} +\\S`, 'm'));
    }
  });

  it('should refuse an unknown command with exit code 2', async () => {
    const { err, io } = capture();
    assert.equal(await main(['frobnicate'], io), 2);
    assert.match(err.join('\n'), /unknown command "frobnicate"/);
  });

  it('should run when started through a symlink, as node_modules/.bin/makai is', async () => {
    const dir = await createTempDir();
    try {
      const link = join(dir.path, 'makai');
      await symlink(join(import.meta.dirname, '..', '..', '..', 'src', 'cli', 'main.ts'), link);
      const { stdout } = await run(process.execPath, ['--import', 'tsx', link, '--help']);
      assert.match(stdout, /^Usage: makai <command>/m);
    } finally {
      await dir.remove();
    }
  });
});
