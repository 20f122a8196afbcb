import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RingBuffer } from '../../../src/simulator/ring-buffer.js';

function filled(capacity: number, keys: readonly number[]): RingBuffer {
  const ring = new RingBuffer(capacity, 2);
  keys.forEach((key, i) => ring.push(key, i));
  return ring;
}

function entries(ring: RingBuffer): [number, number][] {
  return Array.from({ length: ring.size }, (_, i) => [ring.keyAt(i), ring.valueAt(i)]);
}

describe('RingBuffer', () => {
  it('should keep the newest `capacity` entries, oldest first', () => {
    const ring = filled(4, [10, 20, 30]);
    assert.deepEqual(entries(ring), [[10, 0], [20, 1], [30, 2]]);
    ring.push(40, 3);
    ring.push(50, 4);
    ring.push(60, 5);
    assert.equal(ring.size, 4);
    assert.deepEqual(entries(ring), [[30, 2], [40, 3], [50, 4], [60, 5]]);
    assert.equal(ring.newestKey, 60);
  });

  it('should grow its storage only up to capacity × 12 bytes', () => {
    const ring = new RingBuffer(3600);
    assert.ok(ring.bytes < 3600 * 12);
    for (let i = 0; i < 10_000; i++) ring.push(i * 166, i);
    assert.equal(ring.size, 3600);
    assert.equal(ring.bytes, 3600 * 12);
    assert.equal(ring.keyAt(0), (10_000 - 3600) * 166);
  });

  it('should refuse a key smaller than the newest one', () => {
    const ring = filled(3, [5, 6]);
    assert.throws(() => ring.push(4, 0), RangeError);
    ring.push(6, 9); // equal keys are allowed
    assert.equal(ring.size, 3);
  });

  it('should select from the first key ≥ from up to, excluding, the first key ≥ to', () => {
    const ring = filled(10, [0, 166, 333, 500, 666, 833]);
    assert.deepEqual(ring.range(166, 500), { start: 1, end: 3 });
    assert.deepEqual(ring.range(100, 501), { start: 1, end: 4 });
    // to beyond the newest: everything from `from` on (the original's undefined behaviour).
    assert.deepEqual(ring.range(600, 99_999), { start: 4, end: 6 });
    // from before the oldest.
    assert.deepEqual(ring.range(-5, 1), { start: 0, end: 1 });
    // Nothing: from beyond the newest, to ≤ from, and garbled numbers.
    assert.deepEqual(ring.range(900, 1_000), { start: 6, end: 6 });
    assert.deepEqual(ring.range(500, 500), { start: 3, end: 3 });
    assert.deepEqual(ring.range(500, 100), { start: 3, end: 3 });
    const nan = ring.range(Number.NaN, 500);
    assert.equal(nan.end - nan.start, 0);
    const nanTo = ring.range(0, Number.NaN);
    assert.equal(nanTo.end - nanTo.start, 0);
  });

  it('should select what a linear scan selects, after any number of wraps', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 60 }),
        fc.integer({ min: -10, max: 1_500 }),
        fc.integer({ min: -10, max: 1_500 }),
        (capacity, steps, from, to) => {
          let key = 0;
          const keys = steps.map((step) => (key += step));
          const ring = filled(capacity, keys);
          const held = keys.slice(-capacity);
          const start = held.findIndex((k) => k >= from);
          const first = start < 0 ? held.length : start;
          const stop = held.findIndex((k) => k >= to);
          const last = to >= from ? Math.max(first, stop < 0 ? held.length : stop) : first;
          assert.deepEqual(ring.range(from, to), { start: first, end: last });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('should refuse a capacity below 1 and reads outside the entries', () => {
    assert.throws(() => new RingBuffer(0), RangeError);
    assert.throws(() => filled(3, [1]).keyAt(1), RangeError);
  });
});
