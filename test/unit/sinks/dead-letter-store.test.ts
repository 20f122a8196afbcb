import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VirtualTimeScheduler } from 'rxjs';
import { StoreError } from '../../../src/core/errors.js';
import { RecordingLogger, silentLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/core/metrics.js';
import type { Rejection } from '../../../src/core/rejection.js';
import { deadLetterLog } from '../../../src/sinks/dead-letter-log.js';
import { DeadLetterStore, toDeadLetterDoc } from '../../../src/sinks/dead-letter-store.js';
import type { DeadLetterDoc } from '../../../src/protocol/documents.js';
import { openSqliteStore, type SqliteStore } from '../../../src/stores/sqlite-store.js';
import type { Store } from '../../../src/stores/store.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';

const T = 1_700_000_000_000;

// One source and reason, as capacity is per source and reason (the per-ring test mixes them).
function rejection(i: number, reason: Rejection['reason'] = 'truncated'): Rejection {
  return { source: 'decode', reason, detail: `garbage ${i}`, preview: (i % 256).toString(16).padStart(2, '0'), atMs: T + i };
}

const details = (docs: readonly DeadLetterDoc[]) => docs.map((d) => d.detail);
const newest = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => `garbage ${to - k}`);

describe('DeadLetterStore', () => {
  let dir: TempDir;
  let store: SqliteStore;
  before(async () => {
    dir = await createTempDir('makai-dead-letters-');
  });
  after(async () => {
    await dir.remove();
  });
  const freshStore = async (name: string) => (store = await openSqliteStore({ path: dir.file(`${name}.db`) }));

  it('keeps the newest N in memory and in the store (insert N + k, list returns the newest N)', async () => {
    await freshStore('bounded');
    const metrics = new Metrics();
    const deadLetters = new DeadLetterStore({ store, capacity: 10, metrics, logger: silentLogger, scheduler: new VirtualTimeScheduler() });
    for (let i = 1; i <= 14; i++) deadLetters.keep(rejection(i));
    assert.deepStrictEqual(details(deadLetters.recent()), newest(5, 14));
    assert.deepStrictEqual(details(deadLetters.recent(3)), newest(12, 14));
    assert.deepStrictEqual(deadLetters.recent(1)[0], toDeadLetterDoc(rejection(14), 0));
    await deadLetters.flush();
    assert.deepStrictEqual(details(await store.listDeadLetters()), newest(5, 14), 'only the newest 10 are written');

    // A second round: the store is trimmed to the newest 10 again.
    for (let i = 15; i <= 21; i++) deadLetters.keep(rejection(i));
    await deadLetters.close();
    assert.deepStrictEqual(details(await store.listDeadLetters()), newest(12, 21));
    assert.equal(await metrics.value('makai_dead_letters_stored_total'), 17);
    assert.equal(await metrics.value('makai_dead_letters_unsaved_total'), 4, 'letters 1-4 were overwritten before any write');
    await store.close();
  });

  it('keeps a ring per source and reason: a flood of one never evicts the letters of another', async () => {
    await freshStore('per-reason');
    const metrics = new Metrics();
    const deadLetters = new DeadLetterStore({ store, capacity: 5, metrics, logger: silentLogger, scheduler: new VirtualTimeScheduler() });
    // Three genuine decode failures, then a flood of 40 late trend messages (the same reason
    // label as a decode range failure, from another source), then one more decode failure.
    for (let i = 1; i <= 3; i++) deadLetters.keep({ ...rejection(i, 'out-of-range'), source: 'decode' });
    for (let i = 4; i <= 43; i++) deadLetters.keep({ ...rejection(i, 'out-of-range'), source: 'trends' });
    deadLetters.keep(rejection(44, 'frame-count'));
    const expected = ['garbage 44', ...newest(39, 43), ...newest(1, 3)];
    assert.deepStrictEqual(details(deadLetters.recent()), expected, 'newest first over all reasons; 5 of the flood, all others');
    assert.deepStrictEqual(details(deadLetters.recent(2)), ['garbage 44', 'garbage 43']);
    await deadLetters.flush();
    assert.deepStrictEqual(details(await store.listDeadLetters()), expected, 'the same in the store, as makai deadletters lists it');

    // The flood goes on after a write: the store is trimmed per source and reason.
    for (let i = 45; i <= 60; i++) deadLetters.keep({ ...rejection(i, 'out-of-range'), source: 'trends' });
    await deadLetters.close();
    assert.deepStrictEqual(details(await store.listDeadLetters()), [...newest(56, 60), 'garbage 44', ...newest(1, 3)]);
    assert.equal(await metrics.value('makai_dead_letters_unsaved_total'), 35 + 11, 'flood letters overwritten before a write');
    await store.close();
  });

  it('writes on its scheduler, flushMs after the first letter, and keeps the stored form bounded', async () => {
    await freshStore('timer');
    const scheduler = new VirtualTimeScheduler();
    const deadLetters = new DeadLetterStore({ store, flushMs: 500, metrics: new Metrics(), logger: silentLogger, scheduler });
    scheduler.frame = 250;
    deadLetters.keep({ source: 'decode', reason: 'truncated', detail: 'x'.repeat(5000), preview: 'ab'.repeat(1000), atMs: T + 0.7 });
    deadLetters.keep({ source: 'decode', reason: 'frame-count', detail: 'y', preview: '', atMs: Number.NaN });
    assert.deepStrictEqual(await store.listDeadLetters(), [], 'nothing written before the timer');
    scheduler.flush(); // runs the 500 ms timer (virtual), which writes (SQLite writes at the call)
    assert.equal(scheduler.frame, 750);
    const stored = await store.listDeadLetters();
    assert.equal(stored.length, 2);
    const long = stored.find((d) => d.reason === 'truncated')!;
    assert.equal(long.detail.length, 500);
    assert.equal(long.preview.length, 64, 'at most 32 bytes of hex');
    assert.equal(long.at_ms, T);
    assert.equal(stored.find((d) => d.reason === 'frame-count')!.at_ms, 250, 'a rejection without a time gets the scheduler time');
    await deadLetters.close();
    await store.close();
  });

  it('survives a failing store: logs once, retries with back-off, counts what it could not keep', async () => {
    await freshStore('failing');
    let failing = true;
    const flaky: Pick<Store, 'insertDeadLetters' | 'trimDeadLetters'> = {
      insertDeadLetters: (docs) => (failing ? Promise.reject(new StoreError('insertDeadLetters', 'database is locked', true)) : store.insertDeadLetters(docs)),
      trimDeadLetters: (keep, reason) => store.trimDeadLetters(keep, reason),
    };
    const logger = new RecordingLogger();
    const metrics = new Metrics();
    const scheduler = new VirtualTimeScheduler();
    const deadLetters = new DeadLetterStore({ store: flaky, capacity: 5, flushMs: 100, metrics, logger, scheduler });
    for (let i = 1; i <= 3; i++) deadLetters.keep(rejection(i));
    await deadLetters.flush();
    await deadLetters.flush();
    assert.equal(await metrics.value('makai_dead_letters_write_failures_total'), 2);
    assert.equal(logger.records.filter((r) => r.level === 'warn').length, 1, 'one warning per outage');
    for (let i = 4; i <= 8; i++) deadLetters.keep(rejection(i)); // overwrites 1-3, never written
    assert.equal(await metrics.value('makai_dead_letters_unsaved_total'), 3);

    failing = false;
    await deadLetters.flush();
    assert.deepStrictEqual(details(await store.listDeadLetters()), newest(4, 8));
    assert.ok(logger.records.some((r) => r.msg === 'dead letters written again'));
    await deadLetters.close();
    deadLetters.keep(rejection(9)); // after close: memory only, no timer left behind
    assert.equal(details(deadLetters.recent(1))[0], 'garbage 9');
    assert.equal(scheduler.actions.length, 0, 'no timer pending');
    await store.close();
  });

  it('keeps letters in memory only without a store, and plugs into the dead-letter log with one call', async () => {
    const metrics = new Metrics();
    const scheduler = new VirtualTimeScheduler();
    const deadLetters = new DeadLetterStore({ capacity: 2, metrics, logger: silentLogger, scheduler });
    const log = deadLetterLog({ logger: silentLogger, metrics, scheduler, keep: deadLetters.keep });
    for (let i = 1; i <= 3; i++) log.next(rejection(i));
    assert.deepStrictEqual(details(deadLetters.recent()), newest(2, 3));
    assert.equal(await metrics.value('makai_rejected_total'), 3);
    assert.equal(await metrics.value('makai_dead_letters_unsaved_total'), 0, 'nothing to save without a store');
    assert.equal(scheduler.actions.length, 0);
    await deadLetters.close();
  });

  it('refuses a capacity below 1', () => {
    assert.throws(() => new DeadLetterStore({ capacity: 0, metrics: new Metrics(), logger: silentLogger }), { name: 'ConfigError' });
  });
});
