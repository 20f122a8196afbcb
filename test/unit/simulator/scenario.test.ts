import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { defaultScenario, parseCompactScenario, parseScenario, parseScenarioText, type Disturbance } from '../../../src/simulator/scenario.js';

/** Asserts a ConfigError with this file and path. */
function assertConfigError(fn: () => unknown, file: string | undefined, path: string | RegExp | undefined): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.file, file);
    if (path instanceof RegExp) assert.match(error.path ?? '', path);
    else assert.equal(error.path, path);
    return true;
  });
}

describe('parseScenario', () => {
  it('should read every kind with durations in ms, percentages and default boxes', () => {
    const scenario = parseScenario(
      {
        name: 'demo',
        disturbances: [
          { kind: 'voltage-sag', at: '5s', duration: '1.5s', boxes: [1, 2], voltagePercent: 80 },
          { kind: 'voltage-swell', at: 12_000, for: '500ms', depth: '12%' },
          { kind: 'voltage-sag', at: 'PT1M', duration: 100, depth: 30 },
          { kind: 'frequency', at: '18s', duration: '2s', hz: 59.5 },
          { kind: 'thd', at: '24s', duration: '1s', boxes: [1], ratio: '8%' },
          { kind: 'thd', at: '25s', duration: '1s', ratio: 0.05 },
          { kind: 'silence', at: '1m30s', duration: '10s', boxes: [3] },
        ],
      },
      'demo.json',
    );
    const expected: Disturbance[] = [
      { kind: 'voltage-sag', atMs: 5_000, durationMs: 1_500, boxes: [1, 2], voltagePercent: 80 },
      { kind: 'voltage-swell', atMs: 12_000, durationMs: 500, boxes: 'all', voltagePercent: 112 },
      { kind: 'voltage-sag', atMs: 60_000, durationMs: 100, boxes: 'all', voltagePercent: 70 },
      { kind: 'frequency', atMs: 18_000, durationMs: 2_000, boxes: 'all', hz: 59.5 },
      { kind: 'thd', atMs: 24_000, durationMs: 1_000, boxes: [1], ratio: 0.08 },
      { kind: 'thd', atMs: 25_000, durationMs: 1_000, boxes: 'all', ratio: 0.05 },
      { kind: 'silence', atMs: 90_000, durationMs: 10_000, boxes: [3] },
    ];
    assert.deepEqual(scenario, { name: 'demo', disturbances: expected });
  });

  it('should accept a bare array of disturbances', () => {
    const scenario = parseScenario([{ kind: 'silence', at: 0, duration: '1s' }]);
    assert.equal(scenario.disturbances.length, 1);
  });

  it('should refuse bad values with a ConfigError naming the file and the field', () => {
    const one = (d: Record<string, unknown>) => () => parseScenario({ disturbances: [{ at: '1s', duration: '1s', ...d }] }, 's.json');
    assertConfigError(one({ kind: 'voltage-sag', voltagePercent: 120 }), 's.json', 'disturbances[0].voltagePercent');
    assertConfigError(one({ kind: 'voltage-swell', voltagePercent: 90 }), 's.json', 'disturbances[0].voltagePercent');
    assertConfigError(one({ kind: 'voltage-sag', depth: '150%' }), 's.json', 'disturbances[0].depth');
    assertConfigError(one({ kind: 'voltage-sag' }), 's.json', 'disturbances[0].voltagePercent');
    assertConfigError(one({ kind: 'voltage-sag', voltagePercent: 80, depth: 20 }), 's.json', 'disturbances[0].depth');
    assertConfigError(one({ kind: 'frequency', hz: 6 }), 's.json', 'disturbances[0].hz');
    assertConfigError(one({ kind: 'thd', ratio: 1.5 }), 's.json', 'disturbances[0].ratio');
    assertConfigError(one({ kind: 'thd', ratio: 'lots' }), 's.json', 'disturbances[0].ratio');
    assertConfigError(one({ kind: 'blackout' }), 's.json', 'disturbances[0].kind');
    assertConfigError(one({ kind: 'silence', boxes: [] }), 's.json', 'disturbances[0].boxes');
    assertConfigError(one({ kind: 'silence', boxes: [1.5] }), 's.json', 'disturbances[0].boxes[0]');
    assertConfigError(one({ kind: 'silence', at: '5 sec' }), 's.json', 'disturbances[0].at');
    assertConfigError(one({ kind: 'silence', duration: 0 }), 's.json', 'disturbances[0].duration');
    assertConfigError(() => parseScenario({ disturbances: [{ kind: 'silence', at: '1s' }] }, 's.json'), 's.json', 'disturbances[0].duration');
    assertConfigError(one({ kind: 'voltage-sag', voltagepercent: 80 }), 's.json', 'disturbances[0].voltagepercent');
    assertConfigError(() => parseScenario({ disturbances: [], extra: 1 }, 's.json'), 's.json', /extra|\(root\)/);
  });
});

describe('parseScenarioText', () => {
  it('should parse JSON text and refuse text that is not JSON', () => {
    const scenario = parseScenarioText('{"disturbances":[{"kind":"frequency","at":"1s","duration":"1s","hz":59.9}]}', 'f.json');
    assert.equal(scenario.disturbances[0]?.kind, 'frequency');
    assertConfigError(() => parseScenarioText('{ nope', 'f.json'), 'f.json', undefined);
  });
});

describe('parseCompactScenario', () => {
  it('should read the compact form as the JSON form', () => {
    const scenario = parseCompactScenario(['sag@5s:boxes=1,2:depth=20%:for=1s', 'swell@12s:level=112%:for=500ms;freq@18s:hz=59.8:for=2s', 'thd@24s:box=1:ratio=7%:for=1s silence@40s:boxes=all:for=10s']);
    assert.deepEqual(scenario.disturbances, [
      { kind: 'voltage-sag', atMs: 5_000, durationMs: 1_000, boxes: [1, 2], voltagePercent: 80 },
      { kind: 'voltage-swell', atMs: 12_000, durationMs: 500, boxes: 'all', voltagePercent: 112 },
      { kind: 'frequency', atMs: 18_000, durationMs: 2_000, boxes: 'all', hz: 59.8 },
      { kind: 'thd', atMs: 24_000, durationMs: 1_000, boxes: [1], ratio: 0.07 },
      { kind: 'silence', atMs: 40_000, durationMs: 10_000, boxes: 'all' },
    ]);
  });

  it('should name the item and field of a bad compact disturbance', () => {
    assertConfigError(() => parseCompactScenario('sag5s', '--scenario'), '--scenario', 'disturbances[0]');
    assertConfigError(() => parseCompactScenario('sag@1s:for=1s bogus@1s', '--scenario'), '--scenario', 'disturbances[1].kind');
    assertConfigError(() => parseCompactScenario('sag@1s:depth=20%', '--scenario'), '--scenario', 'disturbances[0].duration');
    assertConfigError(() => parseCompactScenario('sag@1s:for=1s:colour=red', '--scenario'), '--scenario', 'disturbances[0].colour');
    assertConfigError(() => parseCompactScenario('sag@1s:for=1s:boxes=1,x', '--scenario'), '--scenario', 'disturbances[0].boxes');
    assertConfigError(() => parseCompactScenario('freq@1s:for=1s:hz=fast', '--scenario'), '--scenario', 'disturbances[0].hz');
  });
});

describe('defaultScenario', () => {
  it('should put a sag on two boxes and a swell within the first 30 s, on the given ids', () => {
    const { disturbances } = defaultScenario([7, 8, 9]);
    const sag = disturbances.find((d) => d.kind === 'voltage-sag');
    const swell = disturbances.find((d) => d.kind === 'voltage-swell');
    assert.ok(sag && sag.kind === 'voltage-sag');
    assert.deepEqual(sag.boxes, [7, 8]);
    assert.ok(sag.voltagePercent < 90 && sag.atMs + sag.durationMs <= 30_000);
    assert.ok(swell && swell.kind === 'voltage-swell');
    assert.ok(swell.voltagePercent > 110 && swell.atMs + swell.durationMs <= 30_000);
  });

  it('should still be valid JSON-scenario input when written out', () => {
    const written = defaultScenario().disturbances.map(({ atMs, durationMs, ...rest }) => ({ ...rest, at: atMs, duration: durationMs }));
    assert.deepEqual(parseScenario({ name: 'default', disturbances: written }), defaultScenario());
  });
});
