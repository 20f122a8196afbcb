import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { MeasurementDoc } from '../../src/protocol/documents.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';

const T = 1_700_000_000_000;

function measurements(from: number, n: number): MeasurementDoc[] {
  return Array.from({ length: n }, (_, i) => ({
    box_id: String(i % 7),
    timestamp_ms: from + i,
    voltage: 120 + i / 1000,
    frequency: 60,
    ...(i % 2 === 0 ? { thd: 0.02 } : {}),
    expireAt: new Date(T + 86_400_000 + i),
  }));
}

describe('sqlite store: measurements written on a thread of their own', () => {
  let dir: TempDir;
  before(async () => {
    dir = await createTempDir('makai-sqlite-thread-');
  });
  after(() => dir.remove());

  it('keeps the event loop running while a write waits for the lock, and commits once it is free', async () => {
    const path = dir.file('lock-wait.db');
    // The thread waits up to 10 s for the lock: far longer than this test holds it.
    const store = await openSqliteStore({ path, busyTimeoutMs: 10_000 });
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      let settled = false;
      const insert = store.insertMeasurements(measurements(T, 50)).finally(() => {
        settled = true;
      });
      // Inline, this call would have blocked the event loop until the lock was free.
      await sleep(50);
      assert.equal(settled, false, 'the write waits on its thread, not on the event loop');
      assert.equal(await store.countMeasurements(), 0, 'reads go on meanwhile');
      other.exec('COMMIT');
      await insert;
      assert.equal(await store.countMeasurements(), 50);
    } finally {
      other.close();
      await store.close();
    }
  });

  it('stores every document exactly as given, in the order the writes were asked for', async () => {
    const store = await openSqliteStore({ path: dir.file('order.db') });
    try {
      const batches = [measurements(T, 300), measurements(T + 300, 1), measurements(T + 301, 99)];
      await Promise.all(batches.map((batch) => store.insertMeasurements(batch)));
      const back = await store.queryMeasurements({});
      assert.deepStrictEqual(back, batches.flat());
    } finally {
      await store.close();
    }
  });

  it('finishes the writes already asked for before close() resolves', async () => {
    const path = dir.file('close.db');
    const store = await openSqliteStore({ path });
    const writes = Array.from({ length: 20 }, (_, i) => store.insertMeasurements(measurements(T + i * 100, 100)));
    await store.close();
    await Promise.all(writes);
    const reopened = await openSqliteStore({ path });
    try {
      assert.equal(await reopened.countMeasurements(), 2000);
    } finally {
      await reopened.close();
    }
  });

  it('writes inline when asked to, with the same results', async () => {
    const store = await openSqliteStore({ path: dir.file('inline.db'), measurementWrites: 'inline' });
    try {
      const docs = measurements(T, 40);
      await store.insertMeasurements(docs);
      assert.deepStrictEqual(await store.queryMeasurements({}), docs);
    } finally {
      await store.close();
    }
  });

  it('does not keep a process alive once its writes are done, even left open', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'sqlite-thread-exit-child.ts'), dir.file('exit.db')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const hang = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    clearTimeout(hang);
    assert.equal(code, 0, 'the child exited by itself (killed after 30 s otherwise)');
    assert.equal(output.trim(), 'stored 25');
  });
});
