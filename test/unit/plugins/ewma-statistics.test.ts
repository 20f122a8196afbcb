import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EwmaStatistics } from '../../../src/plugins/builtin/ewma-statistics.js';

/**
 * The weighted mean and variance computed directly: the first value weighs (1 − α)^(n−1), the
 * i-th later one α(1 − α)^(n−1−i). The incremental rule must give the same numbers.
 */
function direct(values: readonly number[], alpha: number): { mean: number; sigma: number } {
  const n = values.length;
  const weights = values.map((_, i) => (i === 0 ? (1 - alpha) ** (n - 1) : alpha * (1 - alpha) ** (n - 1 - i)));
  const mean = values.reduce((sum, v, i) => sum + (weights[i] ?? 0) * v, 0);
  const variance = values.reduce((sum, v, i) => sum + (weights[i] ?? 0) * (v - mean) ** 2, 0);
  return { mean, sigma: Math.sqrt(variance) };
}

describe('EwmaStatistics', () => {
  it('should start at the first value with no spread', () => {
    const stats = new EwmaStatistics(0.1);
    assert.deepEqual([stats.count, stats.mean, stats.sigma], [0, 0, 0]);
    stats.add(120);
    assert.deepEqual([stats.count, stats.mean, stats.sigma], [1, 120, 0]);
  });

  it('should match the directly weighted mean and σ', () => {
    const values = [120, 120.3, 119.8, 121.2, 119.5, 120.1, 120, 118.9, 120.4, 120.2];
    for (const alpha of [0.05, 0.3, 1]) {
      const stats = new EwmaStatistics(alpha);
      for (const v of values) stats.add(v);
      const expected = direct(values, alpha);
      assert.ok(Math.abs(stats.mean - expected.mean) < 1e-9, `alpha ${alpha}: mean ${stats.mean} vs ${expected.mean}`);
      assert.ok(Math.abs(stats.sigma - expected.sigma) < 1e-9, `alpha ${alpha}: sigma ${stats.sigma} vs ${expected.sigma}`);
    }
  });

  it('should keep a tiny σ exact at a large mean', () => {
    // ±0.01 around 1e6: E[x²] − E[x]² would lose this to rounding.
    const stats = new EwmaStatistics(0.05);
    for (let i = 0; i < 2000; i += 1) stats.add(1e6 + (i % 2 === 0 ? -0.01 : 0.01));
    assert.ok(Math.abs(stats.sigma - 0.01) < 0.001, String(stats.sigma));
  });
});
