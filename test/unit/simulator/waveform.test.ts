import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_CALIBRATION, SAMPLES_PER_CYCLE } from '../../../src/protocol/box-adc.js';
import { cycleRms } from '../../../src/protocol/cycle-rms.js';
import { SeededRandom } from '../../../src/simulator/random.js';
import {
  advancePhase,
  harmonicThd,
  synthesizeCycle,
  zeroCrossingFrequency,
  type CycleSignal,
} from '../../../src/simulator/waveform.js';

const calibration = DEFAULT_CALIBRATION;
const options = { calibration, harmonicPhases: [0.7, 2.1] as const };

/** `cycles` consecutive cycles of one signal, concatenated. */
function cycles(signal: CycleSignal, count: number, phase = 0, extra = {}): { samples: Int32Array; blocks: Int32Array[]; phase: number } {
  const blocks: Int32Array[] = [];
  for (let i = 0; i < count; i++) {
    const block = new Int32Array(SAMPLES_PER_CYCLE);
    phase = synthesizeCycle(signal, phase, block, { ...options, ...extra });
    blocks.push(block);
  }
  const samples = new Int32Array(count * SAMPLES_PER_CYCLE);
  blocks.forEach((block, i) => samples.set(block, i * SAMPLES_PER_CYCLE));
  return { samples, blocks, phase };
}

describe('synthesizeCycle', () => {
  it('should give a cycle whose RMS is the requested RMS, harmonics included', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 10, max: 150, noNaN: true }),
        fc.double({ min: 0, max: 0.15, noNaN: true }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        (rms, thd, phase) => {
          const out = new Int32Array(SAMPLES_PER_CYCLE);
          synthesizeCycle({ rms, frequency: 60, thd }, phase, out, options);
          assert.ok(Math.abs(cycleRms(out, calibration) - rms) < 0.01, `rms ${rms} thd ${thd}`);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('should scale samples by the calibration: peak = rms·√2 counts per volt', () => {
    const out = new Int32Array(SAMPLES_PER_CYCLE);
    synthesizeCycle({ rms: 120, frequency: 60, thd: 0 }, 0, out, options);
    const peak = Math.max(...out);
    assert.ok(Math.abs(peak - 120 * Math.SQRT2 * calibration) <= 2, `peak ${peak}`);
    assert.ok(Math.abs(Math.min(...out) + peak) <= 2);
  });

  it('should really lower the amplitude during a sag', () => {
    const normal = cycles({ rms: 120, frequency: 60, thd: 0.025 }, 1).samples;
    const sag = cycles({ rms: 96, frequency: 60, thd: 0.025 }, 1).samples;
    const ratio = Math.max(...sag) / Math.max(...normal);
    assert.ok(Math.abs(ratio - 0.8) < 0.002, `peak ratio ${ratio}`);
  });

  it('should clamp to int16', () => {
    const out = new Int32Array(SAMPLES_PER_CYCLE);
    synthesizeCycle({ rms: 400, frequency: 60, thd: 0 }, 0, out, options);
    assert.equal(Math.max(...out), 32_767);
    assert.equal(Math.min(...out), -32_768);
  });

  it('should carry the phase across cycles without a seam', () => {
    const signal = { rms: 120, frequency: 59.7, thd: 0.03 };
    const joined = cycles(signal, 10, 1.3);
    const whole = new Int32Array(10 * SAMPLES_PER_CYCLE);
    const end = synthesizeCycle(signal, 1.3, whole, options);
    for (let n = 0; n < whole.length; n++) assert.ok(Math.abs(whole[n]! - joined.samples[n]!) <= 1, `sample ${n}`);
    assert.ok(Math.abs(end - joined.phase) < 1e-9);
    let phase = 1.3;
    for (let i = 0; i < 10; i++) phase = advancePhase(phase, signal.frequency);
    assert.ok(Math.abs(phase - joined.phase) < 1e-9);
  });

  it('should put the THD ratio into the harmonics, as a DFT measures it', () => {
    for (const thd of [0.02, 0.05, 0.08]) {
      const { samples } = cycles({ rms: 120, frequency: 60, thd }, 10);
      assert.ok(Math.abs(harmonicThd(samples, 60) - thd) < 0.0005, `thd ${thd}`);
    }
  });

  it('should oscillate at the requested frequency (zero crossings)', () => {
    for (const frequency of [59.5, 60, 60.3]) {
      const { samples } = cycles({ rms: 120, frequency, thd: 0.03 }, 10, 0.4);
      assert.ok(Math.abs(zeroCrossingFrequency(samples) - frequency) < 0.01, `frequency ${frequency}`);
    }
  });

  it('should add seeded sample noise: same seed, same samples', () => {
    const signal = { rms: 120, frequency: 60, thd: 0.02 };
    const a = cycles(signal, 2, 0, { noiseCounts: 3, random: new SeededRandom(5) }).samples;
    const b = cycles(signal, 2, 0, { noiseCounts: 3, random: new SeededRandom(5) }).samples;
    const c = cycles(signal, 2, 0, { noiseCounts: 3, random: new SeededRandom(6) }).samples;
    const clean = cycles(signal, 2).samples;
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.notDeepEqual(a, clean);
    assert.ok(Math.abs(cycleRms(a, calibration) - 120) < 0.01);
  });
});

describe('measurements', () => {
  it('should give 0 RMS for no samples and NaN frequency without two rising crossings', () => {
    assert.equal(cycleRms([], calibration), 0);
    assert.ok(Number.isNaN(zeroCrossingFrequency([1, 2, 3])));
    assert.equal(harmonicThd(new Int32Array(2000), 60), 0);
  });

  it('should compute RMS in volts from counts', () => {
    assert.equal(cycleRms([3, -3, 3, -3], 1.5), 2);
  });
});
