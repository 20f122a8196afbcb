import { SAMPLE_MAX, SAMPLE_MIN, SAMPLE_RATE_HZ, SAMPLES_PER_CYCLE } from '../protocol/box-adc.js';
import type { SeededRandom } from './random.js';

/**
 * Raw box cycles: synthesis from a signal state, and the measurements a box takes of them.
 *
 * A "cycle" is a fixed block of `SAMPLES_PER_CYCLE` samples at `SAMPLE_RATE_HZ` (16.67 ms),
 * not aligned to zero crossings (spec §8; both facts live in `src/protocol/box-adc.ts`).
 * Samples are ADC counts: volts × calibration, clamped to int16.
 */

const TWO_PI = 2 * Math.PI;
/** The THD ratio is split over the 3rd and 5th harmonic so that √(h3² + h5²) = thd. */
const H3_SHARE = 0.8;
const H5_SHARE = 0.6;

/** What one cycle should contain. */
export interface CycleSignal {
  /** True RMS volts (fundamental and harmonics together). */
  readonly rms: number;
  /** Fundamental frequency, Hz. */
  readonly frequency: number;
  /** Total harmonic distortion ratio. */
  readonly thd: number;
}

export interface SynthesisOptions {
  /** Counts per volt. */
  readonly calibration: number;
  /** Phases (radians) of the 3rd and 5th harmonic relative to the fundamental. */
  readonly harmonicPhases?: readonly [number, number];
  /** Standard deviation of additive sample noise, counts (0 = none). */
  readonly noiseCounts?: number;
  /** The source of the sample noise; required when `noiseCounts` > 0. */
  readonly random?: SeededRandom;
}

/** The fundamental's phase advance over `samples` samples at `frequency`, radians. */
export function phaseStep(frequency: number, samples = SAMPLES_PER_CYCLE): number {
  return (TWO_PI * frequency * samples) / SAMPLE_RATE_HZ;
}

/** `phase` moved on by one cycle at `frequency`, wrapped into [0, 2π). */
export function advancePhase(phase: number, frequency: number, samples = SAMPLES_PER_CYCLE): number {
  const next = (phase + phaseStep(frequency, samples)) % TWO_PI;
  return next < 0 ? next + TWO_PI : next;
}

/**
 * Writes one cycle of samples into `out`: a sine at `signal.frequency` starting at `phase`,
 * with a 3rd and 5th harmonic carrying the THD, peak = fundamental RMS·√2, in counts.
 * Continuing with the returned phase gives a waveform without a seam between cycles.
 *
 * @param out Receives `out.length` samples (normally 200), rounded and clamped to int16.
 * @returns The phase of the sample after the last one, wrapped into [0, 2π).
 */
export function synthesizeCycle(signal: CycleSignal, phase: number, out: Int32Array, options: SynthesisOptions): number {
  const { calibration, harmonicPhases = [0, 0], noiseCounts = 0, random } = options;
  // rms² = fundamental² · (1 + thd²): the fundamental is what remains after the harmonics.
  const peak = ((Math.SQRT2 * signal.rms) / Math.sqrt(1 + signal.thd * signal.thd)) * calibration;
  const a3 = H3_SHARE * signal.thd;
  const a5 = H5_SHARE * signal.thd;
  const [p3, p5] = harmonicPhases;
  const step = (TWO_PI * signal.frequency) / SAMPLE_RATE_HZ;
  const noisy = noiseCounts > 0 && random !== undefined;
  for (let n = 0; n < out.length; n++) {
    const theta = phase + step * n;
    let value = peak * (Math.sin(theta) + a3 * Math.sin(3 * theta + p3) + a5 * Math.sin(5 * theta + p5));
    if (noisy) value += random.normal(0, noiseCounts);
    const count = Math.round(value);
    out[n] = count < SAMPLE_MIN ? SAMPLE_MIN : count > SAMPLE_MAX ? SAMPLE_MAX : count;
  }
  // The same arithmetic as advancePhase, so a box that skips synthesis keeps the same phase.
  return advancePhase(phase, signal.frequency, out.length);
}

/**
 * Total harmonic distortion ratio of raw samples by a direct DFT at the harmonics of
 * `fundamentalHz`: √(Σ_{k=2..maxHarmonic} |X_k|²) ÷ |X_1|. Exact when the block holds a whole
 * number of fundamental periods (a 10-cycle window at 60 Hz holds exactly 10).
 */
export function harmonicThd(samples: ArrayLike<number>, fundamentalHz: number, maxHarmonic = 25, sampleRateHz = SAMPLE_RATE_HZ): number {
  const power = (k: number): number => {
    const w = (TWO_PI * k * fundamentalHz) / sampleRateHz;
    let re = 0;
    let im = 0;
    for (let n = 0; n < samples.length; n++) {
      re += samples[n]! * Math.cos(w * n);
      im -= samples[n]! * Math.sin(w * n);
    }
    return re * re + im * im;
  };
  const fundamental = power(1);
  if (fundamental === 0) return 0;
  let harmonics = 0;
  for (let k = 2; k <= maxHarmonic && k * fundamentalHz < sampleRateHz / 2; k++) harmonics += power(k);
  return Math.sqrt(harmonics / fundamental);
}

/**
 * Frequency of raw samples from their rising zero crossings (linearly interpolated between
 * samples): (crossings − 1) periods over the time from the first to the last crossing.
 *
 * @returns Hz, or `NaN` when the block has fewer than two rising crossings.
 */
export function zeroCrossingFrequency(samples: ArrayLike<number>, sampleRateHz = SAMPLE_RATE_HZ): number {
  let first = Number.NaN;
  let last = Number.NaN;
  let crossings = 0;
  for (let n = 1; n < samples.length; n++) {
    const a = samples[n - 1]!;
    const b = samples[n]!;
    if (a < 0 && b >= 0) {
      const at = n - 1 + a / (a - b);
      if (crossings === 0) first = at;
      last = at;
      crossings++;
    }
  }
  return crossings < 2 ? Number.NaN : ((crossings - 1) * sampleRateHz) / (last - first);
}
