import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { openStore, storeTarget } from '../../../src/stores/open-store.js';
import { redactUri } from '../../../src/stores/redact-uri.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';

describe('storeTarget', () => {
  const cases: [string, ReturnType<typeof storeTarget>][] = [
    ['/var/lib/makai/opq.db', { kind: 'sqlite', path: '/var/lib/makai/opq.db' }],
    ['./opq.db', { kind: 'sqlite', path: './opq.db' }],
    ['C:\\makai\\opq.db', { kind: 'sqlite', path: 'C:\\makai\\opq.db' }],
    ['sqlite:/var/lib/makai/opq.db', { kind: 'sqlite', path: '/var/lib/makai/opq.db' }],
    ['sqlite:///var/lib/makai/opq.db', { kind: 'sqlite', path: '/var/lib/makai/opq.db' }],
    ['sqlite:data/opq.db', { kind: 'sqlite', path: 'data/opq.db' }],
    ['sqlite://data/opq.db', { kind: 'sqlite', path: 'data/opq.db' }],
    ['SQLite:opq.db', { kind: 'sqlite', path: 'opq.db' }],
    ['file:///var/lib/makai/opq%20db.db', { kind: 'sqlite', path: '/var/lib/makai/opq db.db' }],
    ['file:data/opq.db', { kind: 'sqlite', path: 'data/opq.db' }],
    ['mongodb://localhost:27017/opq', { kind: 'mongodb', uri: 'mongodb://localhost:27017/opq' }],
    ['mongodb+srv://u:p@cluster.example.net/opq', { kind: 'mongodb', uri: 'mongodb+srv://u:p@cluster.example.net/opq' }],
    ['postgres://localhost/opq', undefined],
    ['sqlite:', undefined],
    ['', undefined],
  ];
  for (const [uri, expected] of cases) {
    it(`should read "${uri}" as ${expected ? expected.kind : 'unsupported'}`, () => {
      assert.deepStrictEqual(storeTarget(uri), expected);
    });
  }
});

describe('redactUri', () => {
  it('should hide the password of the user info, also in multi-host URIs', () => {
    assert.equal(redactUri('mongodb://makai:s3cr3t@db:27017/opq'), 'mongodb://makai:***@db:27017/opq');
    assert.equal(
      redactUri('mongodb://makai:p%40ss@h1:27017,h2:27018/opq?replicaSet=rs0'),
      'mongodb://makai:***@h1:27017,h2:27018/opq?replicaSet=rs0',
    );
  });

  it('should hide secret query parameters and leave everything else alone', () => {
    assert.equal(redactUri('mongodb://db/opq?tlsCertificateKeyFilePassword=x&w=1'), 'mongodb://db/opq?tlsCertificateKeyFilePassword=***&w=1');
    assert.equal(redactUri('mongodb://makai@db/opq'), 'mongodb://makai@db/opq');
    assert.equal(redactUri('/var/lib/makai/opq.db'), '/var/lib/makai/opq.db');
  });
});

describe('openStore', () => {
  let dir: TempDir;
  before(async () => {
    dir = await createTempDir('makai-open-store-');
  });
  after(async () => {
    await dir.remove();
  });

  for (const [form, uriOf] of [
    ['a sqlite: URI', (path: string) => `sqlite:${path}`],
    ['a plain path', (path: string) => path],
    ['a file: URL', (path: string) => pathToFileURL(path).href],
  ] as const) {
    it(`should open the SQLite store for ${form}`, async () => {
      const path = dir.file(form.replaceAll(/\W/g, '-'), 'opq.db');
      const store = await openStore(uriOf(path));
      try {
        assert.equal(store.kind, 'sqlite');
        assert.equal(store.location, path);
        assert.equal(await store.allocateEventId(), 1);
      } finally {
        await store.close();
      }
    });
  }

  it('should refuse an unknown scheme with a ConfigError that names the URI without its password', async () => {
    const error = await openStore('postgres://makai:hunter2@db/opq', { configFile: 'makai.json', configPath: 'store.uri' }).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.file, 'makai.json');
    assert.equal(error.path, 'store.uri');
    assert.match(error.message, /postgres:\/\/makai:\*\*\*@db\/opq/);
    assert.doesNotMatch(error.message, /hunter2/);
  });

  it('should refuse an empty URI and a file: URL with a remote host', async () => {
    await assert.rejects(openStore('  '), ConfigError);
    await assert.rejects(openStore('file://elsewhere/opq.db'), ConfigError);
  });
});
