import { ConfigError } from '../core/errors.js';
import type { Cycle, DataMessage, RequestDataMessage, TriggerMessage } from '../protocol/messages.js';
import { BOX_WINDOW_CAPACITY, BoxRecorder } from './box-recorder.js';
import { SeededRandom, hash32 } from './random.js';
import type { Scenario } from './scenario.js';
import { SignalModel, type SignalModelOptions } from './signal-model.js';
import { CYCLES_PER_WINDOW, DEFAULT_CALIBRATION, SAMPLES_PER_CYCLE } from '../protocol/box-adc.js';
import { advancePhase, synthesizeCycle } from './waveform.js';

/** Signal parameters a box may override; the rest of {@link SignalModelOptions} comes from the box. */
export type BoxSignalOptions = Omit<SignalModelOptions, 'boxId' | 'seed' | 'startMs' | 'scenario'>;

export interface SimulatedBoxOptions {
  /** Box id (int32), as in `TriggerMessage.id`. */
  readonly id: number;
  /** Fleet seed: with `id` it determines everything the box produces. */
  readonly seed: number;
  /** Box ms of the first cycle; scenario offsets count from here. */
  readonly startMs: number;
  /** Disturbances; none by default. */
  readonly scenario?: Scenario;
  /**
   * TriggerMessages per second (6, as a real box: 10 cycles of 16.67 ms). Another rate stretches
   * box time: each window still holds 10 cycles of 200 samples, but windows are 1000/rateHz ms
   * apart.
   */
  readonly rateHz?: number;
  /** ADC counts per volt (96.56). */
  readonly calibration?: number;
  /** Windows kept for READ (3600 = 10 minutes). */
  readonly capacity?: number;
  /** Standard deviation of the additive sample noise in counts (2). */
  readonly noiseCounts?: number;
  /** Nominal values and noise levels of the signal. */
  readonly signal?: BoxSignalOptions;
}

/** What a box sends back for one request: the header frame and the data frames after it (spec §1.4 M6–M8). */
export interface BoxReply {
  readonly header: RequestDataMessage;
  readonly data: readonly DataMessage[];
}

/** Noise stream label for the per-window sample noise. */
const SAMPLE_NOISE_STREAM = 8;

/**
 * The socket-free brain of one OPQ Box: it turns the {@link SignalModel} into a
 * TriggerMessage per 10-cycle window, remembers the last 10 minutes of windows, and answers
 * requests with values instead of frames on a socket.
 *
 * Time is whatever the caller says it is: {@link tick} is given the box clock and emits every
 * window that has completed by then, so an RxJS scheduler (virtual or real) drives it.
 *
 * ```
 * box time  0        166       333       500 ...      (rateHz 6, startMs 0)
 * window    |---w0---|---w1---|---w2---|
 * tick(170)          └─► Trigger{time: 0}
 * tick(500)                    └─► Trigger{time: 166}, Trigger{time: 333}
 * ```
 *
 * Trigger values are what a box computes from its cycles (rms = mean of the cycles' RMS,
 * frequency and THD likewise), taken from the model rather than from synthesized samples so
 * that thousands of boxes stay cheap. The waveform for a READ is synthesized later from the
 * same window state and agrees with them (tested: RMS of the returned samples ≈ the sent rms).
 */
export class SimulatedBox {
  readonly id: number;
  readonly model: SignalModel;
  readonly startMs: number;
  readonly rateHz: number;
  readonly calibration: number;
  private readonly noiseCounts: number;
  private readonly harmonicPhases: readonly [number, number];
  /** Offsets of the 10 cycles from their window's first cycle, ms. */
  private readonly cycleOffsets: readonly number[];
  private readonly recorder: BoxRecorder;
  private window = 0;
  private windowStartMs: number;
  private windowEndMs: number;
  /** Phase of the fundamental at the current window's first sample (float32-exact, as stored). */
  private phase: number;

  constructor(options: SimulatedBoxOptions) {
    const { id, seed, startMs, scenario, rateHz = 6, calibration = DEFAULT_CALIBRATION, capacity = BOX_WINDOW_CAPACITY, noiseCounts = 2, signal = {} } = options;
    if (!(Number.isInteger(id) && id >= -2_147_483_648 && id <= 2_147_483_647)) throw new ConfigError(`box id must be an int32 (got ${id})`, { path: 'id' });
    if (!Number.isFinite(seed)) throw new ConfigError(`must be a finite number (got ${seed})`, { path: 'seed' });
    if (!Number.isFinite(startMs)) throw new ConfigError(`must be a finite number of ms (got ${startMs})`, { path: 'startMs' });
    if (!(Number.isFinite(rateHz) && rateHz > 0 && rateHz <= 1_000)) throw new ConfigError(`must be above 0 and at most 1000 per second (got ${rateHz})`, { path: 'rateHz' });
    if (!(Number.isFinite(calibration) && calibration > 0)) throw new ConfigError(`must be a positive number of counts per volt (got ${calibration})`, { path: 'calibration' });
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new ConfigError(`must be a whole number of windows ≥ 1 (got ${capacity})`, { path: 'capacity' });
    if (!(Number.isFinite(noiseCounts) && noiseCounts >= 0)) throw new ConfigError(`must be a non-negative number of counts (got ${noiseCounts})`, { path: 'noiseCounts' });
    this.id = id;
    this.startMs = startMs;
    this.rateHz = rateHz;
    this.calibration = calibration;
    this.noiseCounts = noiseCounts;
    this.model = new SignalModel({ ...signal, boxId: id, seed, startMs, ...(scenario === undefined ? {} : { scenario }) });
    this.harmonicPhases = this.model.harmonicPhases();
    this.cycleOffsets = Array.from({ length: CYCLES_PER_WINDOW }, (_, i) => Math.floor((i * 1000) / (rateHz * CYCLES_PER_WINDOW)));
    this.recorder = new BoxRecorder({ capacity, render: (time, phase) => this.render(time, phase) });
    this.windowStartMs = this.windowTime(0);
    this.windowEndMs = this.windowTime(1);
    this.phase = Math.fround(this.model.initialPhase());
  }

  /** Box ms at which the next window completes: the earliest `tick` time that emits something. */
  get nextWindowEndMs(): number {
    return this.windowEndMs;
  }

  /** Bytes allocated for the raw-data memory (12 per window, at most 43,200 for 3600 windows). */
  get memoryBytes(): number {
    return this.recorder.bytes;
  }

  /** Windows currently held for READ. */
  get windowsHeld(): number {
    return this.recorder.size;
  }

  /**
   * Advances the box clock to `nowMs`: every window that has completed by then (its last cycle
   * read out) is recorded and summarized as a TriggerMessage, oldest first. Windows during a
   * `silence` disturbance are neither sent nor recorded.
   *
   * @param nowMs Box time, ms. Going backwards does nothing.
   * @param into Messages are appended here (pass a reused array to avoid allocation).
   * @returns `into`.
   */
  tick(nowMs: number, into: TriggerMessage[] = []): TriggerMessage[] {
    while (this.windowEndMs <= nowMs) {
      const message = this.completeWindow(this.windowStartMs, this.windowEndMs);
      if (message) into.push(message);
      this.window++;
      this.windowStartMs = this.windowEndMs;
      this.windowEndMs = this.windowTime(this.window + 1);
    }
    return into;
  }

  /**
   * Raw data of the held windows from the first with time ≥ `back` up to, excluding, the first
   * with time ≥ `forward` (spec §6.5); a `forward` beyond the newest window returns what exists.
   */
  read(back: number, forward: number): DataMessage[] {
    return this.recorder.read(back, forward);
  }

  /**
   * Answers one request as a box does (spec §6.5, §1.4 M6–M8): READ → RESP header echoing
   * `sequenceNumber`/`back`/`forward` plus one DataMessage per selected window; PING → PONG;
   * anything else → ERROR. Every header carries `boxId` and `time = nowMs`.
   *
   * @returns The reply, or `undefined` when the box is off (a `silence` disturbance) at `nowMs`.
   */
  handleRequest(request: RequestDataMessage, nowMs: number): BoxReply | undefined {
    if (this.model.at(nowMs).silent) return undefined;
    const common = { sequenceNumber: request.sequenceNumber, boxId: this.id, time: nowMs };
    switch (request.type) {
      case 'PING':
        return { header: { type: 'PONG', ...common }, data: [] };
      case 'READ': {
        const header: RequestDataMessage = {
          type: 'RESP',
          ...common,
          ...(request.back === undefined ? {} : { back: request.back }),
          ...(request.forward === undefined ? {} : { forward: request.forward }),
        };
        // proto2 optional uint64 reads as 0 when absent, which selects nothing.
        return { header, data: this.read(request.back ?? 0, request.forward ?? 0) };
      }
      default:
        return { header: { type: 'ERROR', ...common }, data: [] };
    }
  }

  /** Box ms of window `w`'s first cycle. Whole ms; the exact period is 1000/rateHz. */
  private windowTime(w: number): number {
    return this.startMs + Math.floor((w * 1000) / this.rateHz);
  }

  /** Summarizes, records and advances the phase over one window; `undefined` when silent. */
  private completeWindow(t0: number, t1: number): TriggerMessage | undefined {
    const base = this.model.base(t0);
    const startPhase = this.phase;
    let phase = startPhase;
    if (!this.model.disturbedWithin(t0, t1)) {
      // Cheap path: every cycle has the window's base state, so the phase moves in one step.
      // (Rendering moves it cycle by cycle; the sums differ by ~1e-15 rad, far below float32.)
      this.phase = Math.fround(advancePhase(phase, base.frequency, SAMPLES_PER_CYCLE * CYCLES_PER_WINDOW));
      this.recorder.record(t0, startPhase);
      return { id: this.id, time: t0, frequency: base.frequency, rms: base.rms, thd: base.thd };
    }
    let rms = 0;
    let frequency = 0;
    let thd = 0;
    let silent = false;
    for (const offset of this.cycleOffsets) {
      const state = this.model.apply(base, t0 + offset);
      silent ||= state.silent;
      rms += state.rms;
      frequency += state.frequency;
      thd += state.thd;
      phase = advancePhase(phase, state.frequency, SAMPLES_PER_CYCLE);
    }
    this.phase = Math.fround(phase);
    if (silent) return undefined;
    this.recorder.record(t0, startPhase);
    const n = CYCLES_PER_WINDOW;
    return { id: this.id, time: t0, frequency: frequency / n, rms: rms / n, thd: thd / n };
  }

  /** Regenerates a recorded window's 10 cycles: the same states and phases `completeWindow` used. */
  private render(t0: number, startPhase: number): DataMessage {
    const base = this.model.base(t0);
    const random = new SeededRandom(hash32(this.model.seedOfBox, SAMPLE_NOISE_STREAM, t0));
    const options = { calibration: this.calibration, harmonicPhases: this.harmonicPhases, noiseCounts: this.noiseCounts, random };
    let phase = startPhase;
    const cycles: Cycle[] = this.cycleOffsets.map((offset) => {
      const data = new Int32Array(SAMPLES_PER_CYCLE);
      phase = synthesizeCycle(this.model.apply(base, t0 + offset), phase, data, options);
      return { time: t0 + offset, data };
    });
    return { id: this.id, cycles };
  }
}
