import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { expiryHorizon, OverlappingIntervals } from '../../../src/operators/overlapping-intervals.js';
import type { Interval } from '../../../src/operators/overlapping-intervals.js';

/** A cache written as in the spec's table: `{1000: 2000, 2600: 3000}`. */
type Table = Record<number, number>;

function cacheOf(table: Table): OverlappingIntervals {
  return new OverlappingIntervals({}, Object.entries(table).map(([start, end]) => ({ start: Number(start), end })));
}

function tableOf(cache: OverlappingIntervals): Table {
  return Object.fromEntries(cache.toArray().map(({ start, end }) => [start, end]));
}

function check(before: Table, request: [number, number], fresh: boolean, after: Table): void {
  const cache = cacheOf(before);
  assert.equal(cache.insertAndCheck(...request), fresh);
  assert.deepEqual(tableOf(cache), after);
}

// Every row of the worked table in spec §5.6, in its order.
describe('OverlappingIntervals: spec §5.6 worked table', () => {
  it('row 1: {} + [1000,2000] ⇒ true, {1000:2000}', () => {
    check({}, [1000, 2000], true, { 1000: 2000 });
  });

  it('row 2: {1000:2000} + [1200,1800] ⇒ false, unchanged (covered)', () => {
    check({ 1000: 2000 }, [1200, 1800], false, { 1000: 2000 });
  });

  it('row 3: {1000:2000} + [1000,2000] ⇒ false, unchanged (equal)', () => {
    check({ 1000: 2000 }, [1000, 2000], false, { 1000: 2000 });
  });

  it('row 4: {1000:2000} + [1500,2500] ⇒ true, {1000:2500}', () => {
    // Same as the original. The operator still requests the whole [1500,2500] rather than
    // only (2000,2500]: one contiguous waveform per event (see dedupeRequests).
    check({ 1000: 2000 }, [1500, 2500], true, { 1000: 2500 });
  });

  it('row 5: {1000:2500} + [500,1200] ⇒ true, {500:2500}', () => {
    check({ 1000: 2500 }, [500, 1200], true, { 500: 2500 });
  });

  it('row 6: {1000:2000} + [2000,3000] (touching) ⇒ true, {1000:3000}', () => {
    check({ 1000: 2000 }, [2000, 3000], true, { 1000: 3000 });
  });

  it('row 7: {1000:2000} + [1000,3000] ⇒ true, {1000:3000}', () => {
    // Same result; the original got it by overwriting the same-start key, we by merging.
    check({ 1000: 2000 }, [1000, 3000], true, { 1000: 3000 });
  });

  it('row 8: {1000:2000} + [500,2000] ⇒ true, {500:2000} (no nested duplicate)', () => {
    // Original: true, cache {500:2000, 1000:2000}. No rule matched (equal end), so the nested
    // [1000,2000] was kept beside [500,2000] (§9 item 6). It wastes memory and made later
    // answers depend on which duplicate a rule hit first; merging keeps one interval.
    check({ 1000: 2000 }, [500, 2000], true, { 500: 2000 });
  });

  it('row 9: {1000:2000} + [2600,3000] ⇒ true, {1000:2000, 2600:3000}', () => {
    check({ 1000: 2000 }, [2600, 3000], true, { 1000: 2000, 2600: 3000 });
  });

  it('row 10: {500:2000,1000:2000} + [1900,2500] ⇒ true, {500:2500}', () => {
    // The row's "cache before" is the original's nested-duplicate state from row 8. Our cache
    // cannot hold it: the same inserts ([1000,2000] then [500,2000]) leave {500:2000}. From
    // there the result and the cache after are the same as the original's.
    const cache = cacheOf({ 500: 2000, 1000: 2000 });
    assert.deepEqual(tableOf(cache), { 500: 2000 });
    const replayed = new OverlappingIntervals();
    replayed.insertAndCheck(1000, 2000);
    replayed.insertAndCheck(500, 2000);
    assert.deepEqual(tableOf(replayed), { 500: 2000 });
    check({ 500: 2000, 1000: 2000 }, [1900, 2500], true, { 500: 2500 });
  });
});

describe('OverlappingIntervals', () => {
  it('should merge a request bridging two cached intervals into one', () => {
    check({ 1000: 2000, 3000: 4000 }, [1500, 3500], true, { 1000: 4000 });
  });

  it('should not treat adjacent but not touching milliseconds as covered', () => {
    check({ 1000: 2000 }, [2001, 2500], true, { 1000: 2000, 2001: 2500 });
  });

  it('should answer covers() without changing anything', () => {
    const cache = cacheOf({ 1000: 2000 });
    assert.equal(cache.covers(1000, 2000), true);
    assert.equal(cache.covers(999, 2000), false);
    assert.equal(cache.covers(1500, 2001), false);
    assert.equal(cache.size, 1);
  });

  it('should forget intervals that ended before the horizon, keeping long recent ones', () => {
    const cache = cacheOf({ 0: 100, 200: 5000, 6000: 7000 });
    assert.equal(cache.clearTo(300), 1);
    // The original cleared by start, which would also have dropped [200,5000] here.
    assert.deepEqual(tableOf(cache), { 200: 5000, 6000: 7000 });
    assert.equal(cache.clearTo(5000), 0); // ends exactly at the horizon: kept
    assert.equal(cache.clearTo(5001), 1);
    assert.deepEqual(tableOf(cache), { 6000: 7000 });
  });

  it('should bound the number of intervals by forgetting the oldest', () => {
    const cache = new OverlappingIntervals({ maxIntervals: 2 });
    cache.insertAndCheck(0, 1);
    cache.insertAndCheck(10, 11);
    cache.insertAndCheck(20, 21);
    assert.deepEqual(tableOf(cache), { 10: 11, 20: 21 });
  });

  it('should refuse an invalid interval', () => {
    const cache = new OverlappingIntervals();
    assert.throws(() => cache.insertAndCheck(2000, 1000), RangeError);
    assert.throws(() => cache.insertAndCheck(Number.NaN, 1000), RangeError);
    assert.equal(cache.size, 0);
  });

  it('should agree with a naive union of every interval ever inserted', () => {
    // Reference: keep every interval; "covered" ⇔ inside one connected component of their union.
    const components = (all: readonly Interval[]): Interval[] => {
      const sorted = [...all].sort((a, b) => a.start - b.start);
      const out: Array<{ start: number; end: number }> = [];
      for (const { start, end } of sorted) {
        const last = out[out.length - 1];
        if (last && start <= last.end) last.end = Math.max(last.end, end);
        else out.push({ start, end });
      }
      return out;
    };
    const interval = fc
      .tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 40 }))
      .map(([start, length]) => ({ start, end: start + length }));
    fc.assert(
      fc.property(fc.array(interval, { maxLength: 30 }), (requests) => {
        const cache = new OverlappingIntervals();
        const history: Interval[] = [];
        for (const { start, end } of requests) {
          const expectedCovered = components(history).some((c) => c.start <= start && c.end >= end);
          assert.equal(cache.insertAndCheck(start, end), !expectedCovered);
          history.push({ start, end });
          assert.deepEqual(cache.toArray(), components(history));
        }
      }),
    );
  });
});

describe('expiryHorizon', () => {
  it('should subtract the expiration window', () => {
    assert.equal(expiryHorizon(1_546_300_800_000, 1_800_000), 1_546_299_000_000);
  });

  it('should floor at 0 instead of underflowing when the start is below the window', () => {
    // Original: u64 `start − 1_800_000` panicked (debug) or wrapped to ~1.8e19 (release) and
    // cleared the whole cache, so every following request looked fresh.
    assert.equal(expiryHorizon(1000, 1_800_000), 0);
    assert.equal(expiryHorizon(1_800_000, 1_800_000), 0);
    const cache = cacheOf({ 500: 900 });
    cache.clearTo(expiryHorizon(1000, 1_800_000));
    assert.deepEqual(tableOf(cache), { 500: 900 });
  });
});
