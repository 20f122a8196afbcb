import type { Worker } from 'node:worker_threads';
import { StoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { startModuleWorker } from '../core/module-worker.js';
import type { MeasurementDoc } from '../protocol/documents.js';
import { toMeasurementColumns } from './measurement-columns.js';
import type { MeasurementInsertResult, SqliteMeasurementWrites } from './sqlite-measurement-writes.js';

/** How the store writes its measurements: on the calling thread, or on a writer thread of its own. */
export interface MeasurementWriter {
  insert(docs: readonly MeasurementDoc[]): Promise<MeasurementInsertResult>;
  deleteExpired(nowMs: number): Promise<number>;
  /** Waits for the writes already asked for, then stops. */
  close(): Promise<void>;
}

/** Writes on the connection and thread of the caller (`:memory:` stores, which a thread cannot share). */
export function inlineMeasurementWriter(writes: SqliteMeasurementWrites): MeasurementWriter {
  return {
    insert: async (docs) => writes.insert(toMeasurementColumns(docs)),
    deleteExpired: async (nowMs) => writes.deleteExpired(nowMs),
    close: async () => {},
  };
}

/** @internal The writer thread's `workerData`. */
export interface ThreadData {
  readonly path: string;
  readonly busyTimeoutMs: number;
}
/** @internal Host → thread. */
export type ThreadRequest =
  | { readonly type: 'insert'; readonly id: number; readonly boxIds: readonly unknown[]; readonly values: Float64Array }
  | { readonly type: 'deleteExpired'; readonly id: number; readonly nowMs: number }
  | { readonly type: 'close' };
/** @internal An error as plain data; `code` is SQLite's (`SQLITE_BUSY`), which decides retrying. */
export interface ThreadError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly retryable?: boolean;
}
/** @internal Thread → host, one per insert or delete request; an insert's `values` come back for reuse. */
export type ThreadReply = { readonly values?: Float64Array } & (
  | { readonly id: number; readonly result: MeasurementInsertResult | number; readonly error?: undefined }
  | { readonly id: number; readonly error: ThreadError }
);

/**
 * The writer thread's young generation, MB. It allocates a little per batch (the box ids, the
 * reply) and keeps nothing: V8's default lets it grow to tens of MB of RSS all the same.
 */
const WRITER_HEAP = { maxYoungGenerationSizeMb: 2 } as const;

/** Buffers kept for reuse: about one per batch in flight, and the store writer has one at a time. */
const SPARE_BUFFERS = 2;

interface Pending {
  readonly resolve: (result: MeasurementInsertResult | number) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Measurement writes on a worker thread with its own connection to the store's file (WAL lets
 * the host's connection read meanwhile). better-sqlite3 is synchronous: on the event loop a
 * batch of 1000 blocked everything else, the trigger path included, for 5 to 60 ms; here the
 * event loop only packs the batch (0.3 µs per document) and the second core does the writing.
 * The packed numbers travel as a transferred buffer that the thread hands back for the next
 * batch: left to the thread's garbage collector, 40 kB a batch piled up as tens of MB of RSS.
 *
 * - Requests run in the order they are made; each call resolves when its transaction committed,
 *   so a read on the host's connection afterwards sees the rows.
 * - The thread starts at the first write, keeps the process alive only while a write is
 *   pending, and if it dies its pending writes fail retryable and the next write starts a new one.
 * - Lock waits block only the thread. It still gives up after the store's `busyTimeoutMs`, like
 *   the host's connection: a write that fails fast goes back to the store writer's queue, where
 *   back-off and the drop-oldest bound apply, instead of being held in flight.
 */
export class SqliteMeasurementThread implements MeasurementWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  /** Number buffers the thread gave back. */
  private readonly spare: ArrayBuffer[] = [];
  private nextId = 1;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly data: ThreadData,
    private readonly logger: Logger,
  ) {}

  async insert(docs: readonly MeasurementDoc[]): Promise<MeasurementInsertResult> {
    if (docs.length === 0) return { refused: 0 };
    const columns = toMeasurementColumns(docs, this.spare.pop());
    const id = this.nextId++;
    const request: ThreadRequest = { type: 'insert', id, boxIds: columns.boxIds, values: columns.values };
    return (await this.call(id, request, [columns.values.buffer as ArrayBuffer])) as MeasurementInsertResult;
  }

  async deleteExpired(nowMs: number): Promise<number> {
    const id = this.nextId++;
    return (await this.call(id, { type: 'deleteExpired', id, nowMs }, [])) as number;
  }

  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private async stop(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // After every request already posted: the thread answers them first, then closes its connection.
    worker.postMessage({ type: 'close' } satisfies ThreadRequest);
    worker.ref();
    await exited;
  }

  private call(id: number, request: ThreadRequest, transfer: ArrayBuffer[]): Promise<MeasurementInsertResult | number> {
    if (this.closing) return Promise.reject(new StoreError(request.type, 'the measurement writer thread is closed', false));
    const worker = this.started();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage(request, transfer);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = startModuleWorker(import.meta.url, 'sqlite-measurement-thread-entry', this.data, WRITER_HEAP);
    worker.unref();
    worker.on('message', (reply: ThreadReply) => this.settle(reply));
    worker.on('error', (error) => this.lost(worker, `failed: ${error.message}`));
    worker.on('exit', (code) => this.lost(worker, `exited with code ${code}`));
    this.worker = worker;
    this.logger.debug('measurement writer thread started', { path: this.data.path });
    return worker;
  }

  private settle(reply: ThreadReply): void {
    if (reply.values !== undefined && this.spare.length < SPARE_BUFFERS) this.spare.push(reply.values.buffer as ArrayBuffer);
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    // Idle, the thread does not hold the process; closing, it does until it has exited.
    if (this.pending.size === 0 && this.closing === undefined) this.worker?.unref();
    if (reply.error === undefined) {
      pending.resolve(reply.result);
    } else {
      const { name, message, code, retryable } = reply.error;
      if (retryable !== undefined) pending.reject(new StoreError('insertMeasurements', message, retryable));
      else pending.reject(Object.assign(new Error(message), { name, ...(code === undefined ? {} : { code }) }));
    }
  }

  /**
   * The thread is gone: fail what it had not answered, retryable (SQLite rolls back a
   * transaction its connection did not commit), and start a new thread at the next write.
   */
  private lost(worker: Worker, how: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    if (this.closing && this.pending.size === 0) return;
    this.logger.warn('measurement writer thread stopped', { path: this.data.path, how, pending: this.pending.size });
    const error = new StoreError('insertMeasurements', `the measurement writer thread ${how}`, true);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
