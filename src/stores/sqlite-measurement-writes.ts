import type BetterSqlite3 from 'better-sqlite3';
import { StoreError, describeError } from '../core/errors.js';
import { MEASUREMENT_STRIDE, type MeasurementColumns } from './measurement-columns.js';
import { isRetryableSqliteError } from './sqlite-store-error.js';

/** What a batch insert refused; the valid documents of the batch were stored. */
export interface MeasurementInsertResult {
  readonly refused: number;
  /** Why the first refused document was refused. */
  readonly firstRefusal?: string;
}

/** The writes to the `measurements` table, on one connection; the same code runs inline and in the writer thread. */
export interface SqliteMeasurementWrites {
  /**
   * Inserts a batch in one `BEGIN IMMEDIATE` transaction. Invalid documents (a fractional
   * timestamp, a NaN voltage, an invalid expiry) are refused one by one and the rest stored.
   *
   * @throws the SQLite error when the write failed as a whole (file locked, disk full): nothing is stored.
   */
  insert(columns: MeasurementColumns): MeasurementInsertResult;
  /** Deletes measurements that expired at or before `nowMs`; returns how many. */
  deleteExpired(nowMs: number): number;
}

/** Prepares the measurement writes on an open database at the current schema. */
export function prepareMeasurementWrites(db: BetterSqlite3.Database): SqliteMeasurementWrites {
  const insertOne = db.prepare<[unknown, number, number, number, number | null, number]>(
    'INSERT INTO measurements (box_id, timestamp_ms, voltage, frequency, thd, expire_at_ms) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const deleteExpired = db.prepare<[number]>('DELETE FROM measurements WHERE expire_at_ms <= ?');
  const insertAll = db.transaction((columns: MeasurementColumns, refused: unknown[]) => {
    const { boxIds, values } = columns;
    for (let i = 0, at = 0; i < boxIds.length; i++, at += MEASUREMENT_STRIDE) {
      const thd = values[at + 3]!;
      const expireAtMs = values[at + 4]!;
      try {
        if (!Number.isFinite(expireAtMs)) throw new StoreError('insertMeasurements', 'expireAt must be a valid Date', false);
        // NaN binds as SQL NULL, which the NOT NULL columns refuse.
        insertOne.run(boxIds[i], values[at]!, values[at + 1]!, values[at + 2]!, Number.isNaN(thd) ? null : thd, expireAtMs);
      } catch (error) {
        // SQLite undoes only the failed statement on a constraint error; the transaction goes on.
        if (isRetryableSqliteError(error)) throw error;
        refused.push(error);
      }
    }
  });
  return {
    insert(columns) {
      if (columns.boxIds.length === 0) return { refused: 0 };
      const refused: unknown[] = [];
      insertAll.immediate(columns, refused);
      return refused.length === 0 ? { refused: 0 } : { refused: refused.length, firstRefusal: describeError(refused[0]) };
    },
    deleteExpired: (nowMs) => deleteExpired.run(nowMs).changes,
  };
}
