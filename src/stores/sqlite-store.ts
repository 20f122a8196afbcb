import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError, describeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Counter, Metrics } from '../core/metrics.js';
import type { TriggerType } from '../protocol/messages.js';
import type { BoxEventDoc, BoxRecord, BoxStatus, DeadLetterDoc, EventDoc, MeasurementDoc, ShadowRequestDoc, TrendDoc, TrendStats } from '../protocol/documents.js';
import { calibrationConstantProblem } from '../protocol/documents.js';
import { inlineMeasurementWriter, SqliteMeasurementThread, type MeasurementWriter, type ThreadData } from './sqlite-measurement-thread.js';
import { prepareMeasurementWrites } from './sqlite-measurement-writes.js';
import { mergeTrends } from './merge-trends.js';
import { migrateSqliteSchema, SQLITE_SCHEMA_VERSION } from './sqlite-schema.js';
import { isRetryableSqliteError, sqliteStoreError } from './sqlite-store-error.js';
import { DEFAULT_STREAM_PAGE_SIZE, type BoxReply, type BoxReplyOutcome, type DeadLetterRing, type EventListQuery, type MeasurementStreamQuery, type Store, type TimeRangeQuery } from './store.js';

export interface SqliteStoreOptions {
  /** Database file. Missing parent directories are created. `:memory:` gives a private in-memory store. */
  readonly path: string;
  /** Receives a child logger `{ component: 'store.sqlite' }`; silent by default. */
  readonly logger?: Logger;
  /** Counts failed operations and refused documents; nothing is counted without it. */
  readonly metrics?: Metrics;
  /**
   * How long a call waits for another connection's write lock (ms, default
   * {@link DEFAULT_BUSY_TIMEOUT_MS}) before it fails with a retryable StoreError. Except for the
   * measurement writes on their thread, the wait blocks the event loop (better-sqlite3 is
   * synchronous), so it is kept short: callers retry with back-off on their scheduler instead.
   * Opening waits at least {@link OPEN_BUSY_TIMEOUT_MS}.
   */
  readonly busyTimeoutMs?: number;
  /**
   * Where measurements are written: `thread` (default for files) on a worker thread with its own
   * connection, off the event loop; `inline` on the caller's. `:memory:` is always inline.
   */
  readonly measurementWrites?: 'thread' | 'inline';
}

/**
 * Default {@link SqliteStoreOptions.busyTimeoutMs}. Another writer's transaction (a batch of
 * measurements, a box reply) holds the lock for milliseconds, so this covers normal sharing of
 * the file; a lock held longer (a backup, an operator's `sqlite3` shell) fails calls quickly
 * and they are retried. It used to be 5000: every write attempt during such an outage then
 * froze the whole process, trigger path included, for 5 s.
 */
export const DEFAULT_BUSY_TIMEOUT_MS = 50;
/** Busy timeout while opening (WAL switch, migrations), when nothing else runs yet. */
export const OPEN_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if needed) the embedded SQLite store: WAL journal, `synchronous=NORMAL`, a
 * busy timeout so several processes can share the file, and the schema at
 * {@link SQLITE_SCHEMA_VERSION}.
 *
 * @returns The open store; close it with `close()`.
 * @throws StoreError (rejected, never thrown synchronously) when the directory cannot be created
 *   or the file cannot be opened (retryable), or holds a newer schema or is not a database (not retryable).
 * @see SqliteStore
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  return SqliteStore.open(options);
}

// Row shapes as better-sqlite3 returns them (integers as numbers: safeIntegers is off).
interface MeasurementRow {
  box_id: string;
  timestamp_ms: number;
  voltage: number;
  frequency: number;
  thd: number | null;
  expire_at_ms: number;
}
interface TrendRow {
  box_id: string;
  timestamp_ms: number;
  window_start_ms: number;
  count: number;
  voltage: string | null;
  frequency: string | null;
  thd: string | null;
  location: string | null;
}
interface EventRow {
  event_id: number;
  type: string;
  description: string;
  boxes_triggered: string;
  boxes_received: string;
  latencies_ms: string;
  reply_latencies_ms: string | null;
  target_event_start_timestamp_ms: number;
  target_event_end_timestamp_ms: number;
}
interface BoxEventRow {
  event_id: number;
  box_id: string;
  event_start_timestamp_ms: number;
  event_end_timestamp_ms: number;
  window_timestamps_ms: string;
  data_fs_filename: string;
  location: string | null;
}
interface BoxRow {
  box_id: string;
  location: string | null;
  public_key: string | null;
  calibration_constant: number | null;
}
interface BoxStatusRow {
  box_id: string;
  last_measurement_ms: number | null;
  last_pong_ms: number | null;
}

/** SQL NULL stands for "field absent"; anything else is stored as JSON text (so JSON null stays null). */
function toJson(value: unknown): string | null {
  return value === undefined ? null : (JSON.stringify(value) ?? null);
}

function fromJson(text: string | null): unknown {
  return text === null ? undefined : JSON.parse(text);
}

function statsFromJson(text: string | null): TrendStats | undefined {
  return fromJson(text) as TrendStats | undefined;
}

function sqlLimit(operation: string, limit: number | undefined): number {
  if (limit === undefined) return -1; // SQLite: a negative LIMIT means no limit
  if (!Number.isInteger(limit) || limit < 0) {
    throw new StoreError(operation, `limit must be a non-negative integer, got ${limit}`, false);
  }
  return limit;
}

function timeMs(operation: string, what: string, date: Date): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new StoreError(operation, `${what} must be a valid Date`, false);
  return ms;
}

function measurementFromRow(row: MeasurementRow): MeasurementDoc {
  return {
    box_id: row.box_id,
    timestamp_ms: row.timestamp_ms,
    voltage: row.voltage,
    frequency: row.frequency,
    ...(row.thd === null ? {} : { thd: row.thd }),
    expireAt: new Date(row.expire_at_ms),
  };
}

interface ShadowRequestRow {
  plugin: string;
  at_ms: number;
  type: string;
  boxes: string;
  start_ms: number;
  end_ms: number;
  percent_magnitude: number;
  requestee: string;
  description: string;
  request_data: number;
}

function shadowRequestFromRow(row: ShadowRequestRow): ShadowRequestDoc {
  return {
    plugin: row.plugin,
    at_ms: row.at_ms,
    type: row.type as TriggerType,
    boxes: JSON.parse(row.boxes) as string[],
    start_ms: row.start_ms,
    end_ms: row.end_ms,
    percent_magnitude: row.percent_magnitude,
    requestee: row.requestee,
    description: row.description,
    request_data: row.request_data !== 0,
  };
}

/** A row of {@link SqliteStore.streamMeasurements}: box_id, timestamp_ms, voltage, frequency, thd, expire_at_ms, rowid. */
type StreamRow = [string, number, number, number, number | null, number, number];

function measurementFromStreamRow(row: StreamRow): MeasurementDoc {
  const [box_id, timestamp_ms, voltage, frequency, thd, expireAtMs] = row;
  // Two literals rather than a conditional spread: this runs for every measurement replayed.
  return thd === null
    ? { box_id, timestamp_ms, voltage, frequency, expireAt: new Date(expireAtMs) }
    : { box_id, timestamp_ms, voltage, frequency, thd, expireAt: new Date(expireAtMs) };
}

function trendFromRow(row: TrendRow): TrendDoc {
  const voltage = statsFromJson(row.voltage);
  const frequency = statsFromJson(row.frequency);
  const thd = statsFromJson(row.thd);
  return {
    box_id: row.box_id,
    timestamp_ms: row.timestamp_ms,
    window_start_ms: row.window_start_ms,
    count: row.count,
    ...(voltage === undefined ? {} : { voltage }),
    ...(frequency === undefined ? {} : { frequency }),
    ...(thd === undefined ? {} : { thd }),
    location: fromJson(row.location),
  };
}

function eventFromRow(row: EventRow): EventDoc {
  return {
    event_id: row.event_id,
    type: row.type as TriggerType,
    description: row.description,
    boxes_triggered: JSON.parse(row.boxes_triggered) as string[],
    boxes_received: JSON.parse(row.boxes_received) as string[],
    latencies_ms: JSON.parse(row.latencies_ms) as number[],
    ...(row.reply_latencies_ms === null ? {} : { reply_latencies_ms: JSON.parse(row.reply_latencies_ms) as number[] }),
    target_event_start_timestamp_ms: row.target_event_start_timestamp_ms,
    target_event_end_timestamp_ms: row.target_event_end_timestamp_ms,
  };
}

function boxEventFromRow(row: BoxEventRow): BoxEventDoc {
  return {
    event_id: row.event_id,
    box_id: row.box_id,
    event_start_timestamp_ms: row.event_start_timestamp_ms,
    event_end_timestamp_ms: row.event_end_timestamp_ms,
    window_timestamps_ms: JSON.parse(row.window_timestamps_ms) as number[],
    data_fs_filename: row.data_fs_filename,
    ...(row.location === null ? {} : { location: JSON.parse(row.location) as unknown }),
  };
}

function boxFromRow(row: BoxRow): BoxRecord {
  return {
    box_id: row.box_id,
    ...(row.location === null ? {} : { location: JSON.parse(row.location) as unknown }),
    ...(row.public_key === null ? {} : { public_key: row.public_key }),
    ...(row.calibration_constant === null ? {} : { calibration_constant: row.calibration_constant }),
  };
}

function statusFromRow(row: BoxStatusRow): BoxStatus {
  return {
    box_id: row.box_id,
    ...(row.last_measurement_ms === null ? {} : { last_measurement_ms: row.last_measurement_ms }),
    ...(row.last_pong_ms === null ? {} : { last_pong_ms: row.last_pong_ms }),
  };
}

/** The WHERE clause and parameters of a {@link TimeRangeQuery}. */
function rangeWhere(query: TimeRangeQuery): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (query.box_id !== undefined) {
    clauses.push('box_id = ?');
    params.push(query.box_id);
  }
  if (query.fromMs !== undefined) {
    clauses.push('timestamp_ms >= ?');
    params.push(query.fromMs);
  }
  if (query.toMs !== undefined) {
    clauses.push('timestamp_ms < ?');
    params.push(query.toMs);
  }
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/**
 * The embedded default {@link Store}: one SQLite file (better-sqlite3, synchronous) holding the
 * logical OPQ collections. Measurements, the one high-rate write, go through a writer thread
 * with a connection of its own ({@link SqliteMeasurementThread}); everything else runs on the
 * caller's connection. Several instances and several processes may share one file: writes
 * that read first (event ids, box replies) run under `BEGIN IMMEDIATE`, and a busy file makes a
 * call wait up to `busyTimeoutMs`, then fail with a retryable StoreError.
 *
 * Batch inserts (`insertMeasurements`, `insertTrends`) run in one transaction; an invalid
 * document is skipped (counted, and reported afterwards with a non-retryable StoreError) while
 * the valid ones are stored, like MongoDB's unordered inserts. A retryable failure rolls the
 * whole batch back, so retrying it never duplicates documents.
 *
 * Create it with {@link openSqliteStore}.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly location: string;

  private db: Database.Database | undefined;
  private readonly logger: Logger;
  private readonly errors: Counter<string> | undefined;
  private readonly refused: Counter<string> | undefined;
  /** Prepared statements for queries whose SQL depends on the filters given. */
  private readonly dynamic = new Map<string, Database.Statement>();

  private readonly measurements: MeasurementWriter;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private readonly tx: ReturnType<typeof prepareTransactions>;

  private constructor(db: Database.Database, location: string, logger: Logger, metrics: Metrics | undefined, measurements: ThreadData | 'inline') {
    this.db = db;
    this.measurements =
      measurements === 'inline' ? inlineMeasurementWriter(prepareMeasurementWrites(db)) : new SqliteMeasurementThread(measurements, logger);
    this.location = location;
    this.logger = logger;
    this.errors = metrics?.counter('makai_store_errors_total', 'Store operations that failed', [
      'store',
      'operation',
      'retryable',
    ]);
    this.refused = metrics?.counter('makai_store_documents_refused_total', 'Invalid documents a store refused', [
      'store',
      'operation',
    ]);
    this.stmt = prepareStatements(db);
    this.tx = prepareTransactions(db, this.stmt);
  }

  /** @see openSqliteStore */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    const logger = (options.logger ?? silentLogger).child({ component: 'store.sqlite' });
    const memory = options.path === ':memory:';
    if (options.path === '') throw new StoreError('open', 'the SQLite path is empty', false);
    const location = memory ? options.path : resolve(options.path);
    if (!memory) {
      try {
        await mkdir(dirname(location), { recursive: true });
      } catch (error) {
        throw sqliteStoreError('open', error, { context: `cannot create the directory of ${location}` });
      }
    }
    let db: Database.Database;
    try {
      db = new Database(location);
    } catch (error) {
      // better-sqlite3 reports some unopenable paths as a plain TypeError; those are environmental too.
      const retryable = error instanceof TypeError || isRetryableSqliteError(error);
      throw sqliteStoreError('open', error, { context: `cannot open SQLite database ${location}`, retryable });
    }
    try {
      db.defaultSafeIntegers(false);
      const busyTimeoutMs = Math.max(0, Math.trunc(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS));
      // The busy timeout first: switching to WAL needs a lock another process may hold. Opening
      // may wait longer than a call: nothing else runs yet.
      db.pragma(`busy_timeout = ${Math.max(busyTimeoutMs, OPEN_BUSY_TIMEOUT_MS)}`);
      const journal = db.pragma('journal_mode = WAL', { simple: true }) as string;
      db.pragma('synchronous = NORMAL');
      const from = migrateSqliteSchema(db);
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      const inline = memory || options.measurementWrites === 'inline';
      const thread = { path: location, busyTimeoutMs };
      const store = new SqliteStore(db, location, logger, options.metrics, inline ? 'inline' : thread);
      logger.info('sqlite store open', { path: location, journal, schemaVersion: SQLITE_SCHEMA_VERSION, migratedFrom: from });
      if (!memory && journal !== 'wal') logger.warn('could not switch the SQLite journal to WAL', { path: location, journal });
      return store;
    } catch (error) {
      db.close();
      throw sqliteStoreError('open', error, { context: `cannot open SQLite database ${location}` });
    }
  }

  insertMeasurements(docs: readonly MeasurementDoc[]): Promise<void> {
    return this.run('insertMeasurements', async () => {
      if (docs.length === 0) return;
      const { refused, firstRefusal } = await this.measurements.insert(docs);
      if (refused > 0) throw this.refusal('insertMeasurements', refused, docs.length, firstRefusal ?? 'unknown');
    });
  }

  insertTrends(docs: readonly TrendDoc[]): Promise<void> {
    return this.run('insertTrends', () => this.insertEach('insertTrends', docs, this.tx.insertTrends));
  }

  deleteExpiredMeasurements(now: Date): Promise<number> {
    return this.run('deleteExpiredMeasurements', () => {
      const ms = timeMs('deleteExpiredMeasurements', 'now', now);
      return this.measurements.deleteExpired(ms);
    });
  }

  allocateEventId(): Promise<number> {
    return this.run('allocateEventId', () => this.tx.allocateEventId.immediate());
  }

  insertEvent(doc: EventDoc): Promise<void> {
    return this.run('insertEvent', () => {
      this.stmt.insertEvent.run(
        doc.event_id,
        doc.type,
        doc.description,
        JSON.stringify(doc.boxes_triggered),
        JSON.stringify(doc.boxes_received),
        JSON.stringify(doc.latencies_ms),
        toJson(doc.reply_latencies_ms),
        doc.target_event_start_timestamp_ms,
        doc.target_event_end_timestamp_ms,
      );
    });
  }

  recordBoxReply(reply: BoxReply): Promise<BoxReplyOutcome> {
    return this.run('recordBoxReply', () => this.tx.recordBoxReply.immediate(reply));
  }

  listBoxes(): Promise<BoxRecord[]> {
    return this.run('listBoxes', () => this.stmt.listBoxes.all().map(boxFromRow));
  }

  getBox(boxId: string): Promise<BoxRecord | undefined> {
    return this.run('getBox', () => {
      const row = this.stmt.getBox.get(boxId);
      return row === undefined ? undefined : boxFromRow(row);
    });
  }

  upsertBox(box: BoxRecord): Promise<void> {
    return this.run('upsertBox', () => {
      const calibrationProblem = calibrationConstantProblem(box.calibration_constant);
      if (calibrationProblem) throw new StoreError('upsertBox', calibrationProblem, false);
      this.stmt.upsertBox.run(box.box_id, toJson(box.location), box.public_key ?? null, box.calibration_constant ?? null);
    });
  }

  removeBox(boxId: string): Promise<boolean> {
    return this.run('removeBox', () => this.stmt.removeBox.run(boxId).changes > 0);
  }

  updateBoxStatus(status: BoxStatus): Promise<void> {
    return this.run('updateBoxStatus', () => {
      this.stmt.upsertStatus.run(status.box_id, status.last_measurement_ms ?? null, status.last_pong_ms ?? null);
    });
  }

  updateBoxStatuses(statuses: readonly BoxStatus[]): Promise<void> {
    return this.run('updateBoxStatuses', () => this.insertEach('updateBoxStatuses', statuses, this.tx.updateBoxStatuses));
  }

  listBoxStatus(): Promise<BoxStatus[]> {
    return this.run('listBoxStatus', () => this.stmt.listStatus.all().map(statusFromRow));
  }

  getEvent(eventId: number): Promise<EventDoc | undefined> {
    return this.run('getEvent', () => {
      const row = this.stmt.getEvent.get(eventId);
      return row === undefined ? undefined : eventFromRow(row);
    });
  }

  listEvents(query: EventListQuery = {}): Promise<EventDoc[]> {
    return this.run('listEvents', () => {
      const limit = sqlLimit('listEvents', query.limit);
      if (query.fromMs === undefined && query.toMs === undefined) return (this.stmt.listEvents.all(limit) as EventRow[]).map(eventFromRow);
      const rows = this.prepared(
        'SELECT * FROM events WHERE target_event_start_timestamp_ms >= ? AND target_event_start_timestamp_ms < ? ORDER BY event_id DESC LIMIT ?',
      ).all(query.fromMs ?? Number.MIN_SAFE_INTEGER, query.toMs ?? Number.MAX_SAFE_INTEGER, limit) as EventRow[];
      return rows.map(eventFromRow);
    });
  }

  listBoxEvents(eventId: number): Promise<BoxEventDoc[]> {
    return this.run('listBoxEvents', () => this.stmt.listBoxEvents.all(eventId).map(boxEventFromRow));
  }

  getWaveform(filename: string): Promise<Uint8Array | undefined> {
    return this.run('getWaveform', () => {
      const data = this.stmt.getWaveform.get(filename);
      // A plain Uint8Array copy, not the Buffer better-sqlite3 hands out.
      return data === undefined ? undefined : new Uint8Array(data);
    });
  }

  queryMeasurements(query: TimeRangeQuery): Promise<MeasurementDoc[]> {
    return this.run('queryMeasurements', () => {
      const where = rangeWhere(query);
      const sql = `SELECT * FROM measurements ${where.sql} ORDER BY timestamp_ms, rowid LIMIT ?`;
      const rows = this.prepared(sql).all(...where.params, sqlLimit('queryMeasurements', query.limit)) as MeasurementRow[];
      return rows.map(measurementFromRow);
    });
  }

  /**
   * Keyset pages on `(timestamp_ms, rowid)`: each page is one short query that starts after the
   * last row of the one before, so no statement stays open between pages (better-sqlite3 holds
   * the connection busy while an iterator is open, and a long read would pin the WAL).
   */
  async *streamMeasurements(query: MeasurementStreamQuery): AsyncIterable<readonly MeasurementDoc[]> {
    const pageSize = query.pageSize ?? DEFAULT_STREAM_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1) throw this.fail('streamMeasurements', new StoreError('streamMeasurements', `pageSize must be a whole number ≥ 1, got ${pageSize}`, false));
    if (query.boxes !== undefined && query.boxes.length === 0) return;
    const boxes = query.boxes === undefined ? '' : ` AND box_id IN (${query.boxes.map(() => '?').join(', ')})`;
    // The lower bound moves with the last row read, so every page is an index range from there
    // (with the bound fixed at `from`, each page would scan every row before it again).
    // Rows as arrays (better-sqlite3's raw mode): about twice as fast as an object per row.
    const sql = `SELECT box_id, timestamp_ms, voltage, frequency, thd, expire_at_ms, rowid FROM measurements
      WHERE timestamp_ms >= ? AND timestamp_ms < ?${boxes} AND (timestamp_ms > ? OR rowid > ?)
      ORDER BY timestamp_ms, rowid LIMIT ?`;
    const from = query.fromMs ?? Number.MIN_SAFE_INTEGER;
    const to = query.toMs ?? Number.MAX_SAFE_INTEGER;
    // Before the first page: "after" nothing (every rowid is greater).
    let afterTime = from;
    let afterRow = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const [time, row] = [afterTime, afterRow];
      const page = await this.run('streamMeasurements', () => this.preparedRaw(sql).all(time, to, ...(query.boxes ?? []), time, row, pageSize) as StreamRow[]);
      if (page.length > 0) yield page.map(measurementFromStreamRow);
      if (page.length < pageSize) return;
      const last = page[page.length - 1]!;
      afterTime = last[1];
      afterRow = last[6];
      // A macrotask between pages: timers, signals and sockets are served during a long read.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  countMeasurements(query: { readonly box_id?: string } = {}): Promise<number> {
    return this.run('countMeasurements', () => {
      const row =
        query.box_id === undefined
          ? this.prepared('SELECT count(*) AS n FROM measurements').get()
          : this.prepared('SELECT count(*) AS n FROM measurements WHERE box_id = ?').get(query.box_id);
      return (row as { n: number }).n;
    });
  }

  queryTrends(query: TimeRangeQuery): Promise<TrendDoc[]> {
    return this.run('queryTrends', () => {
      const where = rangeWhere(query);
      const sql = `SELECT * FROM trends ${where.sql} ORDER BY timestamp_ms, rowid LIMIT ?`;
      const rows = this.prepared(sql).all(...where.params, sqlLimit('queryTrends', query.limit)) as TrendRow[];
      return rows.map(trendFromRow);
    });
  }

  /** Closes the file (checkpointing the WAL). Closing twice is fine; every other call afterwards rejects. */
  async close(): Promise<void> {
    const db = this.db;
    if (db === undefined) return;
    this.db = undefined;
    this.dynamic.clear();
    try {
      // The writer thread first: what was asked of it is committed before the store is closed.
      await this.measurements.close();
      db.close();
      this.logger.debug('sqlite store closed', { path: this.location });
    } catch (error) {
      throw this.fail('close', error);
    }
  }

  /** Runs one operation, turning every failure (and use after close) into a rejected StoreError. */
  private async run<T>(operation: string, body: () => T | Promise<T>): Promise<T> {
    if (this.db === undefined) throw this.fail(operation, new StoreError(operation, `store ${this.location} is closed`, false));
    try {
      return await body();
    } catch (error) {
      throw this.fail(operation, error);
    }
  }

  private fail(operation: string, error: unknown): StoreError {
    const storeError = sqliteStoreError(operation, error);
    this.errors?.inc({ store: 'sqlite', operation, retryable: String(storeError.retryable) });
    return storeError;
  }

  /** {@link prepared} in raw mode (rows as arrays), cached apart from the object-mode one. */
  private preparedRaw(sql: string): Database.Statement {
    const key = `raw:${sql}`;
    let statement = this.dynamic.get(key);
    if (statement === undefined) {
      statement = (this.db as Database.Database).prepare(sql).raw(true);
      this.dynamic.set(key, statement);
    }
    return statement;
  }

  private prepared(sql: string): Database.Statement {
    let statement = this.dynamic.get(sql);
    if (statement === undefined) {
      statement = (this.db as Database.Database).prepare(sql);
      this.dynamic.set(sql, statement);
    }
    return statement;
  }

  /** Shared by the batch inserts: store the valid documents, report the invalid ones afterwards. */
  private insertEach<D>(
    operation: string,
    docs: readonly D[],
    insert: Database.Transaction<(docs: readonly D[], refused: unknown[]) => void>,
  ): void {
    if (docs.length === 0) return;
    const refused: unknown[] = [];
    insert.immediate(docs, refused);
    if (refused.length > 0) throw this.refusal(operation, refused.length, docs.length, describeError(refused[0]), refused[0]);
  }

  /** Counts and logs the refused documents of a batch; the error to reject the call with. */
  private refusal(operation: string, refused: number, of: number, first: string, cause?: unknown): StoreError {
    this.refused?.inc({ store: 'sqlite', operation }, refused);
    this.logger.warn('refused invalid documents', { operation, refused, of, first });
    return new StoreError(operation, `${refused} of ${of} documents refused (the other ${of - refused} were stored); first: ${first}`, false, {
      cause,
    });
  }

  // --- dead letters (refused input, bounded) -----------------------------------------------

  insertDeadLetters(docs: readonly DeadLetterDoc[]): Promise<void> {
    return this.run('insertDeadLetters', () => {
      const insert = this.prepared('INSERT INTO dead_letters (source, reason, detail, preview, at_ms) VALUES (?, ?, ?, ?, ?)');
      const db = this.db as Database.Database;
      this.insertEach(
        'insertDeadLetters',
        docs,
        db.transaction((batch: readonly DeadLetterDoc[], refused: unknown[]) =>
          insertValid(batch, refused, (doc) => insert.run(doc.source, doc.reason, doc.detail, doc.preview, doc.at_ms)),
        ),
      );
    });
  }

  listDeadLetters(query: { readonly limit?: number } = {}): Promise<DeadLetterDoc[]> {
    return this.run('listDeadLetters', () => {
      const limit = sqlLimit('listDeadLetters', query.limit);
      const rows = this.prepared(
        'SELECT source, reason, detail, preview, at_ms FROM dead_letters ORDER BY at_ms DESC, id DESC LIMIT ?',
      ).all(limit) as DeadLetterDoc[];
      return rows.map((row) => ({ ...row }));
    });
  }

  insertShadowRequests(docs: readonly ShadowRequestDoc[]): Promise<void> {
    return this.run('insertShadowRequests', () => {
      const insert = this.prepared(
        `INSERT INTO shadow_requests (plugin, at_ms, type, boxes, start_ms, end_ms, percent_magnitude, requestee, description, request_data)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const db = this.db as Database.Database;
      this.insertEach(
        'insertShadowRequests',
        docs,
        db.transaction((batch: readonly ShadowRequestDoc[], refused: unknown[]) =>
          insertValid(batch, refused, (doc) => {
            if (!Array.isArray(doc.boxes) || !doc.boxes.every((box) => typeof box === 'string')) throw new StoreError('insertShadowRequests', 'boxes must be an array of strings', false);
            insert.run(doc.plugin, doc.at_ms, doc.type, JSON.stringify(doc.boxes), doc.start_ms, doc.end_ms, doc.percent_magnitude, doc.requestee, doc.description, doc.request_data ? 1 : 0);
          }),
        ),
      );
    });
  }

  listShadowRequests(query: { readonly limit?: number; readonly plugin?: string } = {}): Promise<ShadowRequestDoc[]> {
    return this.run('listShadowRequests', () => {
      const limit = sqlLimit('listShadowRequests', query.limit);
      const rows = (
        query.plugin === undefined
          ? this.prepared('SELECT * FROM shadow_requests ORDER BY at_ms DESC, id DESC LIMIT ?').all(limit)
          : this.prepared('SELECT * FROM shadow_requests WHERE plugin = ? ORDER BY at_ms DESC, id DESC LIMIT ?').all(query.plugin, limit)
      ) as ShadowRequestRow[];
      return rows.map(shadowRequestFromRow);
    });
  }

  trimDeadLetters(keep: number, of?: DeadLetterRing): Promise<number> {
    return this.run('trimDeadLetters', () => {
      const limit = sqlLimit('trimDeadLetters', keep);
      if (of !== undefined) {
        const [source, reason] = [String(of.source), String(of.reason)];
        return this.prepared(
          `DELETE FROM dead_letters WHERE source = ? AND reason = ? AND id NOT IN
             (SELECT id FROM dead_letters WHERE source = ? AND reason = ? ORDER BY at_ms DESC, id DESC LIMIT ?)`,
        ).run(source, reason, source, reason, limit).changes;
      }
      return this.prepared(
        'DELETE FROM dead_letters WHERE id NOT IN (SELECT id FROM dead_letters ORDER BY at_ms DESC, id DESC LIMIT ?)',
      ).run(limit).changes;
    });
  }
}

/** Runs `insert` for every document, collecting non-retryable failures; a retryable one aborts the batch. */
function insertValid<D>(docs: readonly D[], refused: unknown[], insert: (doc: D) => void): void {
  for (const doc of docs) {
    try {
      insert(doc);
    } catch (error) {
      // SQLite undoes only the failed statement on a constraint error; the transaction goes on.
      if (isRetryableSqliteError(error)) throw error;
      refused.push(error);
    }
  }
}

function prepareStatements(db: Database.Database) {
  return {
    insertTrend: db.prepare<[string, number, number, number, string | null, string | null, string | null, string | null]>(
      `INSERT INTO trends (box_id, timestamp_ms, window_start_ms, count, voltage, frequency, thd, location)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    findTrend: db.prepare<[string, number, number], TrendRow & { rowid: number }>(
      'SELECT rowid, * FROM trends WHERE box_id = ? AND window_start_ms = ? AND timestamp_ms = ?',
    ),
    updateTrend: db.prepare<[number, string | null, string | null, string | null, number]>(
      'UPDATE trends SET count = ?, voltage = ?, frequency = ?, thd = ? WHERE rowid = ?',
    ),
    lastEventCounter: db.prepare<[], number>("SELECT value FROM counters WHERE name = 'event_id'").pluck(),
    maxEventId: db.prepare<[], number | null>('SELECT max(event_id) FROM events').pluck(),
    setEventCounter: db.prepare<[number]>(
      "INSERT INTO counters (name, value) VALUES ('event_id', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    ),
    insertEvent: db.prepare<[number, string, string, string, string, string, string | null, number, number]>(
      `INSERT INTO events (event_id, type, description, boxes_triggered, boxes_received, latencies_ms,
         reply_latencies_ms, target_event_start_timestamp_ms, target_event_end_timestamp_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getEvent: db.prepare<[number], EventRow>('SELECT * FROM events WHERE event_id = ?'),
    listEvents: db.prepare<[number], EventRow>('SELECT * FROM events ORDER BY event_id DESC LIMIT ?'),
    eventArrays: db.prepare<[number], Pick<EventRow, 'boxes_received' | 'latencies_ms' | 'reply_latencies_ms'>>(
      'SELECT boxes_received, latencies_ms, reply_latencies_ms FROM events WHERE event_id = ?',
    ),
    setEventArrays: db.prepare<[string, string, string, number]>(
      'UPDATE events SET boxes_received = ?, latencies_ms = ?, reply_latencies_ms = ? WHERE event_id = ?',
    ),
    insertBoxEvent: db.prepare<[number, string, number, number, string, string, string | null]>(
      `INSERT INTO box_events (event_id, box_id, event_start_timestamp_ms, event_end_timestamp_ms,
         window_timestamps_ms, data_fs_filename, location)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id, box_id) DO NOTHING`,
    ),
    listBoxEvents: db.prepare<[number], BoxEventRow>('SELECT * FROM box_events WHERE event_id = ? ORDER BY rowid'),
    // A waveform left by an earlier, unrecorded attempt is replaced: the box_events row decides duplicates.
    putWaveform: db.prepare<[string, Uint8Array, number, string, number]>(
      'INSERT OR REPLACE INTO waveforms (filename, data, event_id, box_id, upload_date_ms) VALUES (?, ?, ?, ?, ?)',
    ),
    getWaveform: db.prepare<[string], Buffer>('SELECT data FROM waveforms WHERE filename = ?').pluck(),
    listBoxes: db.prepare<[], BoxRow>('SELECT * FROM opq_boxes ORDER BY box_id'),
    getBox: db.prepare<[string], BoxRow>('SELECT * FROM opq_boxes WHERE box_id = ?'),
    upsertBox: db.prepare<[string, string | null, string | null, number | null]>(
      'INSERT OR REPLACE INTO opq_boxes (box_id, location, public_key, calibration_constant) VALUES (?, ?, ?, ?)',
    ),
    removeBox: db.prepare<[string]>('DELETE FROM opq_boxes WHERE box_id = ?'),
    upsertStatus: db.prepare<[string, number | null, number | null]>(
      `INSERT INTO box_status (box_id, last_measurement_ms, last_pong_ms) VALUES (?, ?, ?)
       ON CONFLICT (box_id) DO UPDATE SET
         last_measurement_ms = coalesce(excluded.last_measurement_ms, last_measurement_ms),
         last_pong_ms = coalesce(excluded.last_pong_ms, last_pong_ms)`,
    ),
    listStatus: db.prepare<[], BoxStatusRow>('SELECT * FROM box_status ORDER BY box_id'),
  };
}

function prepareTransactions(db: Database.Database, stmt: ReturnType<typeof prepareStatements>) {
  return {
    // One row per (box, window): a second write of a window merges into the row (schema v4).
    insertTrends: db.transaction((docs: readonly TrendDoc[], refused: unknown[]) =>
      insertValid(docs, refused, (doc) => {
        const row = stmt.findTrend.get(doc.box_id, doc.window_start_ms, doc.timestamp_ms);
        if (row !== undefined) {
          const merged = mergeTrends(trendFromRow(row), doc);
          stmt.updateTrend.run(merged.count, toJson(merged.voltage), toJson(merged.frequency), toJson(merged.thd), row.rowid);
          return;
        }
        stmt.insertTrend.run(
          doc.box_id,
          doc.timestamp_ms,
          doc.window_start_ms,
          doc.count,
          toJson(doc.voltage),
          toJson(doc.frequency),
          toJson(doc.thd),
          toJson(doc.location),
        );
      }),
    ),
    updateBoxStatuses: db.transaction((statuses: readonly BoxStatus[], refused: unknown[]) =>
      insertValid(statuses, refused, (status) => {
        stmt.upsertStatus.run(status.box_id, status.last_measurement_ms ?? null, status.last_pong_ms ?? null);
      }),
    ),
    // Seeded from max(events.event_id) on every call, so numbering continues after a restart and
    // after events written by another writer; run with .immediate() so the read and the write
    // hold one write lock across connections.
    allocateEventId: db.transaction((): number => {
      const last = stmt.lastEventCounter.get() ?? 0;
      const highest = stmt.maxEventId.get() ?? 0;
      const next = Math.max(last, highest, 0) + 1;
      stmt.setEventCounter.run(next);
      return next;
    }),
    recordBoxReply: db.transaction((reply: BoxReply): BoxReplyOutcome => {
      const { boxEvent } = reply;
      const arrays = stmt.eventArrays.get(boxEvent.event_id);
      if (arrays === undefined) return 'unknown-event';
      const inserted = stmt.insertBoxEvent.run(
        boxEvent.event_id,
        boxEvent.box_id,
        boxEvent.event_start_timestamp_ms,
        boxEvent.event_end_timestamp_ms,
        JSON.stringify(boxEvent.window_timestamps_ms),
        boxEvent.data_fs_filename,
        toJson(boxEvent.location),
      );
      if (inserted.changes === 0) return 'duplicate';
      stmt.putWaveform.run(boxEvent.data_fs_filename, reply.waveform, boxEvent.event_id, boxEvent.box_id, reply.receivedAtMs);
      const received = JSON.parse(arrays.boxes_received) as string[];
      const latencies = JSON.parse(arrays.latencies_ms) as number[];
      const replyLatencies = (arrays.reply_latencies_ms === null ? [] : JSON.parse(arrays.reply_latencies_ms)) as number[];
      received.push(boxEvent.box_id);
      latencies.push(reply.receivedAtMs);
      replyLatencies.push(reply.replyLatencyMs);
      stmt.setEventArrays.run(
        JSON.stringify(received),
        JSON.stringify(latencies),
        JSON.stringify(replyLatencies),
        boxEvent.event_id,
      );
      return 'stored';
    }),
  };
}
