import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { command } from '../../../src/cli/commands/deadletters.js';
import { UsageError } from '../../../src/cli/command.js';
import { openSqliteStore } from '../../../src/stores/sqlite-store.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';
import { captureIo } from './sag-event-fixture.js';

const T = Date.UTC(2024, 4, 1, 10, 0, 0);

describe('makai deadletters', () => {
  let dir: TempDir;
  before(async () => {
    dir = await createTempDir('makai-deadletters-cli-');
  });
  after(async () => {
    await dir.remove();
  });

  it('lists the newest first, as a table or JSON, at most --limit', async () => {
    const path = dir.file('letters.db');
    const store = await openSqliteStore({ path });
    await store.insertDeadLetters(
      Array.from({ length: 5 }, (_, i) => ({ source: 'decode', reason: i === 4 ? 'frame-count' : 'truncated', detail: `garbage\n${i}`, preview: i === 0 ? '' : 'ff', at_ms: T + i * 1000 })),
    );
    await store.close();

    let { io, out } = captureIo();
    assert.equal(await command.run(['--store', `sqlite:${path}`, '--limit', '2'], io), 0);
    assert.deepEqual(out[0]!.split('\n'), [
      'time (UTC)                source  reason       detail     first bytes (hex)',
      '2024-05-01T10:00:04.000Z  decode  frame-count  garbage 4  ff',
      '2024-05-01T10:00:03.000Z  decode  truncated    garbage 3  ff',
    ]);
    assert.match(out[1]!, /^2 refused inputs, newest first \(/);

    ({ io, out } = captureIo());
    assert.equal(await command.run(['--store', path, '--json'], io), 0);
    const letters = JSON.parse(out.join('')) as { detail: string; preview: string }[];
    assert.deepStrictEqual(letters.map((d) => d.detail), [4, 3, 2, 1, 0].map((i) => `garbage\n${i}`));
    assert.equal(letters[4]!.preview, '');
  });

  it('says so when nothing was kept, and exits 1 for a store that does not exist', async () => {
    const empty = dir.file('empty.db');
    await (await openSqliteStore({ path: empty })).close();
    let { io, out, err } = captureIo();
    assert.equal(await command.run(['--store', empty], io), 0);
    assert.match(out.join('\n'), /^no refused input kept in /);

    ({ io, out, err } = captureIo());
    assert.equal(await command.run(['--store', dir.file('missing.db')], io), 1);
    assert.match(err.join('\n'), /^makai deadletters: .*no store at .*missing\.db/);
  });

  it('refuses a bad --limit', async () => {
    const { io } = captureIo();
    for (const limit of ['0', '-1', 'ten', '1.5']) await assert.rejects(command.run([`--limit=${limit}`], io), UsageError, limit);
  });
});
