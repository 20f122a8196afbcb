/**
 * Child process of {@link SqliteLockHolder} (not a test itself):
 * `node --import tsx sqlite-lock-child.ts <db path>`. Opens the database with a second,
 * independent connection, takes the write lock with `BEGIN EXCLUSIVE` and prints `locked`;
 * on a line on stdin it commits, prints `released` and exits. Every other connection's writes
 * fail with SQLITE_BUSY meanwhile (in WAL mode readers still read), as when a backup tool or an
 * operator's `sqlite3` shell holds a transaction open on a live database.
 */
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';

const [path] = process.argv.slice(2);
if (path === undefined) throw new Error('usage: sqlite-lock-child.ts <db path>');

const db = new Database(path);
db.pragma('busy_timeout = 10000');
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\n');
const lines = createInterface({ input: process.stdin });
lines.once('line', () => {
  db.exec('COMMIT');
  db.close();
  lines.close();
  process.stdout.write('released\n');
});
