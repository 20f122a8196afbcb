import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RunningStats, summarize } from '../../../src/operators/running-stats.js';

describe('RunningStats', () => {
  it('should report nothing before the first value', () => {
    assert.equal(new RunningStats().summary(), undefined);
    assert.equal(summarize([]), undefined);
  });

  it('should make a single value both the min and the max (the original else-if missed the max)', () => {
    assert.deepEqual(summarize([119.5]), { min: 119.5, max: 119.5, average: 119.5 });
  });

  it('should keep the first value as max when it is the largest of the window', () => {
    // The original `if v < min {…} else if v > max {…}` only set min for the first value, so
    // here it would have reported max 119.
    assert.deepEqual(summarize([121, 118, 119]), { min: 118, max: 121, average: 119.33333333333333 });
  });

  it('should average in double precision, not f32', () => {
    const values = Array.from({ length: 360 }, (_, i) => 120 + (i % 7) * 0.01);
    const stats = summarize(values)!;
    const exact = values.reduce((a, b) => a + b, 0) / values.length;
    assert.equal(stats.average, exact);
    // An f32 running sum of 360 × ~120 drifts visibly in the 5th decimal.
    let f32 = Math.fround(0);
    for (const v of values) f32 = Math.fround(f32 + Math.fround(v));
    assert.notEqual(Math.fround(f32 / values.length), stats.average);
  });

  it('should skip non-finite values and count them', () => {
    const stats = new RunningStats();
    assert.equal(stats.add(Number.NaN), false);
    assert.equal(stats.add(Infinity), false);
    assert.equal(stats.add(60), true);
    assert.equal(stats.skipped, 2);
    assert.equal(stats.count, 1);
    assert.deepEqual(stats.summary(), { min: 60, max: 60, average: 60 });
  });

  it('should keep the average inside [min, max] despite rounding', () => {
    assert.deepEqual(summarize([0.1, 0.1, 0.1]), { min: 0.1, max: 0.1, average: 0.1 });
  });

  it('should match a naive min/max/mean for any finite values', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { minLength: 1 }), (values) => {
        const stats = summarize(values)!;
        assert.equal(stats.min, Math.min(...values));
        assert.equal(stats.max, Math.max(...values));
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        assert.ok(Math.abs(stats.average - mean) <= 1e-9 * Math.max(1, Math.abs(mean)));
        assert.ok(stats.min <= stats.average && stats.average <= stats.max);
      }),
    );
  });
});
