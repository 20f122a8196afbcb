/**
 * Child process of `sqlite-measurement-thread.test.ts`: writes measurements through a store's
 * writer thread, prints how many are stored, and neither closes the store nor exits: if the
 * thread held the event loop once idle, the parent would see this process hang.
 */
import { openSqliteStore } from '../../src/stores/sqlite-store.js';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: sqlite-thread-exit-child.ts <db file>');
const store = await openSqliteStore({ path });
await store.insertMeasurements(
  Array.from({ length: 25 }, (_, i) => ({ box_id: '1', timestamp_ms: 1_700_000_000_000 + i, voltage: 120, frequency: 60, expireAt: new Date(1_800_000_000_000) })),
);
process.stdout.write(`stored ${await store.countMeasurements()}\n`);
