import type { DataMessage } from '../protocol/messages.js';
import { RingBuffer } from './ring-buffer.js';

/** Turns a recorded window (its first cycle's time and the fundamental's phase there) into raw cycles. */
export type WindowRenderer = (windowTimeMs: number, startPhase: number) => DataMessage;

export interface BoxRecorderOptions {
  /** Windows kept (3600 = 10 minutes of 10-cycle windows, as on a real box). */
  readonly capacity?: number;
  /** Regenerates a window's cycles on demand. */
  readonly render: WindowRenderer;
}

/** Windows a real box keeps: 3600 × 10 cycles = 600 s (spec §6.5, §8). */
export const BOX_WINDOW_CAPACITY = 3_600;

/**
 * The raw-data memory of one simulated box: the last `capacity` 10-cycle windows, keyed by
 * the time of each window's first cycle.
 *
 * It stores no samples. Per window it keeps the key (8 bytes) and the fundamental's phase at
 * the first sample (4 bytes), 12 bytes in all; everything else about a window is a pure
 * function of its time (see `SignalModel`), so {@link read} regenerates the cycles through
 * the `render` function. A full ring of 3600 windows takes 43,200 bytes.
 *
 * Selection follows the box (spec §6.5): windows from the first with key ≥ `back` up to,
 * excluding, the first with key ≥ `forward`. Unlike the original, a `forward` beyond the
 * newest window returns what exists instead of undefined behaviour.
 */
export class BoxRecorder {
  private readonly ring: RingBuffer;
  private readonly render: WindowRenderer;

  constructor({ capacity = BOX_WINDOW_CAPACITY, render }: BoxRecorderOptions) {
    this.ring = new RingBuffer(capacity);
    this.render = render;
  }

  /** Windows held. */
  get size(): number {
    return this.ring.size;
  }

  /** Bytes allocated for windows (at most capacity × 12). */
  get bytes(): number {
    return this.ring.bytes;
  }

  /** Time of the oldest window held, or `undefined`. */
  get oldestWindowMs(): number | undefined {
    return this.ring.size === 0 ? undefined : this.ring.keyAt(0);
  }

  /** Time of the newest window held, or `undefined`. */
  get newestWindowMs(): number | undefined {
    return this.ring.newestKey;
  }

  /**
   * Remembers a window. `startPhase` is stored as float32: pass a value already rounded with
   * `Math.fround` when the waveform must continue exactly from it.
   */
  record(windowTimeMs: number, startPhase: number): void {
    this.ring.push(windowTimeMs, startPhase);
  }

  /** The held windows' times in `[back, forward)`, oldest first. */
  windowTimes(back: number, forward: number): number[] {
    const { start, end } = this.ring.range(back, forward);
    const times: number[] = [];
    for (let i = start; i < end; i++) times.push(this.ring.keyAt(i));
    return times;
  }

  /**
   * The raw data of the held windows in `[back, forward)`, one {@link DataMessage} of 10
   * cycles per window, oldest first; empty when nothing matches.
   */
  read(back: number, forward: number): DataMessage[] {
    const { start, end } = this.ring.range(back, forward);
    const messages: DataMessage[] = [];
    for (let i = start; i < end; i++) messages.push(this.render(this.ring.keyAt(i), this.ring.valueAt(i)));
    return messages;
  }
}
