/**
 * The OPQ Box's analog-to-digital side (spec §8): what a raw sample is, how many samples make a
 * "cycle", how many cycles make a window, and how counts relate to volts. One home for these
 * facts because everything that writes or reads raw waveforms needs the same numbers: the
 * simulator that synthesises them, the acquisition broker that stores a box's reply (spec §4.4,
 * §4.5), and the waveform reader behind `makai events`.
 */

/** Samples per second of a box's ADC (spec §8; the original's `BOX_SAMPLING_RATE`, spec §6.2). */
export const SAMPLE_RATE_HZ = 12_000;

/**
 * Samples per "cycle" (spec §8): a fixed block of consecutive samples (16.67 ms at 12 kHz), not
 * aligned to zero crossings. `box_events.window_timestamps_ms` holds one timestamp per cycle (spec §4.9).
 */
export const SAMPLES_PER_CYCLE = 200;

/** Cycles per window, i.e. per TriggerMessage and per DataMessage (`frames_per_measurement`, spec §8). */
export const CYCLES_PER_WINDOW = 10;

/**
 * Counts per volt of the example box (`acquisition_calibration_constant`, spec §8): volts =
 * counts ÷ calibration (spec §4.5). A real box's own constant is `opq_boxes.calibration_constant`
 * (spec §4.6), which Makai does not read; this is the default wherever none is given.
 */
export const DEFAULT_CALIBRATION = 96.56;

/** Milliseconds between two samples (1000 / 12000, spec §4.4's `event_end_timestamp_ms` arithmetic). */
export const SAMPLE_PERIOD_MS = 1000 / SAMPLE_RATE_HZ;

/** Milliseconds covered by one cycle (200 samples ≈ 16.67 ms). */
export const CYCLE_DURATION_MS = SAMPLES_PER_CYCLE * SAMPLE_PERIOD_MS;

/** Smallest raw sample: samples are signed 16-bit ADC counts (spec §8), stored as int16 (spec §4.5). */
export const SAMPLE_MIN = -32_768;

/** Largest raw sample (int16, spec §4.5, §8). */
export const SAMPLE_MAX = 32_767;
