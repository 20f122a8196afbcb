import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { UsageError, type CliIo } from '../../../src/cli/command.js';
import { command } from '../../../src/cli/commands/keys.js';
import { readCertificate } from '../../../src/security/curve-certificate.js';
import { isZ85Key } from '../../../src/security/z85.js';
import { createTempDir } from '../../helpers/temp-dir.js';

const ORIGINAL_PUBLIC = /public-key\s+=\s+"(.+)"/;
const ORIGINAL_SECRET = /secret-key\s+=\s+"(.+)"/;
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), stopRequested: new Promise(() => undefined) };
  return { io, out, err };
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('makai keys', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await createTempDir();
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('should generate both certificates and print the public key and paths, never the secret', async () => {
    const { io, out, err } = captureIo();
    assert.equal(await command.run(['generate', 'box1', '--dir', dir.path], io), 0);
    const secretFile = join(dir.path, 'private_keys', 'box1_secret');
    const publicFile = join(dir.path, 'public_keys', 'box1.key');
    const secret = await readCertificate(secretFile);
    const text = out.join('\n');
    assert.ok(text.includes(secret.publicKey));
    assert.ok(text.includes(secretFile));
    assert.ok(text.includes(publicFile));
    assert.ok(!text.includes(secret.secretKey!));
    assert.deepEqual(err, []);
    assert.equal((await readCertificate(publicFile)).publicKey, secret.publicKey);
  });

  it('should refuse to overwrite a secret certificate unless --force', async () => {
    assert.equal(await command.run(['generate', 'server', '--dir', dir.path], captureIo().io), 0);
    const secretFile = join(dir.path, 'private_keys', 'server_secret');
    const before = await readFile(secretFile, 'utf8');

    const refused = captureIo();
    assert.equal(await command.run(['generate', 'server', '--dir', dir.path], refused.io), 1);
    assert.match(refused.err.join('\n'), /already exists.*--force/);
    assert.equal(await readFile(secretFile, 'utf8'), before);

    assert.equal(await command.run(['generate', 'server', '--dir', dir.path, '--force'], captureIo().io), 0);
    assert.notEqual(await readFile(secretFile, 'utf8'), before);
    assert.equal(await mode(secretFile), 0o600);
  });

  it('should show the public key of either kind of certificate and never the secret', async () => {
    await command.run(['generate', 'box2', '--dir', dir.path], captureIo().io);
    const secret = await readCertificate(join(dir.path, 'private_keys', 'box2_secret'));
    for (const file of [join(dir.path, 'private_keys', 'box2_secret'), join(dir.path, 'public_keys', 'box2.key')]) {
      const { io, out } = captureIo();
      assert.equal(await command.run(['show', file], io), 0);
      assert.deepEqual(out, [secret.publicKey]);
    }
  });

  it('should report a malformed certificate with its file name', async () => {
    const { io } = captureIo();
    const missing = join(dir.path, 'nothing.key');
    await assert.rejects(command.run(['show', missing], io), (e: unknown) => e instanceof Error && e.message.includes(missing));
  });

  it('should treat missing arguments and unknown options as usage errors', async () => {
    const { io } = captureIo();
    for (const argv of [[], ['rotate'], ['generate'], ['generate', 'box1'], ['generate', 'box1', '--dir', dir.path, '--colour'], ['show'], ['show', 'a', 'b']]) {
      await assert.rejects(command.run(argv, io), UsageError, argv.join(' '));
    }
  });

  it('should work as `makai keys generate` from the command line', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'keys', 'generate', 'box1', '--dir', dir.path], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr);

    const secretFile = join(dir.path, 'private_keys', 'box1_secret');
    const publicFile = join(dir.path, 'public_keys', 'box1.key');
    const secretText = await readFile(secretFile, 'utf8');
    const publicText = await readFile(publicFile, 'utf8');
    const publicKey = ORIGINAL_PUBLIC.exec(secretText)?.[1] ?? '';
    const secretKey = ORIGINAL_SECRET.exec(secretText)?.[1] ?? '';
    assert.ok(isZ85Key(publicKey) && isZ85Key(secretKey));
    assert.equal(ORIGINAL_PUBLIC.exec(publicText)?.[1], publicKey);
    assert.equal(ORIGINAL_SECRET.exec(publicText), null);
    assert.equal(await mode(secretFile), 0o600);
    assert.equal(await mode(join(dir.path, 'private_keys')), 0o700);
    assert.ok(stdout.includes(publicKey));
    assert.ok(!stdout.includes(secretKey) && !stderr.includes(secretKey));
  });
});
