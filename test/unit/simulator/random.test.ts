import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { NoiseStream, SeededRandom, hash32, normalAt, uniformAt } from '../../../src/simulator/random.js';

describe('SeededRandom', () => {
  it('should replay the same sequence for the same seed and another for another seed', () => {
    const draw = (seed: number) => {
      const random = new SeededRandom(seed);
      return Array.from({ length: 20 }, () => random.next());
    };
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
  });

  it('should give uniform numbers in [0, 1) and integers below the bound', () => {
    const random = new SeededRandom(7);
    let sum = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const x = random.next();
      assert.ok(x >= 0 && x < 1, `${x} outside [0, 1)`);
      sum += x;
      const k = random.int(6);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 6);
    }
    assert.ok(Math.abs(sum / n - 0.5) < 0.01, `mean ${sum / n}`);
  });

  it('should give normal numbers with the requested mean and standard deviation', () => {
    const random = new SeededRandom(3);
    const n = 20_000;
    const xs = Array.from({ length: n }, () => random.normal(10, 2));
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    assert.ok(Math.abs(mean - 10) < 0.05, `mean ${mean}`);
    assert.ok(Math.abs(sd - 2) < 0.05, `sd ${sd}`);
  });
});

describe('keyed noise', () => {
  it('should be a pure function of seed and keys', () => {
    assert.equal(hash32(1, 2, 3), hash32(1, 2, 3));
    assert.equal(normalAt(9, 1, 1_700_000_000_000), normalAt(9, 1, 1_700_000_000_000));
    assert.notEqual(hash32(1, 2, 3), hash32(2, 2, 3));
    assert.notEqual(hash32(1, 2, 3), hash32(1, 3, 3));
    assert.notEqual(hash32(1, 2, 3), hash32(1, 2, 4));
  });

  it('should tell apart keys that differ only above 32 bits (epoch ms)', () => {
    const t = 1_700_000_000_000;
    assert.notEqual(hash32(1, 0, t), hash32(1, 0, t + 2 ** 32));
  });

  it('should give the same numbers through NoiseStream as through normalAt and uniformAt', () => {
    const stream = new NoiseStream(5, 2);
    for (const key of [0, 1, 166, 1_700_000_000_333]) {
      assert.equal(stream.normal(key), normalAt(5, 2, key));
      assert.equal(stream.uniform(key), uniformAt(5, 2, key));
    }
  });

  it('should give keyed normals with mean 0 and sd 1 over consecutive keys', () => {
    const n = 20_000;
    const xs = Array.from({ length: n }, (_, i) => normalAt(11, 1, 1_000_000 + i));
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(sd - 1) < 0.03, `sd ${sd}`);
  });
});

describe('simulator sources', () => {
  it('should never use Math.random (every number comes from a seed)', async () => {
    const dir = new URL('../../../src/simulator/', import.meta.url);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length > 0);
    for (const file of files) {
      const text = await readFile(new URL(file, dir), 'utf8');
      assert.ok(!/(Math\.random|Date\.now|setTimeout|setInterval|performance\.now)\s*\(/.test(text), `${file} uses an unseeded or wall-clock source`);
    }
  });
});
