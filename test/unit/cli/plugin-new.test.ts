import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { main } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/command.js';

// `makai plugin new` writes a skeleton whose own test passes: written here, built with the
// Debian toolchains for C and Rust, and its test run as a user would run it. The folder is
// inside the repository (.tmp/, ignored by git) so that 'makai' and 'rxjs' resolve as they do
// in a project that depends on makai.

const ROOT = resolve(import.meta.dirname, '../../..');
const exec = promisify(execFile);
const TOOLCHAINS: Readonly<Record<string, { readonly env: Record<string, string>; readonly tools: readonly string[] }>> = {
  ts: { env: {}, tools: [] },
  c: { env: { CLANG: '/usr/bin/clang' }, tools: ['/usr/bin/clang', '/usr/bin/wasm-ld'] },
  // Debian's rustc, never a rustup one that may be first on PATH.
  rust: { env: { RUSTC: '/usr/bin/rustc' }, tools: ['/usr/bin/rustc'] },
};

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const cliIo: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), stopRequested: new Promise(() => {}) };
  return { cliIo, out, err };
}

describe('makai plugin new', () => {
  let work: string;

  before(async () => {
    await mkdir(join(ROOT, '.tmp'), { recursive: true });
    work = await mkdtemp(join(ROOT, '.tmp', 'plugin-new-'));
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  for (const lang of ['ts', 'c', 'rust']) {
    const missing = TOOLCHAINS[lang]!.tools.filter((tool) => !existsSync(tool));
    const skip = missing.length > 0 && process.env['CI'] !== 'true' ? `${missing.join(', ')} not installed (apt-get install clang lld rustc libstd-rust-dev-wasm32)` : false;

    it(`writes a ${lang} skeleton that builds and passes its own test`, { skip }, async () => {
      const name = `sag-${lang}`;
      const dir = join(work, name);
      const { cliIo, out } = io();
      assert.equal(await main(['plugin', 'new', name, '--lang', lang, '--dir', dir], cliIo), 0);
      assert.match(out.join('\n'), new RegExp(`"path": ".*${name}\\.(ts|wasm)", "name": "${name}"`));
      const files = await readdir(dir);
      assert.ok(files.includes(`${name}.test.ts`), `a test of its own (${files.join(', ')})`);
      if (lang !== 'ts') {
        assert.ok(((await stat(join(dir, 'build.sh'))).mode & 0o111) !== 0, 'build.sh is executable');
        await exec(join(dir, 'build.sh'), [], { env: { ...process.env, ...TOOLCHAINS[lang]!.env } });
        assert.ok(existsSync(join(dir, `${name}.wasm`)), 'build.sh built the module');
      }
      // Not as a subtest of this run: the runner marks its children with NODE_TEST_CONTEXT.
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const { stdout } = await exec(process.execPath, ['--import', 'tsx', '--test', join(dir, `${name}.test.ts`)], { cwd: ROOT, env });
      assert.match(stdout, /^# pass 3$/m);
      assert.match(stdout, /^# fail 0$/m);
    });
  }

  it('refuses to overwrite a file, and writes nothing then', async () => {
    const dir = join(work, 'taken');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'taken.test.ts'), 'mine');
    const { cliIo, err } = io();
    assert.equal(await main(['plugin', 'new', 'taken', '--lang', 'c', '--dir', dir], cliIo), 1);
    assert.match(err.join('\n'), /taken\.test\.ts exists; not overwriting anything/);
    assert.deepEqual(await readdir(dir), ['taken.test.ts']);
  });

  it('refuses an unknown language and a name that is not one, as usage errors', async () => {
    const lang = io();
    assert.equal(await main(['plugin', 'new', 'x', '--lang', 'cobol', '--dir', join(work, 'x')], lang.cliIo), 2);
    assert.match(lang.err.join('\n'), /--lang must be one of ts, c, rust/);
    const name = io();
    assert.equal(await main(['plugin', 'new', 'My Plugin', '--dir', join(work, 'y')], name.cliIo), 2);
    assert.match(name.err.join('\n'), /"My Plugin" is not a plugin name/);
    assert.equal(existsSync(join(work, 'x')) || existsSync(join(work, 'y')), false);
  });
});
