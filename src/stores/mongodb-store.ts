import {
  GridFSBucket,
  Int32,
  MongoBulkWriteError,
  MongoClient,
  MongoServerError,
  ObjectId,
  type Collection,
  type Db,
  type Document,
  type Filter,
} from 'mongodb';
import { StoreError, describeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Counter, Metrics } from '../core/metrics.js';
import type { BoxEventDoc, BoxRecord, BoxStatus, DeadLetterDoc, EventDoc, MeasurementDoc, ShadowRequestDoc, TrendDoc } from '../protocol/documents.js';
import { calibrationConstantProblem } from '../protocol/documents.js';
import type { TriggerType } from '../protocol/messages.js';
import {
  boxEventFromBson,
  boxEventToBson,
  boxFromBson,
  boxStatusFromBson,
  date,
  double,
  eventFromBson,
  eventToBson,
  int64,
  measurementFromBson,
  toNumber,
  measurementToBson,
  trendFromBson,
  trendToBson,
} from './mongodb-documents.js';
import { mergeTrends } from './merge-trends.js';
import { BoxStatusWriter, type BoxStatusSet } from './mongodb-box-status.js';
import { EventIdAllocator } from './mongodb-event-ids.js';
import {
  setUpMeasurementExpiry,
  startExpirySweeper,
  type MongoExpiryMode,
  type MongoExpiryOption,
  type MongoServerInfo,
} from './mongodb-expiry.js';
import { withTransientRetry, type MongoRetryPolicy } from './mongodb-retry.js';
import { DUPLICATE_KEY, bulkWrapped, duplicateKeyIndexes, isDuplicateKeyError, mongoStoreError } from './mongodb-store-error.js';
import { redactUri } from './redact-uri.js';
import { DEFAULT_STREAM_PAGE_SIZE, type BoxReply, type BoxReplyOutcome, type DeadLetterRing, type EventListQuery, type MeasurementStreamQuery, type Store, type TimeRangeQuery } from './store.js';

export type { MongoExpiryMode, MongoExpiryOption } from './mongodb-expiry.js';
export type { MongoRetryPolicy } from './mongodb-retry.js';

export interface MongoStoreOptions {
  /** `mongodb://…` or `mongodb+srv://…`; credentials, TLS and replica set options go here. */
  readonly uri: string;
  /** Database name; default the one the URI names, else `opq` (spec §4). */
  readonly database?: string;
  /** Receives a child logger `{ component: 'store.mongodb' }`; silent by default. */
  readonly logger?: Logger;
  /** Counts failed operations, retries, refused documents and expired deletions; nothing is counted without it. */
  readonly metrics?: Metrics;
  /**
   * How long an operation waits for a reachable server before it fails with a retryable
   * StoreError (ms). Default: the URI's `serverSelectionTimeoutMS`, else 5000 (the driver's
   * own default, 30 s, would leave callers hanging through an outage).
   */
  readonly serverSelectionTimeoutMS?: number;
  /** TCP connect timeout (ms). Default: the URI's, else 5000. */
  readonly connectTimeoutMS?: number;
  /** Longest wait for a reply on an open connection (ms), so a hung server fails calls. Default: the URI's, else 30000. */
  readonly socketTimeoutMS?: number;
  /** Repeats of operations that failed with a transient error (default 3 attempts, 100 ms doubling to 2 s). */
  readonly retry?: MongoRetryPolicy;
  /** Measurement expiry (default `auto`: TTL index where the server honours it, else a periodic sweep). */
  readonly expiry?: MongoExpiryOption;
  /** Period of the sweep, when the mode is `sweep` (ms, default 60000: MongoDB's TTL monitor period). */
  readonly sweepIntervalMs?: number;
  /** Called after every periodic sweep (for status output and tests). */
  readonly onSweep?: (result: { readonly deleted: number } | { readonly error: unknown }) => void;
}

const DEFAULT_DATABASE = 'opq';
const STORE = 'mongodb';

/**
 * Opens the MongoDB store: connects (failing fast when no server answers), creates the indexes
 * and decides how measurements expire.
 *
 * Indexes: `measurements {expireAt: 1}` TTL (or plain, see {@link MongoExpiryMode}),
 * `measurements {box_id, timestamp_ms}`, `trends {box_id, timestamp_ms}`, unique
 * `trends {box_id, window_start_ms, timestamp_ms}` (one document per box and window), unique
 * `events {event_id}`, unique `box_events {event_id, box_id}`, unique `box_status {box_id}`.
 * A unique index that existing data violates (an OPQ database written by several brokers) or
 * that clashes with an index someone else made is logged and skipped.
 *
 * @returns The open store; close it with `close()`.
 * @throws StoreError (rejected) when the URI is invalid (not retryable), no server answers
 *   within `serverSelectionTimeoutMS` (retryable), or the indexes cannot be created.
 * @see MongoStore
 */
export async function openMongoStore(options: MongoStoreOptions): Promise<MongoStore> {
  return MongoStore.open(options);
}

/**
 * The {@link Store} over MongoDB (or FerretDB), writing the original OPQ data model (spec §4)
 * with its BSON types, so OPQ View and Mauka read it unchanged: `measurements`, `trends`,
 * `events`, `box_events`, GridFS bucket `fs` for waveforms, and `opq_boxes` as the registry.
 * Extra, additive: trends `window_start_ms`/`count`, events `reply_latencies_ms`, the
 * `box_status` collection, and `counters` + `event_id_claims` for event numbering.
 *
 * Every call is one or a few independent writes (no transactions: FerretDB 1.x has none), each
 * made safe to repeat: documents get their `_id` on the client (the same input object keeps the
 * same `_id`, so a retried batch is not stored twice), and updates are guarded. Transient
 * failures are repeated with back-off (see {@link MongoRetryPolicy}); what still fails rejects
 * with a StoreError, is counted and logged.
 */
export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  readonly location: string;
  /** The database written to. */
  readonly database: string;
  /** How measurements expire in this store (decided at open; logged once). */
  readonly expiryMode: MongoExpiryMode;
  /** What the server reported at open. */
  readonly server: MongoServerInfo;

  private closed = false;
  private readonly measurements: Collection;
  private readonly trends: Collection;
  private readonly events: Collection;
  private readonly boxEvents: Collection;
  private readonly boxes: Collection;
  private readonly boxStatus: Collection;
  private readonly boxStatusWriter: BoxStatusWriter;
  private readonly files: Collection;
  private readonly chunks: Collection;
  private readonly bucket: GridFSBucket;
  private readonly eventIds: EventIdAllocator;
  private sweeper: { stop(): void } | undefined;
  /** `_id` per input document, so repeating a batch (a retry here or in the caller) is idempotent. */
  private readonly ids = new WeakMap<object, ObjectId>();

  private readonly errors: Counter<string> | undefined;
  private readonly refused: Counter<string> | undefined;
  private readonly retries: Counter<string> | undefined;
  private readonly expired: Counter<string> | undefined;

  private constructor(
    private readonly client: MongoClient,
    db: Db,
    init: { location: string; database: string; server: MongoServerInfo; expiryMode: MongoExpiryMode },
    private readonly logger: Logger,
    metrics: Metrics | undefined,
    private readonly retry: MongoRetryPolicy,
  ) {
    this.location = init.location;
    this.database = init.database;
    this.server = init.server;
    this.expiryMode = init.expiryMode;
    this.measurements = db.collection('measurements');
    this.trends = db.collection('trends');
    this.events = db.collection('events');
    this.boxEvents = db.collection('box_events');
    this.boxes = db.collection('opq_boxes');
    this.boxStatus = db.collection('box_status');
    this.boxStatusWriter = new BoxStatusWriter(this.boxStatus);
    this.files = db.collection('fs.files');
    this.chunks = db.collection('fs.chunks');
    this.bucket = new GridFSBucket(db, { bucketName: 'fs' });
    this.eventIds = new EventIdAllocator(this.events, db.collection('counters'), db.collection('event_id_claims'));
    this.errors = metrics?.counter('makai_store_errors_total', 'Store operations that failed', ['store', 'operation', 'retryable']);
    this.refused = metrics?.counter('makai_store_documents_refused_total', 'Invalid documents a store refused', ['store', 'operation']);
    this.retries = metrics?.counter('makai_store_retries_total', 'Store operations repeated after a transient error', [
      'store',
      'operation',
    ]);
    this.expired = metrics?.counter('makai_store_expired_deleted_total', 'Expired measurements deleted by the store', ['store']);
  }

  /** @see openMongoStore */
  static async open(options: MongoStoreOptions): Promise<MongoStore> {
    const logger = (options.logger ?? silentLogger).child({ component: 'store.mongodb' });
    if (typeof options.uri !== 'string' || options.uri.trim() === '') {
      throw new StoreError('open', 'the MongoDB URI is empty', false);
    }
    const database = options.database ?? databaseInUri(options.uri) ?? DEFAULT_DATABASE;
    const location = `${redactUri(options.uri)} (database ${database})`;
    const retry = options.retry ?? {};
    let client: MongoClient;
    try {
      client = new MongoClient(options.uri, {
        appName: 'makai',
        ...timeout(options.uri, 'serverSelectionTimeoutMS', options.serverSelectionTimeoutMS, 5000),
        ...timeout(options.uri, 'connectTimeoutMS', options.connectTimeoutMS, 5000),
        ...timeout(options.uri, 'socketTimeoutMS', options.socketTimeoutMS, 30_000),
      });
    } catch (error) {
      const storeError = withoutPassword(
        options.uri,
        mongoStoreError('open', error, { context: `invalid MongoDB URI ${redactUri(options.uri)}`, retryable: false }),
      );
      logger.error('cannot open mongodb store', { location, retryable: false, error: storeError.message });
      throw storeError;
    }
    try {
      await client.connect();
      const db = client.db(database);
      const noRetryHooks = { onRetry: () => undefined, stopped: () => false };
      const info = await withTransientRetry(() => client.db('admin').command({ buildInfo: 1 }), retry, noRetryHooks);
      const server: MongoServerInfo = {
        version: String(info['version'] ?? 'unknown'),
        ...(typeof info['ferretdbVersion'] === 'string' ? { ferretdbVersion: info['ferretdbVersion'] } : {}),
      };
      await withTransientRetry(() => createIndexes(db, logger), retry, noRetryHooks);
      const expiry = await withTransientRetry(
        () => setUpMeasurementExpiry(db.collection('measurements'), options.expiry ?? 'auto', server),
        retry,
        noRetryHooks,
      );
      const store = new MongoStore(client, db, { location, database, server, expiryMode: expiry.mode }, logger, options.metrics, retry);
      logger.info('mongodb store open', { location, server: server.version, ferretdb: server.ferretdbVersion });
      const intervalMs = options.sweepIntervalMs ?? 60_000;
      logger.info(`measurement expiry: ${expiry.mode}`, {
        mode: expiry.mode,
        reason: expiry.reason,
        ...(expiry.mode === 'sweep' ? { intervalMs } : {}),
      });
      if (expiry.mode === 'sweep') {
        store.sweeper = startExpirySweeper({
          intervalMs,
          sweep: (now) => store.deleteExpiredMeasurements(now),
          logger,
          ...(options.onSweep ? { onSweep: options.onSweep } : {}),
        });
      }
      return store;
    } catch (error) {
      await client.close().catch(() => undefined);
      const storeError = withoutPassword(options.uri, mongoStoreError('open', error, { context: `cannot open MongoDB store ${location}` }));
      logger.error('cannot open mongodb store', { location, retryable: storeError.retryable, error: storeError.message });
      throw storeError;
    }
  }

  // --- triggering service ---------------------------------------------------------------

  insertMeasurements(docs: readonly MeasurementDoc[]): Promise<void> {
    return this.insertBatch('insertMeasurements', this.measurements, docs, measurementToBson);
  }

  /**
   * One document per box and window (`box_id`, `window_start_ms`, `timestamp_ms`, unique index
   * `trends_box_window`): a window already stored is merged with the new one
   * ({@link mergeTrends}) and replaced in place, keeping its `_id` and the §4.2 field order.
   * Each merge is guarded by the stored `count` (another writer's merge in between makes it
   * read again), and a retried batch skips the documents it already wrote.
   */
  async insertTrends(docs: readonly TrendDoc[]): Promise<void> {
    const operation = 'insertTrends';
    if (this.closed) throw this.fail(operation, new StoreError(operation, `store ${this.location} is closed`, false));
    const valid: { doc: TrendDoc; bson: Document }[] = [];
    const refused: unknown[] = [];
    for (const doc of docs) {
      try {
        valid.push({ doc, bson: { _id: this.idFor(doc), ...trendToBson(doc, operation) } });
      } catch (error) {
        refused.push(error);
      }
    }
    const done = new Set<number>();
    if (valid.length > 0) {
      await this.run(operation, async () => {
        const todo = [...valid.keys()].filter((i) => !done.has(i));
        // One round trip for the usual case, windows not stored yet; a window that is (a restart,
        // a retried batch, another writer) is a duplicate key and is merged on its own. Closing
        // 1,000 boxes' windows at a stop took 2,000 sequential round trips without this, longer
        // than the stop deadline on FerretDB.
        const stored = await this.insertNewTrends(todo.map((i) => valid[i]!.bson));
        for (const [k, i] of todo.entries()) if (!stored.has(k)) done.add(i);
        for (const k of stored) {
          const i = todo[k]!;
          await this.upsertTrend(valid[i]!.doc, valid[i]!.bson);
          done.add(i);
        }
      });
    }
    if (refused.length === 0) return;
    this.refused?.inc({ store: STORE, operation }, refused.length);
    throw this.fail(
      operation,
      new StoreError(operation, `${refused.length} of ${docs.length} documents refused (the other ${docs.length - refused.length} were stored); first: ${describeError(refused[0])}`, false),
    );
  }

  /** Inserts `docs` (unordered); returns the indexes of those whose window was already stored (duplicate key). */
  private async insertNewTrends(docs: readonly Document[]): Promise<Set<number>> {
    try {
      await this.trends.insertMany([...docs], { ordered: false });
      return new Set();
    } catch (error) {
      return duplicateKeyIndexes(error);
    }
  }

  private async upsertTrend(doc: TrendDoc, bson: Document): Promise<void> {
    const key = { box_id: bson['box_id'], window_start_ms: bson['window_start_ms'], timestamp_ms: bson['timestamp_ms'] };
    for (;;) {
      const stored = await this.trends.findOne(key);
      if (stored === null) {
        try {
          await this.trends.insertOne(bson);
          return;
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
          // Our own earlier insert (its reply lost), or another writer's: then merge with it.
          if ((await this.trends.countDocuments({ _id: bson['_id'] }, { limit: 1 })) > 0) return;
          continue;
        }
      }
      if (bson['_id'] instanceof ObjectId && bson['_id'].equals(stored['_id'] as ObjectId)) return;
      const merged = trendToBson(mergeTrends(trendFromBson(stored), doc));
      const guard = stored['count'] === undefined ? { count: { $exists: false } } : { count: stored['count'] };
      const result = await this.trends.replaceOne({ _id: stored['_id'], ...guard }, merged);
      if (result.matchedCount === 1) return;
    }
  }

  async deleteExpiredMeasurements(now: Date): Promise<number> {
    const cutoff = this.validate('deleteExpiredMeasurements', () => date('deleteExpiredMeasurements', 'now', now));
    const deleted = await this.run('deleteExpiredMeasurements', async () => {
      const result = await this.measurements.deleteMany({ expireAt: { $lte: cutoff } });
      return result.deletedCount;
    });
    if (deleted > 0) this.expired?.inc({ store: STORE }, deleted);
    return deleted;
  }

  // --- acquisition broker ----------------------------------------------------------------

  allocateEventId(): Promise<number> {
    return this.run('allocateEventId', () => this.eventIds.next());
  }

  async insertEvent(doc: EventDoc): Promise<void> {
    const bson = this.validate('insertEvent', () => ({ _id: this.idFor(doc), ...eventToBson(doc) }));
    await this.run('insertEvent', async () => {
      try {
        await this.events.insertOne(bson);
      } catch (error) {
        // A repeat of our own insert whose reply was lost is a success; anything else holds the id.
        if (isDuplicateKeyError(error) && (await this.events.countDocuments({ _id: bson['_id'] }, { limit: 1 })) === 0) {
          throw new StoreError('insertEvent', `event_id ${doc.event_id} is already stored`, false, { cause: error });
        }
        if (!isDuplicateKeyError(error)) throw error;
      }
    });
  }

  /**
   * Stores one reply in the order a reader can rely on: the waveform (GridFS), then the
   * `box_events` document (whose unique `{event_id, box_id}` index decides duplicates), then
   * the event's arrays (`$push`, guarded by `boxes_received: {$ne: box}` so a repeat does not
   * push twice). A reply that loses the race for the index removes its waveform and is
   * `duplicate`. When a step still fails after retries, the steps already done are undone
   * (best effort, logged) so the caller's retry starts clean.
   */
  async recordBoxReply(reply: BoxReply): Promise<BoxReplyOutcome> {
    const op = 'recordBoxReply';
    const { boxEvent } = reply;
    const prepared = this.validate(op, () => {
      if (!(reply.waveform instanceof Uint8Array)) throw new StoreError(op, 'waveform must be a Uint8Array', false);
      return {
        doc: { _id: new ObjectId(), ...boxEventToBson(boxEvent) },
        receivedAt: int64(op, 'receivedAtMs', reply.receivedAtMs),
        replyLatency: double(op, 'replyLatencyMs', reply.replyLatencyMs),
      };
    });
    const plan: ReplyPlan = { boxEventId: prepared.doc['_id'] as ObjectId, fileId: new ObjectId(), uploading: false, claiming: false };
    try {
      return await this.run(op, () => this.writeReply(reply, prepared, plan));
    } catch (error) {
      await this.undoReply(boxEvent, plan);
      throw error;
    }
  }

  private async writeReply(
    reply: BoxReply,
    prepared: { doc: Document; receivedAt: unknown; replyLatency: unknown },
    plan: ReplyPlan,
  ): Promise<BoxReplyOutcome> {
    const { boxEvent } = reply;
    const eventId = boxEvent.event_id;
    if ((await this.events.countDocuments({ event_id: eventId }, { limit: 1 })) === 0) return 'unknown-event';

    const existing = await this.boxEvents.findOne({ event_id: eventId, box_id: boxEvent.box_id }, { projection: { _id: 1 } });
    const ours = existing !== null && plan.boxEventId.equals(existing['_id'] as ObjectId);
    if (existing !== null && !ours) return 'duplicate';

    if (!ours) {
      // An earlier attempt of this call may have left part of the file.
      if (plan.uploading) await this.deleteFile(plan.fileId);
      plan.uploading = true;
      await this.uploadWaveform(boxEvent.data_fs_filename, reply.waveform, plan.fileId, {
        event_id: new Int32(eventId),
        box_id: boxEvent.box_id,
      });
      plan.claiming = true;
      try {
        await this.boxEvents.insertOne(prepared.doc);
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        const winner = await this.boxEvents.findOne({ event_id: eventId, box_id: boxEvent.box_id }, { projection: { _id: 1 } });
        if (!plan.boxEventId.equals(winner?.['_id'] as ObjectId)) {
          // Another writer stored this reply first: ours was never visible through box_events.
          plan.claiming = false;
          await this.deleteFile(plan.fileId);
          plan.uploading = false;
          return 'duplicate';
        }
      }
    }

    await this.events.updateOne(
      { event_id: eventId, boxes_received: { $ne: boxEvent.box_id } },
      {
        $push: {
          boxes_received: boxEvent.box_id,
          latencies_ms: prepared.receivedAt,
          reply_latencies_ms: prepared.replyLatency,
        },
      } as Document,
    );
    return 'stored';
  }

  /** Best effort: removes what a failed recordBoxReply wrote, so a retry is not taken for a duplicate. */
  private async undoReply(boxEvent: BoxEventDoc, plan: ReplyPlan): Promise<void> {
    if (!plan.uploading && !plan.claiming) return;
    try {
      if (plan.claiming) await this.boxEvents.deleteOne({ _id: plan.boxEventId });
      if (plan.uploading) await this.deleteFile(plan.fileId);
    } catch (error) {
      this.logger.error('could not undo a partly stored box reply', {
        event_id: boxEvent.event_id,
        box_id: boxEvent.box_id,
        box_events_id: plan.boxEventId.toHexString(),
        file_id: plan.fileId.toHexString(),
        error: describeError(error),
      });
    }
  }

  private async uploadWaveform(filename: string, bytes: Uint8Array, id: ObjectId, metadata: Document): Promise<void> {
    const upload = this.bucket.openUploadStreamWithId(id, filename, { metadata });
    await new Promise<void>((resolve, reject) => {
      upload.once('error', reject);
      upload.once('finish', resolve);
      upload.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    });
  }

  /** Deletes a GridFS file and its chunks; a missing file is fine (unlike `GridFSBucket.delete`). */
  private async deleteFile(id: ObjectId): Promise<void> {
    await this.files.deleteOne({ _id: id });
    await this.chunks.deleteMany({ files_id: id });
  }

  // --- box registry and liveness ---------------------------------------------------------

  listBoxes(): Promise<BoxRecord[]> {
    return this.run('listBoxes', async () => (await this.boxes.find({}).sort({ box_id: 1, _id: 1 }).toArray()).map(boxFromBson));
  }

  getBox(boxId: string): Promise<BoxRecord | undefined> {
    return this.run('getBox', async () => {
      const doc = await this.boxes.findOne({ box_id: boxId });
      return doc === null ? undefined : boxFromBson(doc);
    });
  }

  /**
   * Sets `location` and `public_key` (removing the ones the record lacks) and
   * `calibration_constant` (when the record has one) on the `opq_boxes` document of the box,
   * creating it if needed. Fields OPQ View keeps there (name, description, and the calibration
   * of a real box when the record has none) are left alone.
   */
  async upsertBox(box: BoxRecord): Promise<void> {
    const op = 'upsertBox';
    const update = this.validate(op, () => {
      if (typeof box.box_id !== 'string') throw new StoreError(op, 'box_id must be a string', false);
      if (box.public_key !== undefined && typeof box.public_key !== 'string') {
        throw new StoreError(op, 'public_key must be a string', false);
      }
      const set: Document = { box_id: box.box_id };
      const unset: Document = {};
      if (box.location === undefined) unset['location'] = '';
      else set['location'] = box.location;
      if (box.public_key === undefined) unset['public_key'] = '';
      else set['public_key'] = box.public_key;
      const calibrationProblem = calibrationConstantProblem(box.calibration_constant);
      if (calibrationProblem) throw new StoreError(op, calibrationProblem, false);
      // View owns the calibration of real boxes: a record without one must not erase it.
      if (box.calibration_constant !== undefined) set['calibration_constant'] = box.calibration_constant;
      return Object.keys(unset).length > 0 ? { $set: set, $unset: unset } : { $set: set };
    });
    await this.run(op, () => this.boxes.updateOne({ box_id: box.box_id }, update, { upsert: true }));
  }

  /** Deletes the `opq_boxes` document of the box (every one, should View have written two). */
  removeBox(boxId: string): Promise<boolean> {
    return this.run('removeBox', async () => (await this.boxes.deleteMany({ box_id: boxId })).deletedCount > 0);
  }

  async updateBoxStatus(status: BoxStatus): Promise<void> {
    const op = 'updateBoxStatus';
    const set = this.validate(op, () => boxStatusSet(op, status));
    await this.run(op, () => this.boxStatusWriter.write([{ box_id: status.box_id, set }]));
  }

  async updateBoxStatuses(statuses: readonly BoxStatus[]): Promise<void> {
    const op = 'updateBoxStatuses';
    if (this.closed) throw this.fail(op, new StoreError(op, `store ${this.location} is closed`, false));
    const sets: BoxStatusSet[] = [];
    const refused: unknown[] = [];
    for (const status of statuses) {
      try {
        sets.push({ box_id: status.box_id, set: boxStatusSet(op, status) });
      } catch (error) {
        refused.push(error);
      }
    }
    // Idempotent upserts: a retry repeats every command, including those that went through.
    if (sets.length > 0) await this.run(op, () => this.boxStatusWriter.write(sets));
    if (refused.length === 0) return;
    this.refused?.inc({ store: STORE, operation: op }, refused.length);
    const first = describeError(refused[0]);
    throw this.fail(
      op,
      new StoreError(op, `${refused.length} of ${statuses.length} statuses refused (the other ${statuses.length - refused.length} were stored); first: ${first}`, false, {
        cause: refused[0],
      }),
    );
  }

  listBoxStatus(): Promise<BoxStatus[]> {
    return this.run('listBoxStatus', async () => (await this.boxStatus.find({}).sort({ box_id: 1 }).toArray()).map(boxStatusFromBson));
  }

  // --- reading back ----------------------------------------------------------------------

  getEvent(eventId: number): Promise<EventDoc | undefined> {
    return this.run('getEvent', async () => {
      const doc = await this.events.findOne({ event_id: eventId });
      return doc === null ? undefined : eventFromBson(doc);
    });
  }

  listEvents(query: EventListQuery = {}): Promise<EventDoc[]> {
    return this.run('listEvents', async () => {
      const limit = checkLimit('listEvents', query.limit);
      if (limit === 0) return [];
      const range: Document = {};
      if (query.fromMs !== undefined) range['$gte'] = query.fromMs;
      if (query.toMs !== undefined) range['$lt'] = query.toMs;
      const filter: Filter<Document> = Object.keys(range).length > 0 ? { target_event_start_timestamp_ms: range } : {};
      const cursor = this.events.find(filter).sort({ event_id: -1 });
      if (limit !== undefined) cursor.limit(limit);
      return (await cursor.toArray()).map(eventFromBson);
    });
  }

  listBoxEvents(eventId: number): Promise<BoxEventDoc[]> {
    return this.run('listBoxEvents', async () =>
      (await this.boxEvents.find({ event_id: eventId }).sort({ _id: 1 }).toArray()).map(boxEventFromBson),
    );
  }

  /** The newest GridFS file of that name (as `openDownloadStreamByName` picks), as a plain Uint8Array copy. */
  getWaveform(filename: string): Promise<Uint8Array | undefined> {
    return this.run('getWaveform', async () => {
      const file = await this.files.find({ filename }).sort({ uploadDate: -1, _id: -1 }).limit(1).next();
      if (file === null) return undefined;
      const parts: Buffer[] = [];
      for await (const chunk of this.bucket.openDownloadStream(file['_id'] as ObjectId)) parts.push(chunk as Buffer);
      return new Uint8Array(Buffer.concat(parts));
    });
  }

  queryMeasurements(query: TimeRangeQuery): Promise<MeasurementDoc[]> {
    return this.run('queryMeasurements', async () =>
      (await this.rangeFind('queryMeasurements', this.measurements, query)).map(measurementFromBson),
    );
  }

  /**
   * One server cursor (`batchSize` = `pageSize`) over the `{timestamp_ms, _id}` index, so the
   * server streams in time order without a blocking sort. Not retried midway: a cursor lost to
   * an outage rejects the iteration with the StoreError (a replay is re-run, not resumed).
   */
  async *streamMeasurements(query: MeasurementStreamQuery): AsyncIterable<readonly MeasurementDoc[]> {
    const operation = 'streamMeasurements';
    if (this.closed) throw this.fail(operation, new StoreError(operation, `store ${this.location} is closed`, false));
    const pageSize = query.pageSize ?? DEFAULT_STREAM_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1) throw this.fail(operation, new StoreError(operation, `pageSize must be a whole number ≥ 1, got ${pageSize}`, false));
    if (query.boxes !== undefined && query.boxes.length === 0) return;
    const filter: Filter<Document> = {};
    const range: Document = {};
    if (query.fromMs !== undefined) range['$gte'] = query.fromMs;
    if (query.toMs !== undefined) range['$lt'] = query.toMs;
    if (Object.keys(range).length > 0) filter['timestamp_ms'] = range;
    if (query.boxes !== undefined) filter['box_id'] = { $in: [...query.boxes] };
    const cursor = this.measurements.find(filter).sort({ timestamp_ms: 1, _id: 1 }).batchSize(pageSize);
    try {
      let page: MeasurementDoc[] = [];
      for await (const doc of cursor) {
        page.push(measurementFromBson(doc));
        if (page.length < pageSize) continue;
        yield page;
        page = [];
      }
      if (page.length > 0) yield page;
    } catch (error) {
      throw this.fail(operation, error);
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  countMeasurements(query: { readonly box_id?: string } = {}): Promise<number> {
    return this.run('countMeasurements', () =>
      this.measurements.countDocuments(query.box_id === undefined ? {} : { box_id: query.box_id }),
    );
  }

  queryTrends(query: TimeRangeQuery): Promise<TrendDoc[]> {
    return this.run('queryTrends', async () => (await this.rangeFind('queryTrends', this.trends, query)).map(trendFromBson));
  }

  /** Stops the sweep and closes the client. Closing twice is fine; every other call afterwards rejects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sweeper?.stop();
    this.sweeper = undefined;
    try {
      await this.client.close();
      this.logger.debug('mongodb store closed', { location: this.location });
    } catch (error) {
      throw this.fail('close', error);
    }
  }

  // --- internals -------------------------------------------------------------------------

  /**
   * Runs one operation: rejects at once after close, repeats transient failures, and turns
   * every failure into a counted, logged StoreError.
   */
  private async run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    if (this.closed) throw this.fail(operation, new StoreError(operation, `store ${this.location} is closed`, false));
    try {
      return await withTransientRetry(body, this.retry, {
        onRetry: (error, attempt, delayMs) => {
          this.retries?.inc({ store: STORE, operation });
          this.logger.debug('retrying after a transient error', { operation, attempt, delayMs, error: describeError(error) });
        },
        stopped: () => this.closed,
      });
    } catch (error) {
      throw this.fail(operation, error);
    }
  }

  private fail(operation: string, error: unknown): StoreError {
    const storeError = mongoStoreError(operation, error);
    this.errors?.inc({ store: STORE, operation, retryable: String(storeError.retryable) });
    this.logger.warn('store operation failed', { operation, retryable: storeError.retryable, error: storeError.message });
    return storeError;
  }

  /** Builds what a write needs from its input; an invalid input is refused (counted, logged), never sent. */
  private validate<T>(operation: string, build: () => T): T {
    if (this.closed) throw this.fail(operation, new StoreError(operation, `store ${this.location} is closed`, false));
    try {
      return build();
    } catch (error) {
      this.refused?.inc({ store: STORE, operation });
      throw this.fail(operation, error instanceof StoreError ? error : new StoreError(operation, describeError(error), false, { cause: error }));
    }
  }

  private idFor(doc: object): ObjectId {
    let id = this.ids.get(doc);
    if (id === undefined) {
      id = new ObjectId();
      this.ids.set(doc, id);
    }
    return id;
  }

  /**
   * Unordered bulk insert of the valid documents; invalid ones are skipped and reported
   * afterwards with a non-retryable StoreError (like the SQLite store). A duplicate `_id` means
   * an earlier attempt already stored that document, so it counts as stored.
   */
  private async insertBatch<D extends object>(
    operation: string,
    collection: Collection,
    docs: readonly D[],
    toBson: (doc: D, operation: string) => Document,
  ): Promise<void> {
    if (this.closed) throw this.fail(operation, new StoreError(operation, `store ${this.location} is closed`, false));
    const valid: Document[] = [];
    const refused: unknown[] = [];
    for (const doc of docs) {
      try {
        valid.push({ _id: this.idFor(doc), ...toBson(doc, operation) });
      } catch (error) {
        refused.push(error);
      }
    }
    if (valid.length > 0) {
      await this.run(operation, async () => {
        try {
          await collection.insertMany(valid, { ordered: false });
        } catch (error) {
          if (!(error instanceof MongoBulkWriteError)) throw error;
          // A network or selection failure in disguise: judge (and report) the original.
          const inner = bulkWrapped(error);
          if (inner !== undefined) throw inner;
          const writeErrors = [error.writeErrors].flat();
          if (writeErrors.length === 0) throw error;
          const failed = writeErrors.filter((e) => e.code !== DUPLICATE_KEY);
          if (failed.length === 0) return;
          throw new StoreError(
            operation,
            `${failed.length} of ${valid.length} documents refused by the server; first: ${failed[0]?.errmsg ?? 'unknown'} (code ${failed[0]?.code})`,
            false,
            { cause: error },
          );
        }
      });
    }
    if (refused.length === 0) return;
    this.refused?.inc({ store: STORE, operation }, refused.length);
    const first = describeError(refused[0]);
    throw this.fail(
      operation,
      new StoreError(
        operation,
        `${refused.length} of ${docs.length} documents refused (the other ${docs.length - refused.length} were stored); first: ${first}`,
        false,
        { cause: refused[0] },
      ),
    );
  }

  /** Oldest first (`timestamp_ms`, then insertion order), filtered by box and time range. */
  private async rangeFind(operation: string, collection: Collection, query: TimeRangeQuery): Promise<Document[]> {
    const limit = checkLimit(operation, query.limit);
    if (limit === 0) return [];
    const filter: Filter<Document> = {};
    if (query.box_id !== undefined) filter['box_id'] = query.box_id;
    const range: Document = {};
    if (query.fromMs !== undefined) range['$gte'] = query.fromMs;
    if (query.toMs !== undefined) range['$lt'] = query.toMs;
    if (Object.keys(range).length > 0) filter['timestamp_ms'] = range;
    const cursor = collection.find(filter).sort({ timestamp_ms: 1, _id: 1 });
    if (limit !== undefined) cursor.limit(limit);
    return cursor.toArray();
  }

  // --- dead letters (refused input, bounded) -----------------------------------------------
  // Collection `dead_letters`, kept small by trimDeadLetters, so it needs no index. "Newest" is
  // `at_ms`, then `_id` (client-made ObjectIds grow within a process).

  private get deadLetters(): Collection {
    return this.client.db(this.database).collection('dead_letters');
  }

  insertDeadLetters(docs: readonly DeadLetterDoc[]): Promise<void> {
    return this.insertBatch('insertDeadLetters', this.deadLetters, docs, deadLetterToBson);
  }

  listDeadLetters(query: { readonly limit?: number } = {}): Promise<DeadLetterDoc[]> {
    return this.run('listDeadLetters', async () => {
      const limit = checkLimit('listDeadLetters', query.limit);
      if (limit === 0) return [];
      const cursor = this.deadLetters.find({}).sort({ at_ms: -1, _id: -1 });
      if (limit !== undefined) cursor.limit(limit);
      return (await cursor.toArray()).map(deadLetterFromBson);
    });
  }

  // --- shadow plugins' requests --------------------------------------------------------------
  // Collection `shadow_requests`: rare (one per request a shadow rule makes), listed newest first.

  private get shadowRequests(): Collection {
    return this.client.db(this.database).collection('shadow_requests');
  }

  insertShadowRequests(docs: readonly ShadowRequestDoc[]): Promise<void> {
    return this.insertBatch('insertShadowRequests', this.shadowRequests, docs, shadowRequestToBson);
  }

  listShadowRequests(query: { readonly limit?: number; readonly plugin?: string } = {}): Promise<ShadowRequestDoc[]> {
    return this.run('listShadowRequests', async () => {
      const limit = checkLimit('listShadowRequests', query.limit);
      if (limit === 0) return [];
      const cursor = this.shadowRequests.find(query.plugin === undefined ? {} : { plugin: query.plugin }).sort({ at_ms: -1, _id: -1 });
      if (limit !== undefined) cursor.limit(limit);
      return (await cursor.toArray()).map(shadowRequestFromBson);
    });
  }

  trimDeadLetters(keep: number, of?: DeadLetterRing): Promise<number> {
    return this.run('trimDeadLetters', async () => {
      checkLimit('trimDeadLetters', keep);
      const only = of === undefined ? {} : { source: String(of.source), reason: String(of.reason) };
      // The newest document to delete; it and everything older go.
      const boundary = await this.deadLetters.find(only, { projection: { at_ms: 1 } }).sort({ at_ms: -1, _id: -1 }).skip(keep).limit(1).next();
      if (boundary === null) return 0;
      const result = await this.deadLetters.deleteMany({
        ...only,
        $or: [{ at_ms: { $lt: boundary['at_ms'] } }, { at_ms: boundary['at_ms'], _id: { $lte: boundary['_id'] } }],
      });
      return result.deletedCount;
    });
  }
}

function shadowRequestToBson(doc: ShadowRequestDoc, operation = 'insertShadowRequests'): Document {
  for (const field of ['plugin', 'type', 'requestee', 'description'] as const) {
    if (typeof doc[field] !== 'string') throw new StoreError(operation, `${field} must be a string`, false);
  }
  if (!Array.isArray(doc.boxes) || !doc.boxes.every((box) => typeof box === 'string')) throw new StoreError(operation, 'boxes must be an array of strings', false);
  if (typeof doc.percent_magnitude !== 'number' || !Number.isFinite(doc.percent_magnitude)) throw new StoreError(operation, 'percent_magnitude must be a finite number', false);
  if (typeof doc.request_data !== 'boolean') throw new StoreError(operation, 'request_data must be a boolean', false);
  return {
    plugin: doc.plugin,
    at_ms: int64(operation, 'at_ms', doc.at_ms),
    type: doc.type,
    boxes: [...doc.boxes],
    start_ms: int64(operation, 'start_ms', doc.start_ms),
    end_ms: int64(operation, 'end_ms', doc.end_ms),
    percent_magnitude: doc.percent_magnitude,
    requestee: doc.requestee,
    description: doc.description,
    request_data: doc.request_data,
  };
}

function shadowRequestFromBson(doc: Document): ShadowRequestDoc {
  return {
    plugin: String(doc['plugin']),
    at_ms: toNumber(doc['at_ms']),
    type: String(doc['type']) as TriggerType,
    boxes: (doc['boxes'] as unknown[]).map(String),
    start_ms: toNumber(doc['start_ms']),
    end_ms: toNumber(doc['end_ms']),
    percent_magnitude: Number(doc['percent_magnitude']),
    requestee: String(doc['requestee']),
    description: String(doc['description']),
    request_data: doc['request_data'] === true,
  };
}

function deadLetterToBson(doc: DeadLetterDoc, operation = 'insertDeadLetters'): Document {
  for (const field of ['source', 'reason', 'detail', 'preview'] as const) {
    if (typeof doc[field] !== 'string') throw new StoreError(operation, `${field} must be a string`, false);
  }
  return { source: doc.source, reason: doc.reason, detail: doc.detail, preview: doc.preview, at_ms: int64(operation, 'at_ms', doc.at_ms) };
}

function deadLetterFromBson(doc: Document): DeadLetterDoc {
  return {
    source: String(doc['source']),
    reason: String(doc['reason']),
    detail: String(doc['detail']),
    preview: String(doc['preview']),
    at_ms: toNumber(doc['at_ms']),
  };
}

/** What one recordBoxReply call has written so far (for repeats and undo). */
interface ReplyPlan {
  readonly boxEventId: ObjectId;
  readonly fileId: ObjectId;
  /** An upload of `fileId` was started. */
  uploading: boolean;
  /** The insert of `boxEventId` was started. */
  claiming: boolean;
}

/** Indexes the store relies on; see {@link openMongoStore}. */
async function createIndexes(db: Db, logger: Logger): Promise<void> {
  const specs: { collection: string; key: Document; unique?: boolean }[] = [
    { collection: 'measurements', key: { box_id: 1, timestamp_ms: 1 } },
    // Replays read the whole fleet in time order (streamMeasurements); _id breaks ties.
    { collection: 'measurements', key: { timestamp_ms: 1, _id: 1 } },
    { collection: 'trends', key: { box_id: 1, timestamp_ms: 1 } },
    // One document per box and window; original trends lack window_start_ms, and one per minute never collide.
    { collection: 'trends', key: { box_id: 1, window_start_ms: 1, timestamp_ms: 1 }, unique: true },
    { collection: 'events', key: { event_id: 1 }, unique: true },
    { collection: 'box_events', key: { event_id: 1, box_id: 1 }, unique: true },
    { collection: 'box_status', key: { box_id: 1 }, unique: true },
  ];
  for (const spec of specs) {
    try {
      await db.collection(spec.collection).createIndex(spec.key, spec.unique ? { unique: true } : {});
    } catch (error) {
      // 11000: existing documents violate uniqueness; 85/86: an index on these keys exists with other options.
      const tolerated = error instanceof MongoServerError && (error.code === DUPLICATE_KEY || error.code === 85 || error.code === 86);
      if (!tolerated) throw error;
      logger.warn('index not created; continuing without it', {
        collection: spec.collection,
        key: Object.keys(spec.key).join(','),
        unique: spec.unique ?? false,
        error: describeError(error),
      });
    }
  }
}

/** The error with the URI's password (should a driver message quote it) replaced by `***`. */
function withoutPassword(uri: string, error: StoreError): StoreError {
  const raw = /^mongodb(?:\+srv)?:\/\/[^:@/?#]*:([^@/?#]+)@/i.exec(uri)?.[1];
  if (raw === undefined) return error;
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // keep the raw form
  }
  for (const secret of new Set([raw, decoded])) error.message = error.message.replaceAll(secret, '***');
  return error;
}

/** The database named in the URI's path, if any (`mongodb://h1,h2/opq?…` → `opq`). */
function databaseInUri(uri: string): string | undefined {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?#]*\/([^?#]*)/i.exec(uri)?.[1];
  if (!path) return undefined;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** A timeout option: the explicit value, else none when the URI sets it (it applies), else our default. */
function timeout(uri: string, name: string, explicit: number | undefined, fallback: number): Record<string, number> {
  if (explicit !== undefined) return { [name]: explicit };
  const query = uri.includes('?') ? uri.slice(uri.indexOf('?') + 1) : '';
  const inUri = query.split('&').some((pair) => pair.split('=')[0]?.toLowerCase() === name.toLowerCase());
  return inUri ? {} : { [name]: fallback };
}

function refuseBoxId(operation: string): never {
  throw new StoreError(operation, 'box_id must be a string', false);
}

/** The `$set` of a `box_status` upsert: the fields given, timestamps as int64. Throws StoreError when invalid. */
function boxStatusSet(operation: string, status: BoxStatus): Document {
  return {
    box_id: typeof status.box_id === 'string' ? status.box_id : refuseBoxId(operation),
    ...(status.last_measurement_ms === undefined ? {} : { last_measurement_ms: int64(operation, 'last_measurement_ms', status.last_measurement_ms) }),
    ...(status.last_pong_ms === undefined ? {} : { last_pong_ms: int64(operation, 'last_pong_ms', status.last_pong_ms) }),
  };
}

function checkLimit(operation: string, limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  if (!Number.isInteger(limit) || limit < 0) throw new StoreError(operation, `limit must be a non-negative integer, got ${limit}`, false);
  return limit;
}
