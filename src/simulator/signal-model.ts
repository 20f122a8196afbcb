import { ConfigError } from '../core/errors.js';
import { NoiseStream, hash32, uniformAt } from './random.js';
import type { Scenario } from './scenario.js';

/** What the mains looks like to one box at one moment. */
export interface SignalState {
  /** True RMS volts (fundamental and harmonics together, as a box measures it). */
  readonly rms: number;
  /** Hz. */
  readonly frequency: number;
  /** Total harmonic distortion as a ratio (0.03 = 3 %). */
  readonly thd: number;
  /** The box is off (a `silence` disturbance): it measures and sends nothing. */
  readonly silent: boolean;
}

export interface SignalModelOptions {
  /** The box this model belongs to; with `seed` it picks the box's own noise. */
  readonly boxId: number;
  /** The fleet seed. The grid frequency wander depends on it alone, so every box sees the same grid. */
  readonly seed: number;
  /** Box ms at which the scenario's offsets start. */
  readonly startMs: number;
  /** Disturbances; none by default. */
  readonly scenario?: Scenario;
  /** Nominal RMS volts (120). */
  readonly nominalVolts?: number;
  /** Nominal frequency (60 Hz). */
  readonly nominalHz?: number;
  /** Standard deviation of the per-window RMS noise, volts (0.2). */
  readonly voltsNoise?: number;
  /** Standard deviation of the slow grid frequency wander, Hz (0.003). */
  readonly frequencyWanderHz?: number;
  /** Standard deviation of the per-window frequency measurement jitter, Hz (0.0005). */
  readonly frequencyJitterHz?: number;
  /** The box's background THD is drawn once, uniformly from this range ([0.02, 0.03]). */
  readonly thdRange?: readonly [number, number];
  /** Standard deviation of the per-window THD noise, as a ratio (0.001). */
  readonly thdJitter?: number;
}

/** A scenario disturbance resolved for one box, in absolute box ms. */
interface Active {
  readonly startMs: number;
  readonly endMs: number;
  readonly kind: Scenario['disturbances'][number]['kind'];
  /** Volts factor, Hz, or THD ratio, depending on `kind`. */
  readonly value: number;
}

/** Knot spacing of the grid frequency wander: slow next to a 166 ms window. */
const WANDER_KNOT_MS = 2_000;
/** Stream labels, so the noise of one quantity never equals that of another. */
const STREAM = { rms: 1, jitter: 2, thd: 3, wander: 4, boxThd: 5, harmonics: 6, phase: 7 } as const;

/**
 * The true signal seen by one box: RMS voltage, frequency, THD and silence as functions of box
 * time, seeded and pure.
 *
 * - Voltage: `nominalVolts` plus normal noise (σ `voltsNoise`) drawn per window, scaled by
 *   active sags and swells (`voltagePercent`).
 * - Frequency: `nominalHz` plus a slow, bounded random wander shared by the whole grid (knots
 *   every 2 s, σ 3 mHz, cosine-interpolated) plus per-window jitter of the box; a frequency
 *   disturbance moves the centre to its `hz`.
 * - THD: the box's background level (from `thdRange`) ± `thdJitter` per window, replaced by a
 *   `thd` disturbance's ratio.
 *
 * Noise is keyed by the time of the window's first cycle ({@link base}) rather than advanced
 * step by step, so a window's state can be recomputed at any later time from its timestamp
 * alone: this is what lets a box regenerate raw cycles for a READ without storing samples.
 * Disturbances are applied per moment ({@link apply}), so a sag that starts mid-window
 * changes only the cycles after its start, as on a real box.
 *
 * Because voltage and THD noise are drawn per window, the waveform's amplitude steps slightly
 * (σ 0.2 V ≈ 27 counts peak) at window boundaries; the phase does not.
 */
export class SignalModel {
  readonly boxId: number;
  readonly nominalVolts: number;
  readonly nominalHz: number;
  private readonly boxSeed: number;
  private readonly voltsNoise: number;
  private readonly wanderHz: number;
  private readonly jitterHz: number;
  private readonly thdLevel: number;
  private readonly thdJitter: number;
  private readonly active: readonly Active[];
  private readonly rmsNoise: NoiseStream;
  private readonly jitterNoise: NoiseStream;
  private readonly thdNoise: NoiseStream;
  private readonly wanderNoise: NoiseStream;
  /** The last pair of wander knots: consecutive windows almost always share it. */
  private knot = { index: Number.NaN, a: 0, b: 0 };

  constructor(options: SignalModelOptions) {
    const {
      boxId,
      seed,
      startMs,
      scenario,
      nominalVolts = 120,
      nominalHz = 60,
      voltsNoise = 0.2,
      frequencyWanderHz = 0.003,
      frequencyJitterHz = 0.0005,
      thdRange = [0.02, 0.03],
      thdJitter = 0.001,
    } = options;
    for (const [name, value] of Object.entries({ nominalVolts, nominalHz })) {
      if (!(Number.isFinite(value) && value > 0)) throw new ConfigError(`must be a positive number (got ${value})`, { path: name });
    }
    for (const [name, value] of Object.entries({ voltsNoise, frequencyWanderHz, frequencyJitterHz, thdJitter })) {
      if (!(Number.isFinite(value) && value >= 0)) throw new ConfigError(`must be a non-negative number (got ${value})`, { path: name });
    }
    const [thdLow, thdHigh] = thdRange;
    if (!(thdLow >= 0 && thdHigh >= thdLow && thdHigh <= 1)) throw new ConfigError(`must be [low, high] with 0 ≤ low ≤ high ≤ 1`, { path: 'thdRange' });
    this.boxId = boxId;
    this.boxSeed = hash32(seed, boxId);
    this.nominalVolts = nominalVolts;
    this.nominalHz = nominalHz;
    this.voltsNoise = voltsNoise;
    this.wanderHz = frequencyWanderHz;
    this.jitterHz = frequencyJitterHz;
    this.rmsNoise = new NoiseStream(this.boxSeed, STREAM.rms);
    this.jitterNoise = new NoiseStream(this.boxSeed, STREAM.jitter);
    this.thdNoise = new NoiseStream(this.boxSeed, STREAM.thd);
    this.wanderNoise = new NoiseStream(seed, STREAM.wander);
    this.thdJitter = thdJitter;
    this.thdLevel = thdLow + (thdHigh - thdLow) * uniformAt(this.boxSeed, STREAM.boxThd);
    this.active = (scenario?.disturbances ?? [])
      .filter((d) => d.boxes === 'all' || d.boxes.includes(boxId))
      .map((d) => ({
        startMs: startMs + d.atMs,
        endMs: startMs + d.atMs + d.durationMs,
        kind: d.kind,
        value: d.kind === 'frequency' ? d.hz : d.kind === 'thd' ? d.ratio : d.kind === 'silence' ? 0 : d.voltagePercent / 100,
      }));
  }

  /** The seed of this box's own noise streams (sample noise, harmonic phases, initial phase). */
  get seedOfBox(): number {
    return this.boxSeed;
  }

  /**
   * The state at box time `t` for a window whose first cycle is at `windowStartMs`: the
   * window's noise with the disturbances active at `t`.
   */
  at(t: number, windowStartMs = t): SignalState {
    return this.apply(this.base(windowStartMs), t);
  }

  /**
   * The undisturbed state of the window whose first cycle is at `windowStartMs`. Values are
   * rounded to float32, as they travel in a TriggerMessage, so what a box sends and what it
   * regenerates later are the same numbers.
   */
  base(windowStartMs: number): SignalState {
    const rms = this.nominalVolts + this.voltsNoise * this.rmsNoise.normal(windowStartMs);
    const frequency = this.nominalHz + this.wander(windowStartMs) + this.jitterHz * this.jitterNoise.normal(windowStartMs);
    const thd = Math.max(0, this.thdLevel + this.thdJitter * this.thdNoise.normal(windowStartMs));
    return { rms: Math.fround(rms), frequency: Math.fround(frequency), thd: Math.fround(thd), silent: false };
  }

  /** `base` with the disturbances active at box time `t` applied (later ones in the scenario win). */
  apply(base: SignalState, t: number): SignalState {
    let { rms, frequency, thd } = base;
    let silent = base.silent;
    for (const d of this.active) {
      if (t < d.startMs || t >= d.endMs) continue;
      switch (d.kind) {
        case 'voltage-sag':
        case 'voltage-swell':
          rms = base.rms * d.value;
          break;
        case 'frequency':
          frequency = d.value + (base.frequency - this.nominalHz);
          break;
        case 'thd':
          thd = d.value;
          break;
        case 'silence':
          silent = true;
          break;
      }
    }
    return { rms, frequency, thd, silent };
  }

  /** True when some disturbance of this box overlaps [fromMs, toMs): the cheap path must not be taken. */
  disturbedWithin(fromMs: number, toMs: number): boolean {
    for (const d of this.active) if (d.startMs < toMs && d.endMs > fromMs) return true;
    return false;
  }

  /** Phases (radians) of the 3rd and 5th harmonic relative to the fundamental, fixed per box. */
  harmonicPhases(): readonly [number, number] {
    return [2 * Math.PI * uniformAt(this.boxSeed, STREAM.harmonics, 3), 2 * Math.PI * uniformAt(this.boxSeed, STREAM.harmonics, 5)];
  }

  /** The phase (radians) of the fundamental at the box's first sample. */
  initialPhase(): number {
    return 2 * Math.PI * uniformAt(this.boxSeed, STREAM.phase);
  }

  /** Grid-wide frequency deviation: normal knots every 2 s, cosine-interpolated (bounded, smooth). */
  private wander(t: number): number {
    if (this.wanderHz === 0) return 0;
    const k = Math.floor(t / WANDER_KNOT_MS);
    const x = t / WANDER_KNOT_MS - k;
    if (this.knot.index !== k) this.knot = { index: k, a: this.wanderNoise.normal(k), b: this.wanderNoise.normal(k + 1) };
    const { a, b } = this.knot;
    const w = (1 - Math.cos(Math.PI * x)) / 2;
    return this.wanderHz * (a + (b - a) * w);
  }
}
