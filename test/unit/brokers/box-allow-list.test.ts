import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { asyncScheduler, filter, firstValueFrom } from 'rxjs';
import { BoxAllowList, type KeyRegistry } from '../../../src/brokers/box-allow-list.js';
import { ConfigError } from '../../../src/core/errors.js';
import { RecordingLogger } from '../../../src/core/logger.js';
import { formatCertificate } from '../../../src/security/curve-certificate.js';
import { z85Encode } from '../../../src/security/z85.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';

/** A distinct, valid Z85 key per number (no libzmq needed). */
const key = (n: number): string => z85Encode(new Uint8Array(32).fill(n));

/** A registry whose keys the test sets, and which can be made to fail like a store outage. */
class TestRegistry implements KeyRegistry {
  keys = new Set<string>();
  failing = false;
  private view = new Set<string>();
  async refresh(): Promise<boolean> {
    if (this.failing) return false;
    this.view = new Set(this.keys);
    return true;
  }
  publicKeys(): ReadonlySet<string> {
    return this.view;
  }
}

describe('BoxAllowList', () => {
  let dir: TempDir;
  let certs: string;
  let lists: BoxAllowList[];

  beforeEach(async () => {
    dir = await createTempDir('makai-allow-list-');
    certs = dir.file('certs');
    await mkdir(certs);
    lists = [];
  });
  afterEach(async () => {
    for (const list of lists) list.close();
    await dir.remove();
  });

  const addCert = (name: string, n: number) => writeFile(`${certs}/${name}.key`, formatCertificate(name, { publicKey: key(n) }));
  function allowList(options: { registry?: KeyRegistry; allowAny?: boolean; watch?: boolean; logger?: RecordingLogger } = {}): BoxAllowList {
    const list = new BoxAllowList({
      clientCertsDir: certs,
      ...(options.registry ? { registry: options.registry } : {}),
      allowAny: options.allowAny ?? false,
      refreshMs: 600_000,
      watch: options.watch ?? false,
      scheduler: asyncScheduler,
      logger: options.logger ?? new RecordingLogger(),
    });
    lists.push(list);
    return list;
  }

  it('should allow the union of certificate and registry keys and nothing else', async () => {
    await addCert('box1', 1);
    const registry = new TestRegistry();
    registry.keys.add(key(2));
    const list = allowList({ registry });
    await list.start();
    assert.deepEqual([...list.keys()].sort(), [key(1), key(2)].sort());
    assert.equal(list.isAllowed(key(1)), true);
    assert.equal(list.isAllowed(key(2)), true);
    assert.equal(await list.isAllowed(key(3)), false);
  });

  it('should decide an unknown key after one rescan, so a key added a moment ago gets in', async () => {
    const registry = new TestRegistry();
    const list = allowList({ registry });
    await list.start();
    registry.keys.add(key(5));
    assert.equal(await list.isAllowed(key(5)), true);
    // A second stranger within the rate limit is refused without another rescan.
    registry.keys.add(key(6));
    assert.equal(list.isAllowed(key(6)), false);
  });

  it('should pick up a new certificate on refresh and report the change', async () => {
    const list = allowList();
    await list.start();
    const changed = firstValueFrom(list.changes.pipe(filter((keys) => keys.has(key(7)))));
    await addCert('box7', 7);
    await list.refresh();
    assert.ok((await changed).has(key(7)));
  });

  it('should notice a new certificate without an explicit refresh when watching the directory', async () => {
    const list = allowList({ watch: true });
    await list.start();
    const changed = firstValueFrom(list.changes.pipe(filter((keys) => keys.has(key(8)))));
    await addCert('box8', 8);
    assert.ok((await changed).has(key(8)));
  });

  it('should keep the last registry keys while the registry cannot be read, and skip an unusable file', async () => {
    const registry = new TestRegistry();
    registry.keys.add(key(9));
    const logger = new RecordingLogger();
    await writeFile(`${certs}/broken.key`, 'not a certificate');
    await addCert('box1', 1);
    const list = allowList({ registry, logger });
    await list.start();
    registry.failing = true;
    await list.refresh();
    assert.equal(list.isAllowed(key(9)), true);
    assert.equal(list.isAllowed(key(1)), true);
    assert.equal(logger.records.filter((r) => r.msg === 'ignoring an unusable client certificate').length, 1);
  });

  it('should allow any key with allowAny and warn loudly at start', async () => {
    const logger = new RecordingLogger();
    const list = allowList({ allowAny: true, logger });
    await list.start();
    assert.equal(list.isAllowed(key(42)), true);
    assert.ok(logger.records.some((r) => r.level === 'warn' && /WHITELISTING DISABLED/.test(r.msg)));
  });

  it('should refuse to start when client_certs is not a directory', async () => {
    const list = new BoxAllowList({ clientCertsDir: dir.file('missing'), allowAny: false, refreshMs: 1_000, watch: false, scheduler: asyncScheduler, logger: new RecordingLogger() });
    lists.push(list);
    await assert.rejects(list.start(), ConfigError);
  });
});
