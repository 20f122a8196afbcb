import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreError } from '../../src/core/errors.js';
import {
  waveformFilename,
  type BoxEventDoc,
  type BoxRecord,
  type DeadLetterDoc,
  type EventDoc,
  type MeasurementDoc,
  type ShadowRequestDoc,
  type TrendDoc,
} from '../../src/protocol/documents.js';
import type { BoxReply, Store } from '../../src/stores/store.js';

/**
 * The behaviour every {@link Store} must have, as one node:test suite that each store runs
 * against its real backing store (SQLite temp files, MongoDB/FerretDB). Test names start with
 * the store's name, so the output shows which store passed.
 *
 * How to use it, from a `*.test.ts` file:
 *
 * ```ts
 * storeContract('mongodb', async () => {
 *   const database = `makai_test_${randomUUID().replaceAll('-', '')}`;   // fresh per test
 *   const store = await openMongoStore({ uri, database });
 *   return {
 *     store,
 *     openAnother: () => openMongoStore({ uri, database }),                    // own client
 *     openUnreachable: () => openMongoStore({ uri: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500', database }),
 *     cleanup: async () => { await dropDatabase(database); },
 *   };
 * }, { skip: uri === undefined && 'set MAKAI_TEST_MONGODB_URI' });
 * ```
 *
 * `setup` is called once per test case and must return a store over **empty** backing data.
 * The suite closes every store it receives (`store`, each `openAnother()`, each
 * `openUnreachable()`) before it calls `cleanup`, and `close()` may be called on a store that
 * is already closed, so `close()` must be idempotent.
 *
 * Semantics pinned down here beyond the TSDoc of `Store`: timestamps beyond 2^32 round-trip as
 * numbers; `expireAt` comes back as a `Date`; optional fields that were absent stay absent (no
 * `undefined` or `null` keys); `location` may be any JSON value, including `null`, and a JSON
 * `null` is kept distinct from an absent location; waveforms come back as a `Uint8Array` with
 * exactly the stored bytes; the first event id of an empty store is 1; `limit: 0` returns nothing.
 */
export interface StoreFixture {
  /** A store over fresh, empty backing data (its own temp file, its own database). */
  readonly store: Store;
  /** Opens another instance (its own connection or client) on the same backing data as `store`. */
  openAnother(): Promise<Store>;
  /**
   * Opens a store whose backing store cannot be reached (a path under a regular file, a closed
   * port with a short server-selection timeout). It may reject with a StoreError itself, or
   * resolve to a store whose calls reject with one. Omit it to skip that case.
   */
  readonly openUnreachable?: () => Promise<Store>;
  /** Removes the backing data. Called after every store of this fixture was closed. */
  cleanup(): Promise<void>;
}

export interface StoreContractOptions {
  /** Skips the whole suite (e.g. no MongoDB server configured); a string says why. */
  readonly skip?: boolean | string;
  /** Longest wait for the unreachable case to reject (ms, default 20000); beyond it the case fails. */
  readonly unreachableDeadlineMs?: number;
}

/** Box time used throughout: beyond 2^32 ms, as real timestamps are. */
const T = 1_700_000_000_123;
const DAY_MS = 86_400_000;

function measurement(box_id: string, timestamp_ms: number, extra: Partial<MeasurementDoc> = {}): MeasurementDoc {
  return {
    box_id,
    timestamp_ms,
    voltage: 120.123456789012,
    frequency: 59.987654321,
    expireAt: new Date(T + DAY_MS),
    ...extra,
  };
}

function eventDoc(event_id: number, extra: Partial<EventDoc> = {}): EventDoc {
  return {
    event_id,
    type: 'VOLTAGE_SAG',
    description: `event ${event_id}`,
    boxes_triggered: ['1', '2', '3'],
    boxes_received: [],
    latencies_ms: [],
    reply_latencies_ms: [],
    target_event_start_timestamp_ms: T - 1000,
    target_event_end_timestamp_ms: T + 1000,
    ...extra,
  };
}

function boxEvent(event_id: number, box_id: string, extra: Partial<BoxEventDoc> = {}): BoxEventDoc {
  return {
    event_id,
    box_id,
    event_start_timestamp_ms: T - 1000,
    event_end_timestamp_ms: T + 1016,
    window_timestamps_ms: [T - 1000, T - 983, T - 967],
    data_fs_filename: waveformFilename(event_id, box_id),
    ...extra,
  };
}

function reply(doc: BoxEventDoc, waveform: Uint8Array, receivedAtMs = T + 5000, replyLatencyMs = 250.5): BoxReply {
  return { boxEvent: doc, waveform, receivedAtMs, replyLatencyMs };
}

/** int16 little-endian samples, as boxes send them. */
function int16le(samples: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  samples.forEach((sample, i) => view.setInt16(i * 2, sample, true));
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function assertBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  assert.ok(actual instanceof Uint8Array, `${what}: expected a Uint8Array, got ${String(actual)}`);
  assert.equal(actual.length, expected.length, `${what}: length`);
  assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), `${what}: bytes differ`);
}

const byBoxId = <D extends { box_id: string }>(docs: readonly D[]): D[] =>
  [...docs].sort((a, b) => (a.box_id < b.box_id ? -1 : a.box_id > b.box_id ? 1 : 0));

async function rejectsWithStoreError(call: () => Promise<unknown>, what: string): Promise<StoreError> {
  try {
    await call();
  } catch (error) {
    assert.ok(error instanceof StoreError, `${what}: expected a StoreError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${what}: resolved instead of rejecting`);
}

/** Resolves with `work`'s result, or rejects once `ms` have passed; never leaves a timer behind. */
async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Registers the store contract as a `describe` block of `it` cases named `${name}: …`.
 *
 * @param name Store name shown in every test name, e.g. `sqlite`.
 * @param setup Opens a fresh fixture per test case; see {@link StoreFixture}.
 */
export function storeContract(
  name: string,
  setup: () => Promise<StoreFixture>,
  options: StoreContractOptions = {},
): void {
  /** Runs `body` with a fresh fixture; closes every store handed out, then cleans up. */
  async function withStore(body: (store: Store, fixture: Tracked) => Promise<void>): Promise<void> {
    const fixture = await setup();
    const opened: Store[] = [fixture.store];
    const track = async (open: () => Promise<Store>): Promise<Store> => {
      const store = await open();
      opened.push(store);
      return store;
    };
    const tracked: Tracked = {
      openAnother: () => track(() => fixture.openAnother()),
      ...(fixture.openUnreachable ? { openUnreachable: () => track(fixture.openUnreachable as () => Promise<Store>) } : {}),
    };
    try {
      await body(fixture.store, tracked);
    } finally {
      for (const store of opened) await store.close().catch(() => undefined);
      await fixture.cleanup();
    }
  }

  describe(`store contract: ${name}`, { skip: options.skip ?? false }, () => {
    it(`${name}: inserts, queries and counts measurements`, () =>
      withStore(async (store) => {
        const docs = [
          measurement('1', T, { thd: 0.0123 }),
          measurement('2', T + 50),
          measurement('1', T + 100, { voltage: 119.5, frequency: 60.01 }),
          measurement('2', T + 150, { thd: 0 }),
          measurement('1', T + 200, { expireAt: new Date(T + 2 * DAY_MS) }),
        ];
        await store.insertMeasurements([]);
        // Out of order, in two batches: results must come back oldest first anyway.
        await store.insertMeasurements([docs[4]!, docs[1]!]);
        await store.insertMeasurements([docs[3]!, docs[0]!, docs[2]!]);

        assert.deepStrictEqual(await store.queryMeasurements({}), docs);
        assert.deepStrictEqual(await store.queryMeasurements({ box_id: '1' }), [docs[0], docs[2], docs[4]]);
        assert.deepStrictEqual(await store.queryMeasurements({ box_id: '1', fromMs: T + 100, toMs: T + 200 }), [docs[2]]);
        assert.deepStrictEqual(await store.queryMeasurements({ fromMs: T + 50, toMs: T + 151 }), docs.slice(1, 4));
        assert.deepStrictEqual(await store.queryMeasurements({ limit: 2 }), docs.slice(0, 2));
        assert.deepStrictEqual(await store.queryMeasurements({ limit: 0 }), []);
        assert.deepStrictEqual(await store.queryMeasurements({ box_id: 'missing' }), []);

        const [first] = await store.queryMeasurements({ limit: 1 });
        assert.ok(first?.expireAt instanceof Date, 'expireAt comes back as a Date');
        assert.ok(!('thd' in (await store.queryMeasurements({ box_id: '2', limit: 1 }))[0]!), 'absent thd stays absent');

        assert.equal(await store.countMeasurements(), 5);
        assert.equal(await store.countMeasurements({ box_id: '1' }), 3);
        assert.equal(await store.countMeasurements({ box_id: '2' }), 2);
        assert.equal(await store.countMeasurements({ box_id: 'missing' }), 0);
      }));

    it(`${name}: streams measurements in time order, page by page, by range and box`, () =>
      withStore(async (store) => {
        // Ties on timestamp_ms across pages: the page boundary must neither repeat nor skip a row.
        const docs = [
          measurement('1', T, { thd: 0.01 }),
          measurement('2', T),
          measurement('3', T),
          measurement('1', T + 100),
          measurement('2', T + 100),
          measurement('3', T + 200),
          measurement('1', T + 300),
        ];
        await store.insertMeasurements([docs[5]!, docs[6]!, docs[3]!]);
        await store.insertMeasurements([docs[0]!, docs[1]!, docs[2]!, docs[4]!]);
        const pages: number[] = [];
        const collect = async (query: Parameters<Store['streamMeasurements']>[0]) => {
          const seen: MeasurementDoc[] = [];
          pages.length = 0;
          for await (const page of store.streamMeasurements(query)) {
            pages.push(page.length);
            seen.push(...page);
          }
          return seen;
        };
        const byTime = (list: MeasurementDoc[]) => list.map((d) => `${d.timestamp_ms - T}:${d.box_id}`).sort();
        const all = await collect({ pageSize: 2 });
        assert.deepStrictEqual(all.map((d) => d.timestamp_ms), docs.map((d) => d.timestamp_ms), 'oldest first');
        assert.deepStrictEqual(byTime(all), byTime(docs), 'every document once, across page boundaries');
        assert.deepStrictEqual(pages, [2, 2, 2, 1], 'pages of pageSize, the last one shorter');
        assert.deepStrictEqual(all.find((d) => d.box_id === '1' && d.timestamp_ms === T), docs[0]);
        assert.deepStrictEqual(byTime(await collect({ fromMs: T + 100, toMs: T + 300, pageSize: 1 })), byTime(docs.slice(3, 6)));
        assert.deepStrictEqual(byTime(await collect({ fromMs: T + 100, toMs: T + 300, pageSize: 3 })), byTime(docs.slice(3, 6)));
        assert.deepStrictEqual(pages, [3], 'a range that fills exactly one page: no empty page after it');
        assert.deepStrictEqual(byTime(await collect({ boxes: ['1', '3'] })), byTime([docs[0]!, docs[2]!, docs[3]!, docs[5]!, docs[6]!]));
        assert.deepStrictEqual(await collect({ boxes: [] }), []);
        assert.deepStrictEqual(await collect({ fromMs: T + 301 }), []);
      }));

    it(`${name}: logs shadow requests and lists them newest first, by plugin`, () =>
      withStore(async (store) => {
        const shadow = (plugin: string, at_ms: number, extra: Partial<ShadowRequestDoc> = {}): ShadowRequestDoc => ({
          plugin,
          at_ms,
          type: 'VOLTAGE_SAG',
          boxes: ['1', '2'],
          start_ms: T - 1000,
          end_ms: T + 1000,
          percent_magnitude: 12.5,
          requestee: 'Makai: threshold plugin',
          description: 'ünïcode "quoted"',
          request_data: true,
          ...extra,
        });
        const a = shadow('strict', T);
        const b = shadow('freq', T + 10, { type: 'FREQUENCY_SAG', boxes: [], request_data: false });
        const c = shadow('strict', T + 10, { percent_magnitude: 0 });
        await store.insertShadowRequests([]);
        await store.insertShadowRequests([a, b]);
        await store.insertShadowRequests([c]);
        assert.deepStrictEqual(await store.listShadowRequests(), [c, b, a], 'ties on at_ms: newest inserted first');
        assert.deepStrictEqual(await store.listShadowRequests({ plugin: 'strict' }), [c, a]);
        assert.deepStrictEqual(await store.listShadowRequests({ limit: 1 }), [c]);
        assert.deepStrictEqual(await store.listShadowRequests({ limit: 0 }), []);
        await assert.rejects(store.insertShadowRequests([{ ...a, boxes: [1] as unknown as string[] }]), StoreError);
      }));

    it(`${name}: deletes measurements whose expireAt is at or before now`, () =>
      withStore(async (store) => {
        const now = new Date(T);
        const expired = [measurement('1', T - 3000, { expireAt: new Date(T - DAY_MS) }), measurement('1', T - 2000, { expireAt: now })];
        const kept = [
          measurement('1', T - 1000, { expireAt: new Date(T + 1) }),
          measurement('2', T, { expireAt: new Date(T + DAY_MS) }),
        ];
        await store.insertMeasurements([kept[0]!, expired[0]!, kept[1]!, expired[1]!]);

        assert.equal(await store.deleteExpiredMeasurements(now), 2);
        assert.deepStrictEqual(await store.queryMeasurements({}), kept);
        assert.equal(await store.deleteExpiredMeasurements(now), 0, 'a second pass finds nothing');
        assert.equal(await store.countMeasurements(), 2);
      }));

    it(`${name}: stores trends with and without thd`, () =>
      withStore(async (store) => {
        const stats = (min: number, max: number, average: number) => ({ min, max, average });
        const withThd: TrendDoc = {
          box_id: '1',
          timestamp_ms: T,
          window_start_ms: T - 60_000,
          count: 360,
          voltage: stats(118.25, 121.5, 120.0625),
          frequency: stats(59.95, 60.05, 60.0001),
          thd: stats(0.01, 0.03, 0.0212345),
          location: 'kailua',
        };
        const withoutThd: TrendDoc = {
          box_id: '1',
          timestamp_ms: T + 60_000,
          window_start_ms: T,
          count: 12,
          voltage: stats(119, 120, 119.5),
          frequency: stats(60, 60, 60),
          location: { name: 'POST 1', lat: 21.2969, lng: -157.8171, floors: [1, 2] },
        };
        const empty: TrendDoc = { box_id: '2', timestamp_ms: T + 30_000, window_start_ms: T - 30_000, count: 0, location: 'unknown' };
        await store.insertTrends([withoutThd, empty, withThd]);
        await store.insertTrends([]);

        assert.deepStrictEqual(await store.queryTrends({}), [withThd, empty, withoutThd]);
        assert.deepStrictEqual(await store.queryTrends({ box_id: '1' }), [withThd, withoutThd]);
        assert.deepStrictEqual(await store.queryTrends({ box_id: '1', fromMs: T + 1 }), [withoutThd]);
        assert.deepStrictEqual(await store.queryTrends({ toMs: T + 30_000 }), [withThd]);
        assert.deepStrictEqual(await store.queryTrends({ limit: 1 }), [withThd]);
        const [, back] = await store.queryTrends({ box_id: '1' });
        assert.ok(back && !('thd' in back), 'absent thd stays absent');
      }));

    it(`${name}: merges a second write of the same box and window into one trend`, () =>
      withStore(async (store) => {
        const stats = (min: number, max: number, average: number) => ({ min, max, average });
        const window = { box_id: '7', timestamp_ms: T, window_start_ms: T - 60_000 };
        // Before a restart: 20 messages; after it, 40 more of the same minute, with thd this time.
        const first: TrendDoc = { ...window, count: 20, voltage: stats(118, 121, 120), frequency: stats(59.9, 60, 59.95), location: 'kailua' };
        const second: TrendDoc = {
          ...window,
          count: 40,
          voltage: stats(119, 124, 123),
          frequency: stats(59.95, 60.1, 60.05),
          thd: stats(0.01, 0.02, 0.015),
          location: 'kailua',
        };
        const other: TrendDoc = { ...first, box_id: '8' };
        const next: TrendDoc = { ...first, timestamp_ms: T + 60_000, window_start_ms: T };
        await store.insertTrends([first, other]);
        await store.insertTrends([second, next]);

        const trends = await store.queryTrends({ box_id: '7' });
        assert.equal(trends.length, 2, 'one document per box and window');
        const merged = trends[0]!;
        assert.deepStrictEqual(
          { ...merged, voltage: undefined, frequency: undefined },
          { ...window, count: 60, voltage: undefined, frequency: undefined, thd: stats(0.01, 0.02, 0.015), location: 'kailua' },
        );
        assert.deepStrictEqual([merged.voltage!.min, merged.voltage!.max], [118, 124], 'min of min, max of max');
        assert.ok(Math.abs(merged.voltage!.average - (120 * 20 + 123 * 40) / 60) < 1e-9, `count-weighted average, got ${merged.voltage!.average}`);
        assert.deepStrictEqual([merged.frequency!.min, merged.frequency!.max], [59.9, 60.1]);
        assert.ok(Math.abs(merged.frequency!.average - (59.95 * 20 + 60.05 * 40) / 60) < 1e-9);
        assert.deepStrictEqual(trends[1], next, 'the next window is its own document');
        assert.deepStrictEqual(await store.queryTrends({ box_id: '8' }), [other], 'other boxes untouched');

        // Twice in one batch, and a window of another length with the same start: merged, and kept apart.
        const ten: TrendDoc = { ...first, timestamp_ms: T - 50_000, count: 1 };
        await store.insertTrends([{ ...first, count: 5 }, { ...first, count: 5 }, ten]);
        assert.deepStrictEqual(
          (await store.queryTrends({ box_id: '7' })).map((t) => [t.window_start_ms, t.timestamp_ms, t.count]),
          [
            [T - 60_000, T - 50_000, 1],
            [T - 60_000, T, 70],
            [T, T + 60_000, 20],
          ],
        );
      }));

    it(`${name}: round-trips events, newest first`, () =>
      withStore(async (store) => {
        const one = eventDoc(1, { type: 'FREQUENCY_SAG', boxes_triggered: ['1'] });
        const two = eventDoc(2, {
          type: 'OTHER',
          description: 'ünïcode, "quotes" and\nnewlines',
          boxes_received: ['2', '1'],
          latencies_ms: [T + 10, T + 20],
          reply_latencies_ms: [10.5, 20],
        });
        const { reply_latencies_ms: _, ...withoutReplyLatencies } = eventDoc(3, { boxes_triggered: [] });
        const three: EventDoc = withoutReplyLatencies;
        for (const doc of [one, two, three]) await store.insertEvent(doc);

        assert.deepStrictEqual(await store.getEvent(2), two);
        assert.deepStrictEqual(await store.getEvent(3), three);
        assert.ok(!('reply_latencies_ms' in ((await store.getEvent(3)) ?? {})), 'absent reply_latencies_ms stays absent');
        assert.equal(await store.getEvent(99), undefined);
        assert.deepStrictEqual(await store.listEvents(), [three, two, one]);
        assert.deepStrictEqual(await store.listEvents({ limit: 2 }), [three, two]);
        assert.deepStrictEqual(await store.listEvents({ limit: 0 }), []);
        const later = eventDoc(4, { target_event_start_timestamp_ms: T + 5000, target_event_end_timestamp_ms: T + 6000 });
        await store.insertEvent(later);
        assert.deepStrictEqual(await store.listEvents({ fromMs: T, toMs: T + 5001 }), [later], 'by requested start');
        assert.deepStrictEqual(await store.listEvents({ toMs: T + 5000 }), [three, two, one]);
        assert.deepStrictEqual(await store.listEvents({ fromMs: T - 1000, limit: 1 }), [later]);
      }));

    it(`${name}: allocates distinct event ids from two instances at once`, () =>
      withStore(async (store, fixture) => {
        await store.insertEvent(eventDoc(41));
        const other = await fixture.openAnother();
        const allocate = async (s: Store): Promise<number[]> => {
          const ids: number[] = [];
          for (let i = 0; i < 500; i++) ids.push(await s.allocateEventId());
          return ids;
        };
        const [a, b] = await Promise.all([allocate(store), allocate(other)]);
        const all = [...a, ...b];
        assert.equal(new Set(all).size, 1000, 'every id is distinct');
        assert.ok(all.every((id) => Number.isInteger(id) && id > 41), 'every id is above the existing event 41');
        for (const ids of [a, b]) assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), 'increasing per instance');

        // Events written by another writer move the numbering on.
        const highest = Math.max(...all);
        await other.insertEvent(eventDoc(highest + 100));
        assert.equal(await store.allocateEventId(), highest + 101);
      }));

    it(`${name}: starts event ids at 1 and continues them after a reopen`, () =>
      withStore(async (store, fixture) => {
        assert.equal(await store.allocateEventId(), 1, 'an empty store starts at 1');
        await store.allocateEventId();
        const last = await store.allocateEventId();
        await store.close();
        const reopened = await fixture.openAnother();
        const next = await reopened.allocateEventId();
        assert.ok(next > last, `after a reopen ${next} must follow ${last}`);
      }));

    it(`${name}: stores box replies and their waveforms byte for byte`, () =>
      withStore(async (store) => {
        await store.insertEvent(eventDoc(7));
        const samples = [0, -1, 1, 32767, -32768, -12345, 258];
        // Odd length: a trailing half sample must survive too.
        const odd = concat(int16le(samples), new Uint8Array([0xab]));
        const empty = new Uint8Array(0);
        const large = Uint8Array.from({ length: 4001 }, (_, i) => (i * 37 + 11) % 256);
        const docs = [
          boxEvent(7, '1', { location: 'kailua' }),
          boxEvent(7, '2', { window_timestamps_ms: [] }),
          boxEvent(7, '3', { location: { nested: [1, { a: null }], name: 'lab' } }),
        ];
        const waveforms = [odd, empty, large];
        const outcomes = [];
        for (const [i, doc] of docs.entries()) {
          outcomes.push(await store.recordBoxReply(reply(doc, waveforms[i]!, T + 5000 + i, 100 + i / 4)));
        }
        assert.deepStrictEqual(outcomes, ['stored', 'stored', 'stored']);

        assert.deepStrictEqual(byBoxId(await store.listBoxEvents(7)), docs);
        assert.ok(!('location' in byBoxId(await store.listBoxEvents(7))[1]!), 'absent location stays absent');
        assert.deepStrictEqual(await store.listBoxEvents(8), []);
        for (const [i, doc] of docs.entries()) {
          assertBytes(await store.getWaveform(doc.data_fs_filename), waveforms[i]!, doc.data_fs_filename);
        }
        const back = (await store.getWaveform(waveformFilename(7, '1')))!;
        const view = new DataView(back.buffer, back.byteOffset, back.byteLength);
        assert.deepStrictEqual(samples.map((_, i) => view.getInt16(i * 2, true)), samples, 'samples decode as int16 LE');
        assert.equal(await store.getWaveform(waveformFilename(7, '9')), undefined);

        const event = await store.getEvent(7);
        assert.deepStrictEqual(event?.boxes_received, ['1', '2', '3']);
        assert.deepStrictEqual(event?.latencies_ms, [T + 5000, T + 5001, T + 5002]);
        assert.deepStrictEqual(event?.reply_latencies_ms, [100, 100.25, 100.5]);
        assert.deepStrictEqual(event?.boxes_triggered, ['1', '2', '3'], 'other fields untouched');
      }));

    it(`${name}: records each box reply once and refuses replies to unknown events`, () =>
      withStore(async (store, fixture) => {
        const { reply_latencies_ms: _, ...withoutReplyLatencies } = eventDoc(8);
        await store.insertEvent(withoutReplyLatencies);
        const first = reply(boxEvent(8, '1', { location: 'kailua' }), int16le([1, -2, 3]), T + 100, 40);
        assert.equal(await store.recordBoxReply(first), 'stored');
        const after = await store.getEvent(8);
        assert.deepStrictEqual(after, { ...withoutReplyLatencies, boxes_received: ['1'], latencies_ms: [T + 100], reply_latencies_ms: [40] });

        const again = reply(boxEvent(8, '1', { event_end_timestamp_ms: T + 9999 }), int16le([9, 9, 9, 9]), T + 200, 80);
        assert.equal(await store.recordBoxReply(again), 'duplicate');
        assert.deepStrictEqual(await store.getEvent(8), after, 'a duplicate changes nothing in the event');
        assert.deepStrictEqual(await store.listBoxEvents(8), [first.boxEvent], 'nor in box_events');
        assertBytes(await store.getWaveform(waveformFilename(8, '1')), first.waveform, 'nor the waveform');

        const stray = reply(boxEvent(999, '1'), int16le([5]));
        assert.equal(await store.recordBoxReply(stray), 'unknown-event');
        assert.equal(await store.getEvent(999), undefined);
        assert.deepStrictEqual(await store.listBoxEvents(999), []);
        assert.equal(await store.getWaveform(waveformFilename(999, '1')), undefined);

        // The same reply through two instances at once is stored exactly once.
        const other = await fixture.openAnother();
        const racing = reply(boxEvent(8, '2'), int16le([7, 7]), T + 300, 60);
        const outcomes = await Promise.all([store.recordBoxReply(racing), other.recordBoxReply(racing)]);
        assert.deepStrictEqual([...outcomes].sort(), ['duplicate', 'stored']);
        assert.deepStrictEqual((await store.getEvent(8))?.boxes_received, ['1', '2']);
        assert.equal((await store.listBoxEvents(8)).length, 2);
      }));

    it(`${name}: keeps the box registry (any JSON location, optional public key)`, () =>
      withStore(async (store) => {
        const key = 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7';
        const boxes: BoxRecord[] = [
          { box_id: '1', location: 'kailua', public_key: key },
          { box_id: '2', location: { lat: 21.3, lng: -157.8, tags: ['a', 'b'], inner: { deep: true } } },
          { box_id: '3' },
          { box_id: '4', location: null },
          { box_id: '5', location: 42.5, public_key: key.replace('r', 's') },
          { box_id: '6', location: [1, 'two', null] },
        ];
        for (const box of [...boxes].reverse()) await store.upsertBox(box);

        assert.deepStrictEqual(byBoxId(await store.listBoxes()), boxes);
        assert.deepStrictEqual(await store.getBox('2'), boxes[1]);
        assert.deepStrictEqual(await store.getBox('4'), boxes[3], 'a JSON null location stays null');
        assert.ok(!('location' in ((await store.getBox('3')) ?? {})), 'an absent location stays absent');
        assert.ok(!('public_key' in ((await store.getBox('2')) ?? {})), 'an absent public key stays absent');
        assert.equal(await store.getBox('missing'), undefined);

        // An upsert replaces the whole entry.
        await store.upsertBox({ box_id: '1', location: 'manoa' });
        assert.deepStrictEqual(await store.getBox('1'), { box_id: '1', location: 'manoa' });
        assert.equal((await store.listBoxes()).length, 6);

        // A removal takes the entry out of the registry and says whether there was one.
        assert.equal(await store.removeBox('5'), true);
        assert.equal(await store.getBox('5'), undefined);
        assert.deepStrictEqual(byBoxId(await store.listBoxes()).map((b) => b.box_id), ['1', '2', '3', '4', '6']);
        assert.equal(await store.removeBox('5'), false, 'a second removal finds nothing');
        assert.equal(await store.removeBox('missing'), false);
      }));

    it(`${name}: keeps a box's calibration_constant (OPQ Mauka reads it), and refuses one that is not a positive number`, () =>
      withStore(async (store) => {
        await store.upsertBox({ box_id: '7', location: 'simulated', calibration_constant: 96.56 });
        assert.deepStrictEqual(await store.getBox('7'), { box_id: '7', location: 'simulated', calibration_constant: 96.56 });
        assert.deepStrictEqual((await store.listBoxes()).find((b) => b.box_id === '7')?.calibration_constant, 96.56);
        for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
          await assert.rejects(store.upsertBox({ box_id: '8', calibration_constant: bad }), (e: unknown) => e instanceof StoreError && !e.retryable, String(bad));
        }
        assert.equal(await store.getBox('8'), undefined);
        // A new value replaces the old one. (Without one, SQLite replaces the whole row and
        // MongoDB leaves View's value alone: not part of the contract.)
        await store.upsertBox({ box_id: '7', location: 'simulated', calibration_constant: 100 });
        assert.deepStrictEqual(await store.getBox('7'), { box_id: '7', location: 'simulated', calibration_constant: 100 });
      }));

    it(`${name}: merges partial box status updates`, () =>
      withStore(async (store) => {
        assert.deepStrictEqual(await store.listBoxStatus(), []);
        await store.updateBoxStatus({ box_id: '1', last_measurement_ms: T });
        await store.updateBoxStatus({ box_id: '1', last_pong_ms: T + 5 });
        await store.updateBoxStatus({ box_id: '2', last_pong_ms: T + 7 });
        await store.updateBoxStatus({ box_id: '1', last_measurement_ms: T + 10 });
        await store.updateBoxStatus({ box_id: '2' });
        assert.deepStrictEqual(byBoxId(await store.listBoxStatus()), [
          { box_id: '1', last_measurement_ms: T + 10, last_pong_ms: T + 5 },
          { box_id: '2', last_pong_ms: T + 7 },
        ]);
      }));

    it(`${name}: updates many box statuses at once, merging like single updates and refusing invalid ones`, () =>
      withStore(async (store) => {
        await store.updateBoxStatus({ box_id: '1', last_pong_ms: T + 5 });
        await store.updateBoxStatuses([]);
        await store.updateBoxStatuses([
          { box_id: '1', last_measurement_ms: T + 10 },
          { box_id: '2', last_measurement_ms: T + 20, last_pong_ms: T + 21 },
        ]);
        assert.deepStrictEqual(byBoxId(await store.listBoxStatus()), [
          { box_id: '1', last_measurement_ms: T + 10, last_pong_ms: T + 5 },
          { box_id: '2', last_measurement_ms: T + 20, last_pong_ms: T + 21 },
        ]);
        const refused = await rejectsWithStoreError(
          () =>
            store.updateBoxStatuses([
              { box_id: '3', last_measurement_ms: T + 0.5 },
              { box_id: '4', last_measurement_ms: T + 40 },
            ]),
          'a batch with a fractional time',
        );
        assert.equal(refused.retryable, false);
        assert.match(refused.message, /1 of 2/);
        assert.deepStrictEqual(byBoxId(await store.listBoxStatus()).slice(2), [{ box_id: '4', last_measurement_ms: T + 40 }]);
      }));

    it(`${name}: updates the statuses of a 1,000-box fleet in one call, twice`, () =>
      withStore(async (store) => {
        // On FerretDB 1.x one update command of that many statements deadlocked the server.
        const fleet = (at: number) => Array.from({ length: 1000 }, (_, i) => ({ box_id: `${i}`, last_measurement_ms: at + i }));
        await store.updateBoxStatuses(fleet(T));
        await store.updateBoxStatuses(fleet(T + 10_000));
        const statuses = byBoxId(await store.listBoxStatus());
        assert.equal(statuses.length, 1000);
        assert.deepStrictEqual(statuses.find((s) => s.box_id === '999'), { box_id: '999', last_measurement_ms: T + 10_999 });
      }));

    it(`${name}: keeps dead letters newest first and trims them to the newest N`, () =>
      withStore(async (store) => {
        assert.deepStrictEqual(await store.listDeadLetters(), []);
        assert.equal(await store.trimDeadLetters(10), 0);
        const letter = (i: number, at_ms: number): DeadLetterDoc => ({
          source: i % 2 === 0 ? 'decode' : 'backend_pull',
          reason: i % 3 === 0 ? 'truncated' : 'frame-count',
          detail: `letter ${i}`,
          preview: i === 0 ? '' : 'ff00'.repeat(i),
          at_ms,
        });
        // 7 letters in two batches; 3 and 4 share a time, so insertion order breaks the tie.
        const times = [T, T + 1, T + 2, T + 3, T + 3, T + 5, T + 6];
        await store.insertDeadLetters(times.slice(0, 4).map((at, i) => letter(i, at)));
        await store.insertDeadLetters(times.slice(4).map((at, i) => letter(i + 4, at)));
        await store.insertDeadLetters([]);
        const all = await store.listDeadLetters();
        assert.deepStrictEqual(all.map((d) => d.detail), [6, 5, 4, 3, 2, 1, 0].map((i) => `letter ${i}`));
        assert.deepStrictEqual(all[6], letter(0, T));
        assert.deepStrictEqual(all[0], letter(6, T + 6));
        assert.deepStrictEqual((await store.listDeadLetters({ limit: 2 })).map((d) => d.detail), ['letter 6', 'letter 5']);
        assert.deepStrictEqual(await store.listDeadLetters({ limit: 0 }), []);

        assert.equal(await store.trimDeadLetters(4), 3);
        assert.deepStrictEqual((await store.listDeadLetters()).map((d) => d.detail), ['letter 6', 'letter 5', 'letter 4', 'letter 3']);
        assert.equal(await store.trimDeadLetters(4), 0, 'nothing beyond the newest 4 is left');
        assert.equal(await store.trimDeadLetters(0), 4);
        assert.deepStrictEqual(await store.listDeadLetters(), []);
        await rejectsWithStoreError(() => store.trimDeadLetters(-1), 'trimDeadLetters(-1)');

        // Per source and reason: a flood of one is trimmed without touching the letters of another,
        // even one with the same reason from another source.
        const flood = Array.from({ length: 6 }, (_, i): DeadLetterDoc => ({ ...letter(1, T + 10 + i), source: 'trends', reason: 'out-of-range', detail: `flood ${i}` }));
        const decodeLetter: DeadLetterDoc = { ...letter(3, T + 8), source: 'decode', reason: 'out-of-range' };
        await store.insertDeadLetters([decodeLetter, letter(3, T + 9), ...flood]);
        assert.equal(await store.trimDeadLetters(2, { source: 'trends', reason: 'out-of-range' }), 4);
        assert.deepStrictEqual((await store.listDeadLetters()).map((d) => d.detail), ['flood 5', 'flood 4', 'letter 3', 'letter 3']);
        assert.equal(await store.trimDeadLetters(0, { source: 'trends', reason: 'no-such-reason' }), 0);
        assert.equal(await store.trimDeadLetters(0, { source: 'decode', reason: 'out-of-range' }), 1);
        assert.deepStrictEqual((await store.listDeadLetters()).map((d) => [d.source, d.reason]), [
          ['trends', 'out-of-range'],
          ['trends', 'out-of-range'],
          [letter(3, 0).source, letter(3, 0).reason],
        ]);
      }));

    it(`${name}: rejects with a StoreError, in bounded time, when the backing store is unreachable`, (t) =>
      withStore(async (_store, fixture) => {
        const openUnreachable = fixture.openUnreachable;
        if (!openUnreachable) {
          t.skip('the fixture has no unreachable store');
          return;
        }
        const deadline = options.unreachableDeadlineMs ?? 20_000;
        const outcome = await withDeadline(
          (async (): Promise<'open-rejected' | 'calls-rejected'> => {
            let unreachable: Store;
            try {
              unreachable = await openUnreachable();
            } catch (error) {
              assert.ok(error instanceof StoreError, `opening rejected with ${String(error)}, not a StoreError`);
              return 'open-rejected';
            }
            await rejectsWithStoreError(() => unreachable.insertMeasurements([measurement('1', T)]), 'insertMeasurements');
            await rejectsWithStoreError(() => unreachable.allocateEventId(), 'allocateEventId');
            await rejectsWithStoreError(() => unreachable.listBoxes(), 'listBoxes');
            return 'calls-rejected';
          })(),
          deadline,
          'unreachable store',
        );
        t.diagnostic(`unreachable store: ${outcome}`);
      }));

    it(`${name}: rejects every call after close, and closes twice without error`, () =>
      withStore(async (store) => {
        await store.insertEvent(eventDoc(1));
        await store.close();
        await store.close();
        const calls: Record<string, () => Promise<unknown>> = {
          insertMeasurements: () => store.insertMeasurements([measurement('1', T)]),
          insertTrends: () => store.insertTrends([{ box_id: '1', timestamp_ms: T, window_start_ms: T - 1, count: 0, location: 'x' }]),
          deleteExpiredMeasurements: () => store.deleteExpiredMeasurements(new Date(T)),
          allocateEventId: () => store.allocateEventId(),
          insertEvent: () => store.insertEvent(eventDoc(2)),
          recordBoxReply: () => store.recordBoxReply(reply(boxEvent(1, '1'), int16le([1]))),
          listBoxes: () => store.listBoxes(),
          getBox: () => store.getBox('1'),
          upsertBox: () => store.upsertBox({ box_id: '1' }),
          updateBoxStatus: () => store.updateBoxStatus({ box_id: '1', last_pong_ms: T }),
          listBoxStatus: () => store.listBoxStatus(),
          getEvent: () => store.getEvent(1),
          listEvents: () => store.listEvents(),
          listBoxEvents: () => store.listBoxEvents(1),
          getWaveform: () => store.getWaveform(waveformFilename(1, '1')),
          queryMeasurements: () => store.queryMeasurements({}),
          streamMeasurements: async () => {
            for await (const _ of store.streamMeasurements({})) break;
          },
          countMeasurements: () => store.countMeasurements(),
          queryTrends: () => store.queryTrends({}),
          insertDeadLetters: () => store.insertDeadLetters([{ source: 's', reason: 'truncated', detail: '', preview: '', at_ms: T }]),
          listDeadLetters: () => store.listDeadLetters(),
          insertShadowRequests: () => store.insertShadowRequests([]),
          listShadowRequests: () => store.listShadowRequests(),
          trimDeadLetters: () => store.trimDeadLetters(1),
        };
        for (const [method, call] of Object.entries(calls)) await rejectsWithStoreError(call, `${method} after close`);
      }));
  });
}

/** What a test body may open besides the fixture's first store; everything is closed by the suite. */
interface Tracked {
  openAnother(): Promise<Store>;
  openUnreachable?: () => Promise<Store>;
}
