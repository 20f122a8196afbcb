import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import type { MeasurementDoc } from '../../src/protocol/documents.js';
import { openMongoStore } from '../../src/stores/mongodb-store.js';
import { migrateSqliteSchema } from '../../src/stores/sqlite-schema.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { monotonicMs } from '../child-process.js';
import type { BenchScenario, ScenarioContext } from '../harness.js';

const run = promisify(execFile);

/** Realistic measurement documents: 1000 boxes in turn, 6 Hz box time, values around 120 V / 60 Hz / 2.5 %. */
export function measurementDocs(count: number, offset = 0): MeasurementDoc[] {
  const t0 = Date.now();
  const expireAt = new Date(t0 + 86_400_000);
  return Array.from({ length: count }, (_, i) => {
    const k = offset + i;
    const box = (k % 1000) + 1;
    const round = Math.floor(k / 1000);
    return {
      box_id: String(box),
      timestamp_ms: t0 + Math.floor((round * 1000) / 6),
      voltage: 120 + Math.sin(k) * 0.3,
      frequency: 60 + Math.cos(k) * 0.003,
      thd: 0.025 + Math.sin(k / 7) * 0.001,
      expireAt,
    };
  });
}

/**
 * Writes batches of `batchSize` for about `budgetMs` (at least 2 batches); documents per second.
 * One batch is written first, untimed: the SQLite store starts its writer thread at the first
 * write (a few hundred ms when running from source), which is start-up, not write rate.
 */
async function rate(batchSize: number, budgetMs: number, write: (docs: readonly MeasurementDoc[]) => Promise<void>): Promise<number> {
  let written = 0;
  await write(measurementDocs(batchSize, written));
  written += batchSize;
  const timedFrom = written;
  const start = monotonicMs();
  let batches = 0;
  while (batches < 2 || monotonicMs() - start < budgetMs) {
    const docs = measurementDocs(batchSize, written);
    await write(docs);
    written += docs.length;
    batches++;
  }
  return (written - timedFrom) / ((monotonicMs() - start) / 1000);
}

/**
 * Writes `total` documents in batches of `batchSize` into one store; documents per second over
 * the last third, when the table already holds the first two thirds (a fresh, small table is
 * several times faster than one that has grown).
 */
async function sustainedRate(total: number, batchSize: number, write: (docs: readonly MeasurementDoc[]) => Promise<void>): Promise<number> {
  let written = 0;
  let start = monotonicMs();
  const from = Math.floor((total * 2) / 3);
  while (written < total) {
    if (written >= from && written - batchSize < from) start = monotonicMs();
    const docs = measurementDocs(batchSize, written);
    await write(docs);
    written += docs.length;
  }
  return (total - from) / ((monotonicMs() - start) / 1000);
}

/**
 * The raw driver on the same schema (indexes included), as the baseline of the SQLite store;
 * `boxFirstIndex` puts back the `(box_id, timestamp_ms)` index of schema version 2, to show
 * what version 3's `(timestamp_ms, box_id)` gained.
 */
function rawSqlite(file: string, boxFirstIndex = false) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  migrateSqliteSchema(db);
  if (boxFirstIndex) db.exec('DROP INDEX measurements_time_box; CREATE INDEX measurements_box_time ON measurements (box_id, timestamp_ms)');
  const insert = db.prepare('INSERT INTO measurements (box_id, timestamp_ms, voltage, frequency, thd, expire_at_ms) VALUES (?, ?, ?, ?, ?, ?)');
  const many = db.transaction((docs: readonly MeasurementDoc[]) => {
    for (const d of docs) insert.run(d.box_id, d.timestamp_ms, d.voltage, d.frequency, d.thd ?? null, d.expireAt.getTime());
  });
  return {
    write: async (docs: readonly MeasurementDoc[]) => many.immediate(docs),
    close: () => db.close(),
  };
}

/** Where a MongoDB-compatible server is: the environment's, one we start (FerretDB), or why there is none. */
async function mongoServer(context: ScenarioContext): Promise<{ uri: string; stop: () => Promise<void> } | { skipped: string }> {
  const uri = process.env['MAKAI_TEST_MONGODB_URI']?.trim();
  if (uri) return { uri, stop: async () => {} };
  if (context.options.smoke) return { skipped: 'MAKAI_TEST_MONGODB_URI not set (the smoke run does not start FerretDB)' };
  const binary = process.env['MAKAI_FERRETDB_BIN'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'makai-ferretdb', 'ferretdb');
  try {
    await access(binary);
  } catch {
    return { skipped: `MAKAI_TEST_MONGODB_URI not set and no FerretDB binary at ${binary} (build it once with .ci/ferretdb.sh build)` };
  }
  // .ci/ferretdb.sh start/stop with a state directory of our own, so a developer's instance is left alone.
  let shm = '/dev/shm';
  try {
    await access(shm);
  } catch {
    shm = context.tempDir;
  }
  const state = await mkdtemp(join(shm, 'makai-bench-ferretdb-'));
  const env = { ...process.env, MAKAI_FERRETDB_BIN: binary, MAKAI_FERRETDB_STATE_DIR: state };
  try {
    const { stdout } = await run('bash', ['.ci/ferretdb.sh', 'start'], { env, timeout: 60_000 });
    const started = /MAKAI_TEST_MONGODB_URI=(\S+)/.exec(stdout)?.[1];
    if (!started) throw new Error(`no URI in: ${stdout}`);
    context.log('started FerretDB (SQLite backend on tmpfs)', { uri: started });
    return {
      uri: started,
      stop: async () => {
        await run('bash', ['.ci/ferretdb.sh', 'stop'], { env, timeout: 60_000 }).catch(() => undefined);
        await rm(state, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(state, { recursive: true, force: true });
    return { skipped: `could not start FerretDB: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * Scenario 5: measurement documents per second into the embedded store and into MongoDB
 * (FerretDB here), by batch size, each as a ratio to the raw driver writing the same documents
 * (same schema and indexes) in the same run.
 */
export const storeWriteRateScenario: BenchScenario = {
  name: 'store-write-rate',
  description: 'measurement documents per second into the SQLite store and MongoDB (FerretDB), batch size sweep, ratio to the raw driver',
  async run(context) {
    const runs = context.runs(3);
    const smoke = context.options.smoke;
    const sizes = smoke ? [1, 100] : [1, 10, 100, 1000, 10_000];
    const budgetMs = smoke ? 50 : 400;

    for (const size of sizes) {
      const store: number[] = [];
      const raw: number[] = [];
      for (let i = 0; i < runs; i++) {
        const file = join(context.tempDir, `sqlite-${size}-${i}`);
        const s = await openSqliteStore({ path: `${file}-store.db` });
        store.push(await rate(size, budgetMs, (docs) => s.insertMeasurements(docs)));
        await s.close();
        const r = rawSqlite(`${file}-raw.db`);
        raw.push(await rate(size, budgetMs, r.write));
        r.close();
      }
      context.report({ metric: `sqlite-batch-${size}`, unit: 'docs/s', values: store, baselineValues: raw, baseline: 'raw better-sqlite3, same schema', note: `store.insertMeasurements, batches of ${size}, fresh file per run` });
    }

    // Sustained: a table that has grown. Measurements of 1000 boxes in turn would land all over
    // a (box_id, timestamp_ms) index (schema version 2), every batch dirtying about one index
    // page per document; the time-first index of version 3 takes them at its right edge.
    const total = smoke ? 3_000 : 300_000;
    const sustained: number[] = [];
    const sustainedRaw: number[] = [];
    const boxFirst: number[] = [];
    for (let i = 0; i < runs; i++) {
      const file = join(context.tempDir, `sustained-${i}`);
      const s = await openSqliteStore({ path: `${file}-store.db` });
      sustained.push(await sustainedRate(total, 1000, (docs) => s.insertMeasurements(docs)));
      await s.close();
      const r = rawSqlite(`${file}-raw.db`);
      sustainedRaw.push(await sustainedRate(total, 1000, r.write));
      r.close();
      const a = rawSqlite(`${file}-box-first.db`, true);
      boxFirst.push(await sustainedRate(total, 1000, a.write));
      a.close();
    }
    const grown = `${total} documents in batches of 1000 into one file; rate over the last third`;
    context.report({ metric: 'sqlite-sustained-batch-1000', unit: 'docs/s', values: sustained, baselineValues: sustainedRaw, baseline: 'raw better-sqlite3, same schema', note: grown });
    context.report({
      metric: 'sqlite-sustained-box-first-index',
      unit: 'docs/s',
      values: boxFirst,
      baselineValues: sustainedRaw,
      baseline: 'raw better-sqlite3, same schema',
      note: `raw driver with schema version 2's (box_id, timestamp_ms) index instead of (timestamp_ms, box_id); ${grown}`,
    });

    const server = await mongoServer(context);
    if ('skipped' in server) {
      context.log(`MongoDB skipped: ${server.skipped}`);
      context.report({ metric: 'mongodb-skipped', unit: 'flag', values: [1], note: server.skipped });
      return;
    }
    const client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 5_000 });
    try {
      await client.connect();
      for (const size of sizes) {
        const store: number[] = [];
        const raw: number[] = [];
        for (let i = 0; i < runs; i++) {
          const database = `makai_bench_${process.pid}_${size}_${i}`;
          const s = await openMongoStore({ uri: server.uri, database });
          store.push(await rate(size, budgetMs * 2, (docs) => s.insertMeasurements(docs)));
          await s.close();
          const collection = client.db(database).collection('raw_measurements');
          await collection.createIndex({ box_id: 1, timestamp_ms: 1 });
          await collection.createIndex({ expireAt: 1 });
          raw.push(await rate(size, budgetMs * 2, async (docs) => void (await collection.insertMany(docs.map((d) => ({ ...d })), { ordered: false }))));
          await client.db(database).dropDatabase();
        }
        context.report({ metric: `mongodb-batch-${size}`, unit: 'docs/s', values: store, baselineValues: raw, baseline: 'raw driver insertMany, same indexes', note: `store.insertMeasurements, batches of ${size}` });
      }
    } finally {
      await client.close();
      await server.stop();
    }
  },
};
