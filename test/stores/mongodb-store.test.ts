import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Double, GridFSBucket, Int32, Long, MongoClient, ObjectId, type Db, type Document } from 'mongodb';
import { StoreError } from '../../src/core/errors.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { waveformFilename, type EventDoc, type MeasurementDoc, type TrendDoc } from '../../src/protocol/documents.js';
import { openMongoStore, type MongoStore, type MongoStoreOptions } from '../../src/stores/mongodb-store.js';
import {
  closedPort,
  dropDatabase,
  mongoTestTarget,
  singleHost,
  startTcpProxy,
  uniqueDatabaseName,
  uriThrough,
  withDeadline,
} from '../helpers/mongodb.js';
import { storeContract } from './store-contract.js';

const target = mongoTestTarget();

if (target.missingInCi) {
  it('MAKAI_TEST_MONGODB_URI is set (required under CI=true)', () => {
    assert.fail('CI=true but MAKAI_TEST_MONGODB_URI is not set: .ci/run starts FerretDB with .ci/ferretdb.sh and exports it');
  });
}

/** Stores under test never expire measurements by themselves: the contract's fixed timestamps lie in the past. */
const contractOptions: Partial<MongoStoreOptions> = { expiry: 'off', serverSelectionTimeoutMS: 2000 };

storeContract(
  'mongodb',
  async () => {
    const uri = target.uri as string;
    const database = uniqueDatabaseName();
    const store = await openMongoStore({ uri, database, ...contractOptions });
    return {
      store,
      openAnother: () => openMongoStore({ uri, database, ...contractOptions }),
      openUnreachable: async () =>
        openMongoStore({ uri: `mongodb://127.0.0.1:${await closedPort()}/`, database, serverSelectionTimeoutMS: 500 }),
      cleanup: () => dropDatabase(target.uri as string, database),
    };
  },
  { skip: target.skip, unreachableDeadlineMs: 10_000 },
);

const T = 1_700_000_000_123;
const DAY_MS = 86_400_000;

function measurement(timestamp_ms: number, extra: Partial<MeasurementDoc> = {}): MeasurementDoc {
  return { box_id: '1', timestamp_ms, voltage: 120, frequency: 60, expireAt: new Date(T + DAY_MS), ...extra };
}

function eventDoc(event_id: number, extra: Partial<EventDoc> = {}): EventDoc {
  return {
    event_id,
    type: 'VOLTAGE_SAG',
    description: 'sag on 2 boxes',
    boxes_triggered: ['1', '2'],
    boxes_received: [],
    latencies_ms: [],
    target_event_start_timestamp_ms: T - 500,
    target_event_end_timestamp_ms: T + 500,
    ...extra,
  };
}

function int16le(samples: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  samples.forEach((sample, i) => view.setInt16(i * 2, sample, true));
  return bytes;
}

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    return error;
  }
  assert.fail('resolved instead of rejecting');
}

/** Reads documents exactly as stored: no promotion of int32/int64/double to JS numbers. */
const RAW = { promoteValues: false, promoteLongs: false } as const;

describe('mongodb store: the OPQ data model on a real server', { skip: target.skip }, () => {
  let uri: string;
  let client: MongoClient;
  const opened: MongoStore[] = [];
  const databases: string[] = [];

  /** A store over a fresh database, closed and dropped after the suite. */
  async function freshStore(options: Partial<MongoStoreOptions> = {}): Promise<{ store: MongoStore; db: Db }> {
    const database = uniqueDatabaseName();
    databases.push(database);
    const store = await openMongoStore({ uri, database, expiry: 'off', ...options });
    opened.push(store);
    return { store, db: client.db(database) };
  }

  before(async () => {
    uri = target.uri as string;
    client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
    await client.connect();
  });

  after(async () => {
    for (const store of opened) await store.close();
    for (const database of databases) await client.db(database).dropDatabase();
    await client.close();
  });

  it('writes the BSON types and field order of the original (spec §4.1–4.5)', async () => {
    const { store, db } = await freshStore();
    // Whole numbers on purpose: without explicit types they would be stored as int32.
    await store.insertMeasurements([measurement(T, { voltage: 120, frequency: 60, thd: 1 })]);
    const trend: TrendDoc = {
      box_id: '1',
      timestamp_ms: T,
      window_start_ms: T - 60_000,
      count: 360,
      voltage: { min: 118, max: 122, average: 120 },
      frequency: { min: 59.9, max: 60.1, average: 60 },
      location: 'kailua',
    };
    await store.insertTrends([trend]);
    const id = await store.allocateEventId();
    await store.insertEvent(eventDoc(id));
    const waveform = int16le([0, 1, -1, 32767, -32768]);
    const outcome = await store.recordBoxReply({
      boxEvent: {
        event_id: id,
        box_id: '2',
        event_start_timestamp_ms: T - 500,
        event_end_timestamp_ms: T + 516,
        window_timestamps_ms: [T - 500, T - 483],
        data_fs_filename: waveformFilename(id, '2'),
        location: 'manoa',
      },
      waveform,
      receivedAtMs: T + 2000,
      replyLatencyMs: 1500,
    });
    assert.equal(outcome, 'stored');
    await store.updateBoxStatus({ box_id: '2', last_pong_ms: T });

    const m = (await db.collection('measurements').findOne({}, RAW)) as Document;
    assert.deepStrictEqual(Object.keys(m), ['_id', 'box_id', 'timestamp_ms', 'voltage', 'frequency', 'expireAt', 'thd']);
    assert.ok(m['_id'] instanceof ObjectId);
    assert.equal(m['box_id'], '1');
    assert.ok(m['timestamp_ms'] instanceof Long, 'timestamp_ms is int64');
    assert.equal((m['timestamp_ms'] as Long).toNumber(), T);
    for (const field of ['voltage', 'frequency', 'thd']) assert.ok(m[field] instanceof Double, `${field} is a double`);
    assert.ok(m['expireAt'] instanceof Date, 'expireAt is a BSON date');
    assert.equal((m['expireAt'] as Date).getTime(), T + DAY_MS);

    const t = (await db.collection('trends').findOne({}, RAW)) as Document;
    assert.deepStrictEqual(Object.keys(t), ['_id', 'voltage', 'frequency', 'box_id', 'timestamp_ms', 'location', 'window_start_ms', 'count']);
    assert.ok(t['timestamp_ms'] instanceof Long);
    for (const stat of ['min', 'max', 'average']) assert.ok((t['voltage'] as Document)[stat] instanceof Double, `voltage.${stat} is a double`);
    assert.equal(t['location'], 'kailua');

    const e = (await db.collection('events').findOne({}, RAW)) as Document;
    assert.deepStrictEqual(Object.keys(e).slice(0, 9), [
      '_id',
      'type',
      'event_id',
      'description',
      'boxes_triggered',
      'boxes_received',
      'latencies_ms',
      'target_event_start_timestamp_ms',
      'target_event_end_timestamp_ms',
    ]);
    assert.ok(e['event_id'] instanceof Int32, 'event_id is int32');
    assert.equal((e['event_id'] as Int32).valueOf(), id);
    assert.equal(e['type'], 'VOLTAGE_SAG');
    assert.deepStrictEqual(e['boxes_triggered'], ['1', '2']);
    assert.deepStrictEqual(e['boxes_received'], ['2']);
    const latencies = e['latencies_ms'] as unknown[];
    assert.ok(latencies.length === 1 && latencies[0] instanceof Long, 'latencies_ms is an array of int64');
    assert.equal((latencies[0] as Long).toNumber(), T + 2000);
    assert.ok(e['target_event_start_timestamp_ms'] instanceof Long);
    assert.ok(e['target_event_end_timestamp_ms'] instanceof Long);

    const be = (await db.collection('box_events').findOne({}, RAW)) as Document;
    assert.deepStrictEqual(Object.keys(be), [
      '_id',
      'box_id',
      'event_start_timestamp_ms',
      'event_end_timestamp_ms',
      'event_id',
      'window_timestamps_ms',
      'data_fs_filename',
      'location',
    ]);
    assert.ok(be['event_id'] instanceof Int32);
    assert.ok(be['event_start_timestamp_ms'] instanceof Long && be['event_end_timestamp_ms'] instanceof Long);
    assert.ok((be['window_timestamps_ms'] as unknown[]).every((v) => v instanceof Long), 'window_timestamps_ms are int64');
    assert.equal(be['data_fs_filename'], `event_${id}_2`);

    const file = (await db.collection('fs.files').findOne({}, RAW)) as Document;
    assert.equal(file['filename'], `event_${id}_2`);
    const metadata = file['metadata'] as Document;
    assert.deepStrictEqual(Object.keys(metadata), ['event_id', 'box_id']);
    assert.ok(metadata['event_id'] instanceof Int32, 'metadata.event_id is int32');
    assert.equal((metadata['event_id'] as Int32).valueOf(), id);
    assert.equal(metadata['box_id'], '2');
    assert.equal(Number(file['length']), waveform.length);

    const status = (await db.collection('box_status').findOne({}, RAW)) as Document;
    assert.ok(status['last_pong_ms'] instanceof Long);
  });

  it('is read back by the plain driver as OPQ View and Mauka read it', async () => {
    const { store, db } = await freshStore();
    const id = await store.allocateEventId();
    await store.insertEvent(eventDoc(id));
    const samples = [0, 100, -100, 32767, -32768, 1234, -4321];
    await store.recordBoxReply({
      boxEvent: {
        event_id: id,
        box_id: '7',
        event_start_timestamp_ms: T,
        event_end_timestamp_ms: T + 16,
        window_timestamps_ms: [T],
        data_fs_filename: waveformFilename(id, '7'),
      },
      waveform: int16le(samples),
      receivedAtMs: T + 100,
      replyLatencyMs: 90,
    });

    // View: the event by number, then its box events.
    const event = await db.collection('events').findOne({ event_id: id });
    assert.deepStrictEqual(event?.['boxes_received'], ['7']);
    assert.deepStrictEqual(event?.['latencies_ms'], [T + 100]);
    const boxEvents = await db.collection('box_events').find({ event_id: id }).toArray();
    assert.equal(boxEvents.length, 1);
    assert.equal(boxEvents[0]?.['location'], undefined, 'no location for a box missing from the registry');

    // Mauka: the waveform by file name, decoded as numpy.frombuffer(data, int16) does.
    const parts: Buffer[] = [];
    const filename = String(boxEvents[0]?.['data_fs_filename']);
    for await (const chunk of new GridFSBucket(db).openDownloadStreamByName(filename)) parts.push(chunk as Buffer);
    const data = Buffer.concat(parts);
    const decoded = Array.from({ length: data.length / 2 }, (_, i) => data.readInt16LE(i * 2));
    assert.deepStrictEqual(decoded, samples);
  });

  it('reads documents the original Makai wrote', async () => {
    const { store, db } = await freshStore();
    // Shapes as the Rust daemon and the C++ broker wrote them: no extra fields, ints where they used ints.
    await db.collection('events').insertOne({
      type: 'FREQUENCY_SAG',
      event_id: new Int32(41),
      description: 'from the original',
      boxes_triggered: ['1'],
      boxes_received: ['1'],
      latencies_ms: [Long.fromNumber(T + 5)],
      target_event_start_timestamp_ms: Long.fromNumber(T),
      target_event_end_timestamp_ms: Long.fromNumber(T + 10),
    });
    await db.collection('trends').insertOne({
      voltage: { min: 119.5, max: 120.5, average: 120 },
      box_id: '1',
      timestamp_ms: Long.fromNumber(T),
      location: 'unknown',
    });
    await db.collection('opq_boxes').insertOne({ box_id: '1', name: 'Box 1', location: 'kailua', calibration_constant: 152.1 });

    assert.deepStrictEqual(await store.getEvent(41), {
      event_id: 41,
      type: 'FREQUENCY_SAG',
      description: 'from the original',
      boxes_triggered: ['1'],
      boxes_received: ['1'],
      latencies_ms: [T + 5],
      target_event_start_timestamp_ms: T,
      target_event_end_timestamp_ms: T + 10,
    });
    const [trend] = await store.queryTrends({});
    assert.deepStrictEqual(trend, {
      box_id: '1',
      timestamp_ms: T,
      window_start_ms: T,
      count: 0,
      voltage: { min: 119.5, max: 120.5, average: 120 },
      location: 'unknown',
    });
    assert.equal(await store.allocateEventId(), 42, 'numbering continues after the original events');

    // View's own registry fields survive our upsert.
    await store.upsertBox({ box_id: '1', location: 'manoa', public_key: 'k'.repeat(40) });
    const box = await db.collection('opq_boxes').findOne({ box_id: '1' });
    assert.equal(box?.['name'], 'Box 1');
    assert.equal(box?.['calibration_constant'], 152.1);
    // …and the calibration is read back with the entry (OPQ Mauka needs it, issue 14).
    assert.deepStrictEqual(await store.getBox('1'), { box_id: '1', location: 'manoa', public_key: 'k'.repeat(40), calibration_constant: 152.1 });
  });

  it('creates the indexes the store relies on', async () => {
    const { db } = await freshStore();
    const keys = async (collection: string) =>
      (await db.collection(collection).listIndexes().toArray()).map((index) => ({
        key: JSON.stringify(index['key']),
        unique: index['unique'] === true,
      }));
    assert.ok((await keys('events')).some((i) => i.key === '{"event_id":1}' && i.unique));
    assert.ok((await keys('box_events')).some((i) => i.key === '{"event_id":1,"box_id":1}' && i.unique));
    assert.ok((await keys('trends')).some((i) => i.key === '{"box_id":1,"timestamp_ms":1}'));
    assert.ok((await keys('measurements')).some((i) => i.key === '{"box_id":1,"timestamp_ms":1}'));
  });

  it('keys box statuses by box id, adopting documents written under an ObjectId', async () => {
    const { store, db } = await freshStore();
    const boxStatus = db.collection('box_status');
    const legacyId = new ObjectId();
    await boxStatus.insertOne({ _id: legacyId, box_id: '7', last_pong_ms: Long.fromNumber(1_700_000_000_005) });
    await store.updateBoxStatuses([
      { box_id: '7', last_measurement_ms: 1_700_000_000_010 },
      { box_id: '8', last_measurement_ms: 1_700_000_000_020 },
    ]);
    await store.updateBoxStatus({ box_id: '9', last_pong_ms: 1_700_000_000_030 });
    await store.updateBoxStatus({ box_id: '7', last_pong_ms: 1_700_000_000_040 });
    const raw = await boxStatus.find({}, RAW).sort({ box_id: 1 }).toArray();
    assert.deepStrictEqual(
      raw.map((doc) => doc['_id']),
      ['7', '8', '9'],
      'one document per box, each under its box id (the ObjectId one was moved)',
    );
    assert.deepStrictEqual(
      (await store.listBoxStatus()).map((s) => ({ ...s })),
      [
        { box_id: '7', last_measurement_ms: 1_700_000_000_010, last_pong_ms: 1_700_000_000_040 },
        { box_id: '8', last_measurement_ms: 1_700_000_000_020 },
        { box_id: '9', last_pong_ms: 1_700_000_000_030 },
      ],
      'the adopted document keeps its fields',
    );
    // An older daemon writes an ObjectId document after the first move: the upsert meets it.
    await boxStatus.insertOne({ _id: new ObjectId(), box_id: '10', last_pong_ms: Long.fromNumber(1_700_000_000_050) });
    await store.updateBoxStatuses([
      { box_id: '8', last_measurement_ms: 1_700_000_000_060 },
      { box_id: '10', last_measurement_ms: 1_700_000_000_070 },
    ]);
    assert.deepStrictEqual((await boxStatus.find({}, RAW).sort({ box_id: 1 }).toArray()).map((doc) => doc['_id']), ['10', '7', '8', '9']);
    const byId = new Map((await store.listBoxStatus()).map((s) => [s.box_id, { ...s }]));
    assert.deepStrictEqual(byId.get('8'), { box_id: '8', last_measurement_ms: 1_700_000_000_060 });
    assert.deepStrictEqual(byId.get('10'), { box_id: '10', last_measurement_ms: 1_700_000_000_070, last_pong_ms: 1_700_000_000_050 });
  });

  it('refuses values that would change on the way, storing the valid rest', async () => {
    const metrics = new Metrics();
    const { store } = await freshStore({ metrics });
    const good = measurement(T);
    const error = await rejection(
      store.insertMeasurements([
        measurement(T + 0.5),
        good,
        measurement(T + 1, { voltage: Number.NaN }),
        measurement(T + 2, { expireAt: new Date(Number.NaN) }),
      ]),
    );
    assert.equal(error.retryable, false);
    assert.match(error.message, /3 of 4 documents refused/);
    assert.deepStrictEqual(await store.queryMeasurements({}), [good]);
    assert.equal(await metrics.value('makai_store_documents_refused_total', { store: 'mongodb', operation: 'insertMeasurements' }), 3);

    const tooLarge = await rejection(store.insertEvent(eventDoc(2 ** 31)));
    assert.equal(tooLarge.retryable, false);
    assert.match(tooLarge.message, /event_id must be an int32/);
    await store.insertEvent(eventDoc(5));
    const twice = await rejection(store.insertEvent(eventDoc(5)));
    assert.equal(twice.retryable, false, 'a second event with the same id is refused');
  });

  it('stores a repeated batch once (retries cannot duplicate measurements)', async () => {
    const { store } = await freshStore();
    const batch = [measurement(T), measurement(T + 1), measurement(T + 2)];
    await store.insertMeasurements(batch);
    await store.insertMeasurements(batch);
    await store.insertMeasurements([batch[1]!, measurement(T + 1)]);
    assert.equal(await store.countMeasurements(), 4, 'the same objects again add nothing; an equal new object is a new document');
  });

  it('expires measurements with a TTL index, or by a sweep where the server has none, and says which', async () => {
    const logger = new RecordingLogger();
    const { store, db } = await freshStore({ expiry: 'auto', logger });
    const expiryLogs = logger.records.filter((r) => r.msg.startsWith('measurement expiry'));
    assert.equal(expiryLogs.length, 1, 'one log line at start');
    assert.equal(expiryLogs[0]?.['mode'], store.expiryMode);

    const ttl = (await db.collection('measurements').listIndexes().toArray()).find((i) => JSON.stringify(i['key']) === '{"expireAt":1}');
    assert.ok(ttl, 'an index on expireAt exists either way');
    const ferretV1 = /^v?1\./.test(store.server.ferretdbVersion ?? '');
    if (ferretV1) assert.equal(store.expiryMode, 'sweep', 'FerretDB 1.x has no TTL monitor');
    if (store.expiryMode === 'ttl-index') assert.equal(ttl['expireAfterSeconds'], 0);
    else assert.equal(store.expiryMode, 'sweep');
  });

  it('sweeps expired measurements on its interval', async () => {
    let swept!: (deleted: number) => void;
    const firstDeletion = new Promise<number>((resolve) => (swept = resolve));
    const metrics = new Metrics();
    const { store } = await freshStore({
      expiry: 'sweep',
      sweepIntervalMs: 20,
      metrics,
      onSweep: (result) => {
        if ('deleted' in result && result.deleted > 0) swept(result.deleted);
      },
    });
    assert.equal(store.expiryMode, 'sweep');
    const now = Date.now();
    const keep = measurement(T + 2, { expireAt: new Date(now + DAY_MS) });
    await store.insertMeasurements([measurement(T, { expireAt: new Date(now - 1000) }), keep, measurement(T + 1, { expireAt: new Date(0) })]);
    assert.equal(await withDeadline(firstDeletion, 10_000, 'sweep'), 2);
    assert.deepStrictEqual(await store.queryMeasurements({}), [keep]);
    assert.equal(await metrics.value('makai_store_expired_deleted_total', { store: 'mongodb' }), 2);
  });

  it('fails to open against a dead server with a retryable StoreError that hides the password', async () => {
    const port = await closedPort();
    const logger = new RecordingLogger();
    const error = await withDeadline(
      rejection(openMongoStore({ uri: `mongodb://makai:s3cret@127.0.0.1:${port}/opq`, serverSelectionTimeoutMS: 300, logger })),
      10_000,
      'open',
    );
    assert.equal(error.retryable, true);
    assert.equal(error.operation, 'open');
    assert.ok(!error.message.includes('s3cret'), error.message);
    assert.match(error.message, /127\.0\.0\.1/);
    assert.ok(logger.records.some((r) => r.level === 'error' && !JSON.stringify(r).includes('s3cret')));

    const invalid = await rejection(openMongoStore({ uri: 'mongodb://127.0.0.1:notaport/' }));
    assert.equal(invalid.retryable, false, 'an invalid URI will not get better');
  });

  it('rejects calls with a retryable StoreError while the server is gone, logs and counts them, and recovers', async (t) => {
    const upstream = singleHost(uri);
    if (!upstream) {
      t.skip('needs a single-host mongodb:// URI without TLS to put a proxy in front of');
      return;
    }
    const proxy = await startTcpProxy(upstream);
    try {
      const logger = new RecordingLogger();
      const metrics = new Metrics();
      const { store } = await freshStore({
        uri: uriThrough(uri, proxy.port),
        // Long enough for the driver to find the server again after restore() on a busy machine.
        serverSelectionTimeoutMS: 3000,
        retry: { attempts: 2, initialDelayMs: 10 },
        logger,
        metrics,
      });
      await store.insertMeasurements([measurement(T)]);

      await proxy.cut();
      const error = await withDeadline(rejection(store.insertMeasurements([measurement(T + 1)])), 15_000, 'insert during outage');
      assert.equal(error.retryable, true);
      const allocate = await withDeadline(rejection(store.allocateEventId()), 15_000, 'allocate during outage');
      assert.equal(allocate.retryable, true);
      assert.ok(
        logger.records.some((r) => r.level === 'warn' && r['operation'] === 'insertMeasurements' && r['retryable'] === true),
        'the failed write is logged',
      );
      assert.equal(
        await metrics.value('makai_store_errors_total', { store: 'mongodb', operation: 'insertMeasurements', retryable: 'true' }),
        1,
      );

      await proxy.restore();
      await store.insertMeasurements([measurement(T + 2)]);
      assert.deepStrictEqual((await store.queryMeasurements({})).map((m) => m.timestamp_ms), [T, T + 2]);
    } finally {
      await proxy.close();
    }
  });
});
