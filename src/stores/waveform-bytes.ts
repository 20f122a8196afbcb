import { DecodeError } from '../core/errors.js';
import { CYCLE_DURATION_MS, SAMPLE_PERIOD_MS, SAMPLES_PER_CYCLE } from '../protocol/box-adc.js';
import { cycleRms } from '../protocol/cycle-rms.js';

/**
 * Reading stored waveforms back (spec §4.5): the bytes are int16 little-endian ADC counts,
 * cycle after cycle, with no header; `box_events.window_timestamps_ms` holds the box time of
 * every 200-sample cycle. Pure functions, shared by `makai events` and its plots.
 */

/**
 * The samples of stored waveform bytes, as counts.
 *
 * @throws DecodeError `truncated` when the byte count is odd (half a sample).
 */
export function decodeWaveform(bytes: Uint8Array): Int16Array {
  if (bytes.length % 2 !== 0) {
    throw new DecodeError('truncated', 'waveform', `${bytes.length} bytes is not a whole number of int16 samples`);
  }
  // DataView rather than an Int16Array view: the bytes are little-endian on every platform,
  // and a Buffer from a store may start at an odd offset.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const counts = new Int16Array(bytes.length / 2);
  for (let i = 0; i < counts.length; i++) counts[i] = view.getInt16(i * 2, true);
  return counts;
}

/**
 * Box time (ms) of the first sample of cycle `cycle`. Cycles beyond the end of
 * `windowTimestampsMs` (a document that lists fewer cycles than the bytes hold) continue
 * from the last listed one at 200/12 ms per cycle.
 */
export function cycleStartMs(windowTimestampsMs: readonly number[], cycle: number): number {
  const listed = windowTimestampsMs[cycle];
  if (listed !== undefined) return listed;
  const last = windowTimestampsMs.length - 1;
  if (last < 0) return cycle * CYCLE_DURATION_MS;
  return windowTimestampsMs[last]! + (cycle - last) * CYCLE_DURATION_MS;
}

/** Box time (ms, fractional) of sample `index`: its cycle's timestamp + (index within the cycle) / 12 ms. */
export function sampleTimeMs(windowTimestampsMs: readonly number[], index: number): number {
  const cycle = Math.floor(index / SAMPLES_PER_CYCLE);
  return cycleStartMs(windowTimestampsMs, cycle) + (index - cycle * SAMPLES_PER_CYCLE) * SAMPLE_PERIOD_MS;
}

/** The RMS of one cycle. */
export interface CycleRmsPoint {
  /** Box time of the cycle's first sample, ms. */
  readonly startMs: number;
  /** Samples in the cycle (200, or fewer for a partial last cycle). */
  readonly samples: number;
  /** RMS, volts. */
  readonly rms: number;
}

/**
 * The per-cycle RMS envelope of a waveform: one point per 200-sample cycle (a partial last
 * cycle gives a point of its own), √(mean counts²) ÷ calibration as a box computes it.
 *
 * @param counts Samples, counts.
 * @param windowTimestampsMs `box_events.window_timestamps_ms`.
 * @param calibration Counts per volt.
 */
export function cycleRmsEnvelope(counts: Int16Array, windowTimestampsMs: readonly number[], calibration: number): CycleRmsPoint[] {
  const points: CycleRmsPoint[] = [];
  for (let cycle = 0, start = 0; start < counts.length; cycle++, start += SAMPLES_PER_CYCLE) {
    const samples = counts.subarray(start, Math.min(start + SAMPLES_PER_CYCLE, counts.length));
    points.push({ startMs: cycleStartMs(windowTimestampsMs, cycle), samples: samples.length, rms: cycleRms(samples, calibration) });
  }
  return points;
}
