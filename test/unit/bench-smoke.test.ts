import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { makeFigure, percentile, selectScenarios, summarize, type BenchResults, type BenchScenario, type Figure } from '../../bench/harness.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';

// The benchmarks themselves run with `npm run bench`, never in the test suite; this only checks
// that the harness keeps working: its arithmetic, and a --smoke run of every scenario on tiny
// sizes reporting well-formed figures. No timing is asserted.

describe('bench harness', () => {
  it('should summarise runs as median (middle pair averaged), min and max', () => {
    assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, max: 3 });
    assert.deepEqual(summarize([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4 });
    assert.ok(Number.isNaN(summarize([]).median));
  });

  it('should take percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(percentile(values, 50), 50);
    assert.equal(percentile(values, 99), 99);
    assert.equal(percentile(values, 100), 100);
    assert.equal(percentile([7], 99), 7);
  });

  it('should report the median of per-run ratios to a paired baseline, and whether the target is met', () => {
    const figure = makeFigure('throughput', {
      metric: 'direct-messages-per-second',
      unit: 'msg/s',
      values: [30, 60, 20],
      baselineValues: [100, 100, 50],
      baseline: 'ceiling',
      target: '>= 0.6 of the ceiling',
      meets: (_median, ratio) => ratio !== undefined && ratio >= 0.6,
    });
    assert.equal(figure.median, 30);
    assert.equal(figure.ratio, 0.4, 'ratios 0.3, 0.6, 0.4: median 0.4 (not 30 / 100)');
    assert.equal(figure.met, false);
    assert.deepEqual(figure.values, [30, 60, 20]);
    assert.equal(makeFigure('s', { metric: 'm', unit: 'u', values: [50], baselineValues: 100 }).ratio, 0.5);
  });

  it('should select scenarios by name prefix and refuse a prefix that matches none', () => {
    const scenario = (name: string): BenchScenario => ({ name, description: '', run: async () => {} });
    const all = [scenario('ceiling'), scenario('throughput'), scenario('scale-boxes'), scenario('store-write-rate')];
    assert.deepEqual(selectScenarios(all, []).map((s) => s.name), ['ceiling', 'throughput', 'scale-boxes', 'store-write-rate']);
    assert.deepEqual(selectScenarios(all, ['s']).map((s) => s.name), ['scale-boxes', 'store-write-rate']);
    assert.deepEqual(selectScenarios(all, ['through', 'ceil']).map((s) => s.name), ['ceiling', 'throughput']);
    assert.throws(() => selectScenarios(all, ['latency']), /no scenario matches "latency"/);
  });
});

describe('npm run bench -- --smoke', () => {
  let dir: TempDir;
  before(async () => {
    dir = await createTempDir('makai-bench-smoke-');
  });
  after(async () => {
    await dir.remove();
  });

  it('should run every scenario and print one well-formed JSON line per figure, and write them to the results file', async () => {
    const out = dir.file('latest.json');
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/main.ts', '--smoke', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr.slice(-3000));

    const lines = stdout.trim().split('\n');
    const figures = lines.map((line) => JSON.parse(line) as Figure);
    for (const figure of figures) {
      assert.equal(typeof figure.scenario, 'string');
      assert.match(figure.metric, /^[a-z0-9-]+$/);
      assert.equal(typeof figure.unit, 'string');
      for (const key of ['median', 'min', 'max'] as const) assert.ok(figure[key] === null || typeof figure[key] === 'number', `${figure.metric}.${key}`);
      assert.equal(figure.runs, figure.values.length);
      if (figure.ratio !== undefined) assert.equal(typeof figure.baseline, 'string', `${figure.metric} has a ratio, so it names its baseline`);
    }
    const scenarios = new Set(figures.map((f) => f.scenario));
    assert.deepEqual([...scenarios].sort(), ['ceiling', 'cost', 'latency', 'plugins', 'replay', 'scale-boxes', 'store-write-rate', 'throughput']);
    const direct = figures.find((f) => f.scenario === 'throughput' && f.metric === 'direct-messages-per-second');
    assert.equal(direct?.baseline, 'throughput/ceiling-messages-per-second');

    const results = JSON.parse(await readFile(out, 'utf8')) as BenchResults;
    assert.deepEqual(results.figures, figures);
    assert.deepEqual(results.failures, []);
    assert.equal(results.options.smoke, true);
    assert.equal(typeof results.machine.cpu, 'string');
    assert.ok(results.machine.cores >= 1);
  });
});
