/**
 * RMS of raw samples in volts, as a box computes a cycle's RMS (spec §8): √(mean of counts²)
 * ÷ calibration. A window's `rms` in a TriggerMessage is the mean of its cycles' values.
 *
 * @param samples ADC counts (normally one cycle: `SAMPLES_PER_CYCLE` of `box-adc.ts`).
 * @param calibration Counts per volt (`DEFAULT_CALIBRATION` for the example box).
 * @returns Volts; 0 for no samples.
 */
export function cycleRms(samples: ArrayLike<number>, calibration: number): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    sum += s * s;
  }
  return Math.sqrt(sum / samples.length) / calibration;
}
