import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { MeasurementInsertResult } from './sqlite-measurement-writes.js';
import { prepareMeasurementWrites, type SqliteMeasurementWrites } from './sqlite-measurement-writes.js';
import type { ThreadReply, ThreadRequest, ThreadData, ThreadError } from './sqlite-measurement-thread.js';

/**
 * The worker side of {@link SqliteMeasurementThread}: its own connection to the store's file,
 * doing the measurement writes posted by the host, in order, one reply per request. Not
 * imported by anything: the host starts it as a worker.
 *
 * @internal
 */

const port = parentPort;
if (!port) throw new Error('sqlite-measurement-thread-entry runs only as a worker thread (started by SqliteMeasurementThread)');
const data = workerData as ThreadData;

function plainError(error: unknown): ThreadError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  const retryable = (error as { retryable?: unknown }).retryable;
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof retryable === 'boolean' ? { retryable } : {}),
  };
}

let db: Database.Database | undefined;
let writes: SqliteMeasurementWrites | undefined;
let openError: ThreadError | undefined;
try {
  db = new Database(data.path);
  db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
  // Per connection; the journal mode (WAL) and the schema are the host's, already in the file.
  db.pragma('synchronous = NORMAL');
  writes = prepareMeasurementWrites(db);
} catch (error) {
  db?.close();
  db = undefined;
  openError = plainError(error);
}

function answer(request: Exclude<ThreadRequest, { type: 'close' }>): ThreadReply {
  if (writes === undefined) return { id: request.id, error: openError ?? { name: 'Error', message: 'not open' } };
  try {
    const result: MeasurementInsertResult | number =
      request.type === 'insert' ? writes.insert({ boxIds: request.boxIds, values: request.values }) : writes.deleteExpired(request.nowMs);
    return { id: request.id, result };
  } catch (error) {
    return { id: request.id, error: plainError(error) };
  }
}

port.on('message', (request: ThreadRequest) => {
  if (request.type === 'close') {
    db?.close();
    port.close();
    return;
  }
  const reply = answer(request);
  if (request.type === 'insert') {
    // The numbers go back to the host for its next batch.
    port.postMessage({ ...reply, values: request.values } satisfies ThreadReply, [request.values.buffer as ArrayBuffer]);
  } else {
    port.postMessage(reply);
  }
});
