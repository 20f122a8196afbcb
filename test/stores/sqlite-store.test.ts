import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { StoreError } from '../../src/core/errors.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import type { EventDoc, MeasurementDoc } from '../../src/protocol/documents.js';
import { SQLITE_SCHEMA_VERSION } from '../../src/stores/sqlite-schema.js';
import { openSqliteStore, type SqliteStore } from '../../src/stores/sqlite-store.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { storeContract } from './store-contract.js';

storeContract('sqlite', async () => {
  const dir = await createTempDir('makai-sqlite-');
  // A missing parent directory: the store creates it.
  const path = dir.file('data', 'opq.db');
  const store = await openSqliteStore({ path });
  return {
    store,
    openAnother: () => openSqliteStore({ path }),
    openUnreachable: async () => {
      // A regular file where a directory should be: unopenable even for root.
      await writeFile(dir.file('in-the-way'), '');
      return openSqliteStore({ path: dir.file('in-the-way', 'sub', 'opq.db') });
    },
    cleanup: () => dir.remove(),
  };
});

const T = 1_700_000_000_123;
const isRoot = process.getuid?.() === 0;

/** Turns a current-schema file back into what schema `version` (1 to 4) wrote, keeping its rows. */
function rewindSchema(path: string, version: 1 | 2 | 3 | 4 | 5): void {
  const db = new Database(path);
  try {
    // Version 6 added shadow_requests.
    db.exec('DROP TABLE shadow_requests');
    if (version === 5) {
      db.pragma('user_version = 5');
      return;
    }
    // Version 5 added opq_boxes.calibration_constant.
    db.exec('ALTER TABLE opq_boxes DROP COLUMN calibration_constant');
    if (version === 4) {
      db.pragma('user_version = 4');
      return;
    }
    // Version 4 made trends unique per box and window.
    db.exec('DROP INDEX trends_box_window');
    if (version === 3) {
      db.pragma('user_version = 3');
      return;
    }
    // Version 3 indexed measurements by time first; 1 and 2 by box first.
    db.exec('DROP INDEX measurements_time_box; CREATE INDEX measurements_box_time ON measurements (box_id, timestamp_ms)');
    // Version 2 added dead_letters.
    if (version === 1) db.exec('DROP TABLE dead_letters');
    db.pragma(`user_version = ${version}`);
  } finally {
    db.close();
  }
}

function measurement(timestamp_ms: number, extra: Partial<MeasurementDoc> = {}): MeasurementDoc {
  return { box_id: '1', timestamp_ms, voltage: 120, frequency: 60, expireAt: new Date(T + 86_400_000), ...extra };
}

function eventDoc(event_id: number): EventDoc {
  return {
    event_id,
    type: 'VOLTAGE_SWELL',
    description: '',
    boxes_triggered: ['1'],
    boxes_received: [],
    latencies_ms: [],
    target_event_start_timestamp_ms: T,
    target_event_end_timestamp_ms: T + 1,
  };
}

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    return error;
  }
  assert.fail('resolved instead of rejecting');
}

/** Runs the allocation child; resolves once it printed `ready`, with a way to start it and collect its ids. */
function startAllocator(path: string, count: number): Promise<{ go(): void; ids: Promise<number[]> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/stores/sqlite-allocate-child.ts', path, String(count)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return new Promise((resolveReady, rejectReady) => {
    const received: string[] = [];
    lines.on('line', (line) => {
      received.push(line);
      if (line === 'ready') {
        resolveReady({
          go: () => child.stdin.end('go\n'),
          ids: exited.then((code) => {
            assert.equal(code, 0, `allocator exited with ${code}: ${stderr}`);
            return JSON.parse(received.at(-1) ?? '[]') as number[];
          }),
        });
      }
    });
    void exited.then((code) => rejectReady(new Error(`allocator exited with ${code} before ready: ${stderr}`)));
  });
}

describe('sqlite store', () => {
  let dir: TempDir;
  before(async () => {
    dir = await createTempDir('makai-sqlite-');
  });
  after(async () => {
    await dir.remove();
  });

  it('allocates distinct event ids from two processes on one file', async () => {
    const path = dir.file('two-processes.db');
    const store = await openSqliteStore({ path });
    try {
      await store.insertEvent(eventDoc(500));
      const children = await Promise.all([startAllocator(path, 200), startAllocator(path, 200)]);
      for (const child of children) child.go();
      const [a, b] = await Promise.all(children.map((child) => child.ids));
      const all = [...a!, ...b!];
      assert.equal(all.length, 400);
      assert.equal(new Set(all).size, 400, 'every id is distinct');
      assert.ok(all.every((id) => Number.isInteger(id) && id > 500), 'every id follows the existing event 500');
      assert.equal(await store.allocateEventId(), Math.max(...all) + 1, 'this connection continues after both');
    } finally {
      await store.close();
    }
  });

  it('creates a versioned schema with WAL, STRICT tables and the query indexes', async () => {
    const path = dir.file('schema.db');
    const logger = new RecordingLogger();
    const store = await openSqliteStore({ path, logger });
    await store.close();
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('user_version', { simple: true }), SQLITE_SCHEMA_VERSION);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      const tables = db.prepare<[], { name: string; strict: number }>("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite_%' ORDER BY name").all();
      assert.deepStrictEqual(
        tables.map((t) => t.name),
        ['box_events', 'box_status', 'counters', 'dead_letters', 'events', 'measurements', 'opq_boxes', 'shadow_requests', 'trends', 'waveforms'],
      );
      assert.ok(tables.every((t) => t.strict === 1), 'every table is STRICT');
      const indexes = db.prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").all();
      assert.deepStrictEqual(
        indexes.map((i) => i.name),
        ['box_events_event_box', 'dead_letters_newest', 'measurements_expire', 'measurements_time_box', 'shadow_requests_newest', 'trends_box_time', 'trends_box_window'],
      );
      assert.match(indexes[0]!.sql, /^CREATE UNIQUE INDEX/);
    } finally {
      db.close();
    }
    assert.ok(logger.records.some((r) => r.msg === 'sqlite store open' && r['component'] === 'store.sqlite' && r['path'] === path));
  });

  it('reopens an existing file without migrating it again', async () => {
    const path = dir.file('reopen.db');
    await (await openSqliteStore({ path })).close();
    const logger = new RecordingLogger();
    const store = await openSqliteStore({ path, logger });
    await store.close();
    assert.equal(logger.records.find((r) => r.msg === 'sqlite store open')?.['migratedFrom'], SQLITE_SCHEMA_VERSION);
  });

  /** A file with `docs` written in schema `version`, opened (and so migrated) by the current store. */
  async function openMigrated(version: 1 | 2 | 5, docs: MeasurementDoc[]): Promise<{ store: SqliteStore; path: string }> {
    const path = dir.file(`v${version}.db`);
    const old = await openSqliteStore({ path });
    await old.insertMeasurements(docs);
    await old.close();
    rewindSchema(path, version);
    const logger = new RecordingLogger();
    const store = await openSqliteStore({ path, logger });
    assert.equal(logger.records.find((r) => r.msg === 'sqlite store open')?.['migratedFrom'], version);
    return { store, path };
  }

  it('migrates a version 5 file: its data kept, shadow requests logged afterwards', async () => {
    const { store } = await openMigrated(5, [measurement(1_700_000_000_000)]);
    try {
      assert.equal(await store.countMeasurements(), 1);
      const doc = { plugin: 'p', at_ms: 1, type: 'OTHER' as const, boxes: ['1'], start_ms: 0, end_ms: 1, percent_magnitude: 0, requestee: '', description: '', request_data: false };
      await store.insertShadowRequests([doc]);
      assert.deepStrictEqual(await store.listShadowRequests(), [doc]);
    } finally {
      await store.close();
    }
  });

  it('migrates a version 1 file to the current schema, keeping its data', async () => {
    const { store } = await openMigrated(1, [measurement(1_700_000_000_000)]);
    try {
      assert.equal(await store.countMeasurements(), 1);
      await store.insertDeadLetters([{ source: 'decode', reason: 'truncated', detail: 'x', preview: '0a', at_ms: 1 }]);
      assert.equal((await store.listDeadLetters()).length, 1);
    } finally {
      await store.close();
    }
  });

  it('migrates a version 2 file to the time-first measurements index, and box queries use it', async () => {
    const docs = [3, 1, 2].flatMap((ts) => ['a', 'b'].map((box) => measurement(1_700_000_000_000 + ts, { box_id: box })));
    const { store, path } = await openMigrated(2, docs);
    try {
      const back = await store.queryMeasurements({ box_id: 'b', fromMs: 1_700_000_000_002 });
      assert.deepStrictEqual(back.map((m) => [m.box_id, m.timestamp_ms]), [['b', 1_700_000_000_002], ['b', 1_700_000_000_003]]);
      assert.equal(await store.countMeasurements({ box_id: 'a' }), 3);
    } finally {
      await store.close();
    }
    const check = new Database(path, { readonly: true });
    try {
      const names = check.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'measurements' ORDER BY name").pluck().all();
      assert.deepStrictEqual(names, ['measurements_expire', 'measurements_time_box']);
      const plan = check
        .prepare<[string, number], { detail: string }>('EXPLAIN QUERY PLAN SELECT * FROM measurements WHERE box_id = ? AND timestamp_ms >= ? ORDER BY timestamp_ms, rowid')
        .all('b', 0)
        .map((row) => row.detail)
        .join('; ');
      assert.match(plan, /USING INDEX measurements_time_box/);
    } finally {
      check.close();
    }
  });

  it('migrates a version 3 file with a trend written twice (a restart) into one merged row per box and window', async () => {
    const path = dir.file('v3-trends.db');
    await (await openSqliteStore({ path })).close();
    rewindSchema(path, 3);
    // What version 3 wrote for a restart inside a minute: two rows for one window (counts 1 and 80).
    const db = new Database(path);
    try {
      const insert = db.prepare('INSERT INTO trends (box_id, timestamp_ms, window_start_ms, count, voltage, frequency, thd, location) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      const stats = (min: number, max: number, average: number) => JSON.stringify({ min, max, average });
      insert.run('1', T + 60_000, T, 1, stats(120, 120, 120), stats(60, 60, 60), null, '"kailua"');
      insert.run('1', T + 60_000, T, 80, stats(118, 122, 121), stats(59.9, 60.1, 60), stats(0.01, 0.02, 0.015), '"kailua"');
      insert.run('1', T + 120_000, T + 60_000, 6, stats(119, 119, 119), stats(60, 60, 60), null, '"kailua"');
    } finally {
      db.close();
    }
    const store = await openSqliteStore({ path });
    try {
      const trends = await store.queryTrends({ box_id: '1' });
      assert.deepStrictEqual(
        trends.map((t) => [t.window_start_ms, t.count, t.voltage?.min, t.voltage?.max, t.thd?.max, t.location]),
        [
          [T, 81, 118, 122, 0.02, 'kailua'],
          [T + 60_000, 6, 119, 119, undefined, 'kailua'],
        ],
      );
      assert.ok(Math.abs(trends[0]!.voltage!.average - (120 + 121 * 80) / 81) < 1e-9);
    } finally {
      await store.close();
    }
  });

  it('refuses a file with a newer schema version, and a file that is not a database', async () => {
    const newer = dir.file('newer.db');
    const db = new Database(newer);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    const tooNew = await rejection(openSqliteStore({ path: newer }));
    assert.equal(tooNew.retryable, false);
    assert.match(tooNew.message, /newer/);

    const garbage = dir.file('garbage.db');
    await writeFile(garbage, 'this is not an SQLite file, not even close. '.repeat(50));
    const notADatabase = await rejection(openSqliteStore({ path: garbage }));
    assert.equal(notADatabase.retryable, false);
    assert.match(notADatabase.message, /SQLITE_NOTADB/);
  });

  it('returns int64 timestamps as exact numbers', async () => {
    const store = await openSqliteStore({ path: dir.file('int64.db') });
    try {
      const big = [2 ** 31 + 1, 2 ** 32 + 3, 2 ** 41 + 5, Number.MAX_SAFE_INTEGER];
      // Dates stop at 8.64e15 ms, so the last expireAt stays ordinary.
      await store.insertMeasurements(big.map((ts) => measurement(ts, { expireAt: new Date(Math.min(ts, 2 ** 41 + 5)) })));
      const back = await store.queryMeasurements({});
      assert.deepStrictEqual(back.map((m) => m.timestamp_ms), big);
      assert.ok(back.every((m) => typeof m.timestamp_ms === 'number'), 'numbers, not BigInt');
      assert.deepStrictEqual(back.slice(0, 3).map((m) => m.expireAt.getTime()), big.slice(0, 3));
      await store.updateBoxStatus({ box_id: '1', last_measurement_ms: 2 ** 41 + 5 });
      assert.deepStrictEqual(await store.listBoxStatus(), [{ box_id: '1', last_measurement_ms: 2 ** 41 + 5 }]);
    } finally {
      await store.close();
    }
  });

  it('stores the valid documents of a batch and reports the invalid ones as not retryable', async () => {
    const metrics = new Metrics();
    const store = await openSqliteStore({ path: dir.file('invalid.db'), metrics });
    try {
      const batch = [
        measurement(T),
        measurement(T + 0.5), // a fractional timestamp: refused by the STRICT INTEGER column
        measurement(T + 1, { voltage: Number.NaN }), // NaN becomes NULL: refused by NOT NULL
        measurement(T + 2, { expireAt: new Date(Number.NaN) }),
        measurement(T + 3),
      ];
      const error = await rejection(store.insertMeasurements(batch));
      assert.equal(error.retryable, false);
      assert.equal(error.operation, 'insertMeasurements');
      assert.match(error.message, /3 of 5 documents refused/);
      assert.deepStrictEqual((await store.queryMeasurements({})).map((m) => m.timestamp_ms), [T, T + 3]);
      assert.equal(await metrics.value('makai_store_documents_refused_total', { operation: 'insertMeasurements' }), 3);
      assert.equal(await metrics.value('makai_store_errors_total', { operation: 'insertMeasurements', retryable: 'false' }), 1);

      const duplicate = await (async () => {
        await store.insertEvent(eventDoc(1));
        return rejection(store.insertEvent({ ...eventDoc(1), description: 'again' }));
      })();
      assert.equal(duplicate.retryable, false);
      assert.match(duplicate.message, /SQLITE_CONSTRAINT/);
      assert.equal((await store.getEvent(1))?.description, '', 'the first event is kept');

      assert.equal((await rejection(store.queryMeasurements({ limit: -1 }))).retryable, false);
      assert.equal((await rejection(store.deleteExpiredMeasurements(new Date('nonsense')))).retryable, false);
    } finally {
      await store.close();
    }
  });

  it('fails with a retryable StoreError while another connection holds the write lock, and works after', async () => {
    const path = dir.file('busy.db');
    const metrics = new Metrics();
    const store = await openSqliteStore({ path, metrics, busyTimeoutMs: 0 });
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      const busy = await rejection(store.insertMeasurements([measurement(T)]));
      assert.equal(busy.retryable, true);
      assert.match(busy.message, /SQLITE_BUSY/);
      assert.equal((await rejection(store.allocateEventId())).retryable, true);
      assert.equal(await metrics.value('makai_store_errors_total', { retryable: 'true' }), 2);
      assert.equal(await store.countMeasurements(), 0, 'reads still work under WAL');
      other.exec('COMMIT');
      await store.insertMeasurements([measurement(T)]);
      assert.equal(await store.countMeasurements(), 1);
      assert.equal(await store.allocateEventId(), 1);
    } finally {
      other.close();
      await store.close();
    }
  });

  it('rejects clearly when the path cannot hold a database', async () => {
    await writeFile(dir.file('a-file'), '');
    const underFile = await rejection(openSqliteStore({ path: dir.file('a-file', 'x', 'opq.db') }));
    assert.equal(underFile.retryable, true);
    assert.match(underFile.message, /cannot create the directory of .*a-file/);

    await mkdir(dir.file('a-directory'));
    const isDirectory = await rejection(openSqliteStore({ path: dir.file('a-directory') }));
    assert.equal(isDirectory.retryable, true);
    assert.match(isDirectory.message, /cannot open SQLite database .*a-directory/);

    assert.equal((await rejection(openSqliteStore({ path: '' }))).retryable, false);
  });

  it('rejects with a retryable StoreError on a read-only directory or file', { skip: isRoot && 'root ignores file permissions' }, async () => {
    const locked = dir.file('locked');
    await mkdir(locked);
    await chmod(locked, 0o555);
    try {
      const error = await rejection(openSqliteStore({ path: `${locked}/opq.db` }));
      assert.equal(error.retryable, true);
    } finally {
      await chmod(locked, 0o755);
    }

    const readOnly = dir.file('read-only.db');
    await (await openSqliteStore({ path: readOnly })).close();
    await chmod(readOnly, 0o444);
    try {
      // Opening may succeed read-only; then the first write fails.
      const error = await rejection(openSqliteStore({ path: readOnly }).then((store) =>
        store.insertMeasurements([measurement(T)]).finally(() => store.close()),
      ));
      assert.equal(error.retryable, true);
    } finally {
      await chmod(readOnly, 0o644);
    }
  });

  it('works in memory', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    try {
      assert.equal(store.location, ':memory:');
      assert.equal(store.kind, 'sqlite');
      await store.insertMeasurements([measurement(T)]);
      assert.equal(await store.countMeasurements(), 1);
    } finally {
      await store.close();
    }
  });
});
