import type BetterSqlite3 from 'better-sqlite3';
import { StoreError } from '../core/errors.js';
import type { TrendDoc, TrendStats } from '../protocol/documents.js';
import { mergeTrends } from './merge-trends.js';

/**
 * The schema version this code writes, kept in `PRAGMA user_version`. Bump it and add a step to
 * {@link MIGRATIONS} when the schema changes; never edit a released step.
 */
export const SQLITE_SCHEMA_VERSION = 6;

/**
 * The SQLite schema of the logical OPQ collections (spec §4). Tables are STRICT so a wrong type
 * (a fractional timestamp, a NaN voltage) is refused instead of stored. Timestamps are INTEGER
 * ms (int64 in SQLite); non-scalar values (arrays, locations of any JSON shape, trend stats) are
 * JSON text, where SQL NULL means "field absent" and the text `null` means a JSON null.
 *
 * @internal
 */
const SCHEMA_V1 = `
CREATE TABLE measurements (
  box_id       TEXT    NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  voltage      REAL    NOT NULL,
  frequency    REAL    NOT NULL,
  thd          REAL,
  expire_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX measurements_box_time ON measurements (box_id, timestamp_ms);
CREATE INDEX measurements_expire ON measurements (expire_at_ms);

CREATE TABLE trends (
  box_id          TEXT    NOT NULL,
  timestamp_ms    INTEGER NOT NULL,
  window_start_ms INTEGER NOT NULL,
  count           INTEGER NOT NULL,
  voltage         TEXT,
  frequency       TEXT,
  thd             TEXT,
  location        TEXT
) STRICT;
CREATE INDEX trends_box_time ON trends (box_id, timestamp_ms);

CREATE TABLE events (
  event_id                        INTEGER PRIMARY KEY,
  type                            TEXT    NOT NULL,
  description                     TEXT    NOT NULL,
  boxes_triggered                 TEXT    NOT NULL,
  boxes_received                  TEXT    NOT NULL,
  latencies_ms                    TEXT    NOT NULL,
  reply_latencies_ms              TEXT,
  target_event_start_timestamp_ms INTEGER NOT NULL,
  target_event_end_timestamp_ms   INTEGER NOT NULL
) STRICT;

CREATE TABLE box_events (
  event_id                 INTEGER NOT NULL,
  box_id                   TEXT    NOT NULL,
  event_start_timestamp_ms INTEGER NOT NULL,
  event_end_timestamp_ms   INTEGER NOT NULL,
  window_timestamps_ms     TEXT    NOT NULL,
  data_fs_filename         TEXT    NOT NULL,
  location                 TEXT
) STRICT;
CREATE UNIQUE INDEX box_events_event_box ON box_events (event_id, box_id);

CREATE TABLE waveforms (
  filename       TEXT PRIMARY KEY,
  data           BLOB    NOT NULL,
  event_id       INTEGER NOT NULL,
  box_id         TEXT    NOT NULL,
  upload_date_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE opq_boxes (
  box_id     TEXT PRIMARY KEY,
  location   TEXT,
  public_key TEXT
) STRICT;

CREATE TABLE box_status (
  box_id              TEXT PRIMARY KEY,
  last_measurement_ms INTEGER,
  last_pong_ms        INTEGER
) STRICT;

-- Named counters; 'event_id' holds the last allocated event number.
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT;
`;

/** Version 2: refused input, trimmed to the newest N by its writer (`id` is the insertion order). */
const SCHEMA_V2 = `
CREATE TABLE dead_letters (
  id      INTEGER PRIMARY KEY,
  source  TEXT    NOT NULL,
  reason  TEXT    NOT NULL,
  detail  TEXT    NOT NULL,
  preview TEXT    NOT NULL,
  at_ms   INTEGER NOT NULL
) STRICT;
CREATE INDEX dead_letters_newest ON dead_letters (at_ms, id);
`;

/**
 * Version 3: measurements indexed by time, then box. Boxes report in turn, so their newest
 * measurements all land at the right edge of a time-first index; with `(box_id, timestamp_ms)`
 * every document of a batch from 1000 boxes dirtied an index page of its own, and inserts on a
 * grown table ran 7x slower (docs/benchmarks.md). Reads by box and time range scan the range
 * and filter on the index's second column, which is cheap for the short ranges View and Mauka
 * ask for, and the time order reads come in is the index order.
 */
const SCHEMA_V3 = `
DROP INDEX measurements_box_time;
CREATE INDEX measurements_time_box ON measurements (timestamp_ms, box_id);
`;

/**
 * Version 4: one trend row per box and window, so a second write of a window (a restart inside
 * a minute) merges into the first. Rows written twice by earlier versions are merged first
 * (min of min, max of max, count-weighted average, counts added; the oldest row's location),
 * then the unique index makes it a rule.
 */
function schemaV4(db: BetterSqlite3.Database): void {
  const groups = db
    .prepare<[], { box_id: string; window_start_ms: number; timestamp_ms: number }>(
      'SELECT box_id, window_start_ms, timestamp_ms FROM trends GROUP BY box_id, window_start_ms, timestamp_ms HAVING count(*) > 1',
    )
    .all();
  const rowsOf = db.prepare<[string, number, number], V3TrendRow>(
    'SELECT rowid, * FROM trends WHERE box_id = ? AND window_start_ms = ? AND timestamp_ms = ? ORDER BY rowid',
  );
  const update = db.prepare<[number, string | null, string | null, string | null, number]>(
    'UPDATE trends SET count = ?, voltage = ?, frequency = ?, thd = ? WHERE rowid = ?',
  );
  const remove = db.prepare<[number]>('DELETE FROM trends WHERE rowid = ?');
  for (const group of groups) {
    const [first, ...rest] = rowsOf.all(group.box_id, group.window_start_ms, group.timestamp_ms);
    if (!first) continue;
    const merged = rest.reduce((doc, row) => mergeTrends(doc, trendOfRow(row)), trendOfRow(first));
    update.run(merged.count, statsJson(merged.voltage), statsJson(merged.frequency), statsJson(merged.thd), first.rowid);
    for (const row of rest) remove.run(row.rowid);
  }
  db.exec('CREATE UNIQUE INDEX trends_box_window ON trends (box_id, window_start_ms, timestamp_ms)');
}

interface V3TrendRow {
  rowid: number;
  box_id: string;
  timestamp_ms: number;
  window_start_ms: number;
  count: number;
  voltage: string | null;
  frequency: string | null;
  thd: string | null;
  location: string | null;
}

function trendOfRow(row: V3TrendRow): TrendDoc {
  const stats = (text: string | null) => (text === null ? {} : (JSON.parse(text) as TrendStats));
  return {
    box_id: row.box_id,
    timestamp_ms: row.timestamp_ms,
    window_start_ms: row.window_start_ms,
    count: row.count,
    ...(row.voltage === null ? {} : { voltage: stats(row.voltage) as TrendStats }),
    ...(row.frequency === null ? {} : { frequency: stats(row.frequency) as TrendStats }),
    ...(row.thd === null ? {} : { thd: stats(row.thd) as TrendStats }),
    location: row.location,
  };
}

function statsJson(stats: TrendStats | undefined): string | null {
  return stats === undefined ? null : JSON.stringify(stats);
}

/**
 * Version 5: `opq_boxes.calibration_constant` (counts per volt), which OPQ Mauka reads for every
 * box of an event (issue 14). NULL for entries written before it: the field is absent.
 */
const SCHEMA_V5 = `
ALTER TABLE opq_boxes ADD COLUMN calibration_constant REAL;
`;

/** Version 6: the requests of shadow plugins, logged instead of sent (`makai shadow list`). */
const SCHEMA_V6 = `
CREATE TABLE shadow_requests (
  id                INTEGER PRIMARY KEY,
  plugin            TEXT    NOT NULL,
  at_ms             INTEGER NOT NULL,
  type              TEXT    NOT NULL,
  boxes             TEXT    NOT NULL,
  start_ms          INTEGER NOT NULL,
  end_ms            INTEGER NOT NULL,
  percent_magnitude REAL    NOT NULL,
  requestee         TEXT    NOT NULL,
  description       TEXT    NOT NULL,
  request_data      INTEGER NOT NULL
) STRICT;
CREATE INDEX shadow_requests_newest ON shadow_requests (at_ms, id);
`;


/** Step i brings a database from user_version i to i + 1: SQL, or code for what SQL cannot say. */
const MIGRATIONS: readonly (string | ((db: BetterSqlite3.Database) => void))[] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, schemaV4, SCHEMA_V5, SCHEMA_V6];

/**
 * Creates or upgrades the schema of an open database. Runs under `BEGIN IMMEDIATE` and re-reads
 * the version inside it, so two processes opening one new file at once migrate it only once.
 *
 * @throws StoreError (not retryable) when the file was written by a newer schema version.
 * @internal
 */
export function migrateSqliteSchema(db: BetterSqlite3.Database): number {
  const migrate = db.transaction((): number => {
    const found = db.pragma('user_version', { simple: true }) as number;
    if (found > SQLITE_SCHEMA_VERSION) {
      throw new StoreError(
        'open',
        `${db.name} has schema version ${found}, newer than the ${SQLITE_SCHEMA_VERSION} this Makai understands`,
        false,
      );
    }
    for (let version = found; version < SQLITE_SCHEMA_VERSION; version++) {
      const step = MIGRATIONS[version] ?? '';
      if (typeof step === 'string') db.exec(step);
      else step(db);
    }
    // PRAGMA takes no bound parameters; the value is our own integer constant.
    if (found !== SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
    return found;
  });
  return migrate.immediate();
}
