import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { formatCertificate } from '../../../src/security/curve-certificate.js';
import { generateCurveKeyPair } from '../../../src/security/curve-key-pair.js';
import { loadPublicKeysFromDir } from '../../../src/security/public-key-directory.js';
import { createTempDir } from '../../helpers/temp-dir.js';

describe('loadPublicKeysFromDir', () => {
  it('should load every good certificate and report the malformed ones without stopping', async () => {
    const dir = await createTempDir();
    try {
      const a = generateCurveKeyPair();
      const b = generateCurveKeyPair();
      await writeFile(join(dir.path, 'box1.key'), formatCertificate('box1', { publicKey: a.publicKey }));
      // A secret certificate is a certificate too: its public key counts.
      await writeFile(join(dir.path, 'box2_secret'), formatCertificate('box2', b));
      await writeFile(join(dir.path, 'broken.key'), 'metadata\ncurve\n');
      await writeFile(join(dir.path, 'short.key'), 'curve\n    public-key = "abc"\n');
      await writeFile(join(dir.path, '.hidden'), 'not a certificate');
      await mkdir(join(dir.path, 'nested'));

      const { keys, problems } = await loadPublicKeysFromDir(dir.path);
      assert.deepEqual(
        keys.map((k) => [k.file, k.publicKey, k.id]),
        [
          [join(dir.path, 'box1.key'), a.publicKey, 'box1'],
          [join(dir.path, 'box2_secret'), b.publicKey, 'box2'],
        ],
      );
      assert.deepEqual(
        problems.map((p) => [p.file, /missing public-key line|bad length/.test(p.message)]),
        [
          [join(dir.path, 'broken.key'), true],
          [join(dir.path, 'short.key'), true],
        ],
      );
      assert.ok(problems.every((p) => p instanceof ConfigError));
    } finally {
      await dir.remove();
    }
  });

  it('should throw a ConfigError naming a missing directory', async () => {
    const dir = await createTempDir();
    try {
      const missing = join(dir.path, 'public_keys');
      await assert.rejects(loadPublicKeysFromDir(missing), (e: unknown) => e instanceof ConfigError && e.file === missing);
      await writeFile(missing, '');
      await assert.rejects(loadPublicKeysFromDir(missing), (e: unknown) => e instanceof ConfigError && /not a directory/.test(e.message));
    } finally {
      await dir.remove();
    }
  });
});
