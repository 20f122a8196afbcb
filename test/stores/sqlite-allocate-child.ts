/**
 * Child process of the SQLite cross-process allocation test (not a test itself):
 * `node --import tsx sqlite-allocate-child.ts <db path> <count>`. Opens the store, prints
 * `ready`, waits for a line on stdin (so both children start allocating together), allocates
 * `count` event ids and prints them as one JSON array.
 */
import { createInterface } from 'node:readline';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';

const [path, count] = process.argv.slice(2);
if (path === undefined || count === undefined) throw new Error('usage: sqlite-allocate-child.ts <db path> <count>');

const store = await openSqliteStore({ path });
const lines = createInterface({ input: process.stdin });
const go = new Promise<void>((resolve) => lines.once('line', () => resolve()));
process.stdout.write('ready\n');
await go;
lines.close();
const ids: number[] = [];
for (let i = 0; i < Number(count); i++) ids.push(await store.allocateEventId());
await store.close();
process.stdout.write(JSON.stringify(ids) + '\n');
