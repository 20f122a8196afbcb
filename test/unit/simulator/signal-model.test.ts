import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import type { Scenario } from '../../../src/simulator/scenario.js';
import { SignalModel } from '../../../src/simulator/signal-model.js';

const START = 1_700_000_000_000;
const scenario: Scenario = {
  name: 'test',
  disturbances: [
    { kind: 'voltage-sag', atMs: 5_000, durationMs: 1_000, boxes: [1, 2], voltagePercent: 80 },
    { kind: 'voltage-swell', atMs: 8_000, durationMs: 500, boxes: 'all', voltagePercent: 110 },
    { kind: 'frequency', atMs: 10_000, durationMs: 2_000, boxes: 'all', hz: 59.5 },
    { kind: 'thd', atMs: 14_000, durationMs: 1_000, boxes: [1], ratio: 0.08 },
    { kind: 'silence', atMs: 16_000, durationMs: 1_000, boxes: [2] },
  ],
};
const model = (boxId: number, seed = 1) => new SignalModel({ boxId, seed, startMs: START, scenario });
/** Window start times 166 ms apart over `seconds`, from `fromMs` after START. */
const windows = (fromMs: number, seconds: number) => Array.from({ length: seconds * 6 }, (_, w) => START + fromMs + Math.floor((w * 1000) / 6));

function stats(xs: readonly number[]): { mean: number; sd: number; min: number; max: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs) };
}

describe('SignalModel', () => {
  it('should give 120 V ± 0.2 V, 60 Hz ± a few mHz and a THD of 2–3 % on a quiet grid', () => {
    const box = model(3);
    const states = windows(100_000, 600).map((t) => box.at(t));
    const rms = stats(states.map((s) => s.rms));
    const hz = stats(states.map((s) => s.frequency));
    const thd = stats(states.map((s) => s.thd));
    assert.ok(Math.abs(rms.mean - 120) < 0.02, `rms mean ${rms.mean}`);
    assert.ok(Math.abs(rms.sd - 0.2) < 0.02, `rms sd ${rms.sd}`);
    assert.ok(Math.abs(hz.mean - 60) < 0.005, `frequency mean ${hz.mean}`);
    assert.ok(hz.sd > 0.0005 && hz.sd < 0.006, `frequency sd ${hz.sd}`);
    assert.ok(hz.min > 59.98 && hz.max < 60.02, `frequency range ${hz.min}..${hz.max}`);
    assert.ok(thd.min >= 0.015 && thd.max <= 0.035, `thd range ${thd.min}..${thd.max}`);
    assert.ok(states.every((s) => !s.silent));
  });

  it('should apply each disturbance only to its boxes and only while it lasts', () => {
    const one = model(1);
    const three = model(3);
    // Sag on boxes 1 and 2 from 5 s to 6 s.
    assert.ok(Math.abs(one.at(START + 5_000).rms - 96) < 1);
    assert.ok(Math.abs(one.at(START + 5_999).rms - 96) < 1);
    assert.ok(Math.abs(one.at(START + 4_999).rms - 120) < 1);
    assert.ok(Math.abs(one.at(START + 6_000).rms - 120) < 1);
    assert.ok(Math.abs(three.at(START + 5_500).rms - 120) < 1);
    // Swell on all boxes.
    assert.ok(Math.abs(three.at(START + 8_200).rms - 132) < 1);
    // Frequency excursion keeps the wander on top of the new centre.
    assert.ok(Math.abs(three.at(START + 11_000).frequency - 59.5) < 0.02);
    assert.ok(Math.abs(three.at(START + 12_000).frequency - 60) < 0.02);
    // THD rise on box 1 only.
    assert.equal(one.at(START + 14_500).thd, 0.08);
    assert.ok(three.at(START + 14_500).thd < 0.035);
    // Silence on box 2 only.
    assert.equal(model(2).at(START + 16_500).silent, true);
    assert.equal(one.at(START + 16_500).silent, false);
  });

  it('should take disturbances per moment within a window, and the noise from the window start', () => {
    const one = model(1);
    const t0 = START + 4_950;
    const before = one.at(t0 + 40, t0);
    const during = one.at(t0 + 60, t0);
    assert.equal(before.rms, one.base(t0).rms);
    assert.ok(Math.abs(during.rms - before.rms * 0.8) < 1e-9);
    assert.equal(one.disturbedWithin(t0, t0 + 166), true);
    assert.equal(one.disturbedWithin(START, START + 4_000), false);
  });

  it('should be pure: the same state for the same time, in any order and from any instance', () => {
    const a = model(1);
    const times = windows(0, 30);
    const forward = times.map((t) => a.at(t));
    const backward = [...times].reverse().map((t) => model(1).at(t)).reverse();
    assert.deepEqual(forward, backward);
  });

  it('should give boxes their own voltage noise but one shared grid frequency', () => {
    const times = windows(200_000, 60);
    const one = model(1);
    const seven = model(7);
    const v1 = times.map((t) => one.at(t).rms);
    const v7 = times.map((t) => seven.at(t).rms);
    assert.notDeepEqual(v1, v7);
    const gap = stats(times.map((t) => one.at(t).frequency - seven.at(t).frequency));
    const spread = stats(times.map((t) => one.at(t).frequency));
    // The difference between two boxes is only their jitter, smaller than the grid's own wander.
    assert.ok(gap.sd < spread.sd, `box difference sd ${gap.sd} vs wander sd ${spread.sd}`);
  });

  it('should change with the seed', () => {
    const times = windows(0, 10);
    assert.notDeepEqual(
      times.map((t) => model(1, 1).at(t).rms),
      times.map((t) => model(1, 2).at(t).rms),
    );
  });

  it('should refuse impossible parameters with a ConfigError naming the option', () => {
    assert.throws(() => new SignalModel({ boxId: 1, seed: 1, startMs: 0, nominalVolts: 0 }), (e: unknown) => e instanceof ConfigError && e.path === 'nominalVolts');
    assert.throws(() => new SignalModel({ boxId: 1, seed: 1, startMs: 0, voltsNoise: -1 }), (e: unknown) => e instanceof ConfigError && e.path === 'voltsNoise');
    assert.throws(() => new SignalModel({ boxId: 1, seed: 1, startMs: 0, thdRange: [0.05, 0.01] }), (e: unknown) => e instanceof ConfigError && e.path === 'thdRange');
  });
});
