import type { TriggerType } from '../../protocol/messages.js';
import type { EwmaStatistics } from './ewma-statistics.js';
import type { NapaliSettings } from './napali-settings.js';

/** The measured quantities the `napali` plugin watches. */
export type NapaliMetric = 'frequency' | 'voltage' | 'thd';

/**
 * One anomalous reading of one metric of one box. `limit` (outside the hard limits) outranks
 * `sigma` (outside kσ of the box's own running statistics), as in the original.
 */
export interface Anomaly {
  readonly boxId: number;
  readonly metric: NapaliMetric;
  readonly kind: 'limit' | 'sigma';
  /** Below the lower limit or the mean (`sag`), or above (`swell`). THD is always `swell`. */
  readonly direction: 'sag' | 'swell';
  /** Box time of the reading. */
  readonly time: number;
  /** The reading, in wire units (Hz, V, THD ratio). */
  readonly value: number;
  /** The box's running mean before this reading; for its very first reading the middle of the hard limits. */
  readonly reference: number;
  /** |value − mean| / σ (σ at least its floor); undefined before the box has any statistics. */
  readonly zScore: number | undefined;
  /**
   * How far past its own bound, ≥ 1, to rank anomalies of different metrics: for `limit` the
   * distance from the limits' middle in half-widths (THD: value / limit), for `sigma` zScore / k.
   */
  readonly score: number;
}

/** The hard limits of one metric, in wire units. THD has no lower limit. */
interface Limits {
  readonly min: number;
  readonly max: number;
}

/**
 * Judges one reading against the hard limits and against its box's statistics *before* the
 * reading is added (the original added it first, which pulls the mean towards the reading).
 *
 * @param boxId The reading's box.
 * @param metric Which of its values this is.
 * @param time Box time of the reading.
 * @param value The value, in wire units (Hz, V, THD ratio); finite.
 * @param stats The box's statistics for this metric, not yet updated with `value`.
 * @param settings The plugin's settings (limits, k, warm-up, σ floors).
 * @returns The anomaly, or undefined for a normal reading.
 */
export function judgeReading(
  boxId: number,
  metric: NapaliMetric,
  time: number,
  value: number,
  stats: EwmaStatistics,
  settings: NapaliSettings,
): Anomaly | undefined {
  const limits = limitsOf(metric, settings);
  const middle = metric === 'thd' ? 0 : (limits.min + limits.max) / 2;
  const reference = stats.count > 0 ? stats.mean : middle;
  const sigma = Math.max(stats.sigma, minSigmaOf(metric, settings));
  const zScore = stats.count > 0 ? Math.abs(value - stats.mean) / sigma : undefined;
  const base = { boxId, metric, time, value, reference, zScore };
  if (value > limits.max || value < limits.min) {
    const score = metric === 'thd' ? value / limits.max : Math.abs(value - middle) / ((limits.max - limits.min) / 2);
    return { ...base, kind: 'limit', direction: value < limits.min ? 'sag' : 'swell', score };
  }
  // A THD drop is no power-quality problem: only rises count.
  const away = metric === 'thd' ? value > reference : true;
  if (zScore !== undefined && away && stats.count >= settings.warmupSamples && zScore > settings.sigmas) {
    return { ...base, kind: 'sigma', direction: value < reference ? 'sag' : 'swell', score: zScore / settings.sigmas };
  }
  return undefined;
}

/** True when `a` is worse than `b`: a hard limit beats kσ, then the higher score wins. */
export function isWorse(a: Anomaly, b: Anomaly): boolean {
  if (a.kind !== b.kind) return a.kind === 'limit';
  return a.score > b.score;
}

/** The `RequestEventMessage.TriggerType` of an anomaly; THD has no type of its own (`OTHER`). */
export function triggerTypeOf(anomaly: Anomaly): TriggerType {
  if (anomaly.metric === 'thd') return 'OTHER';
  const prefix = anomaly.metric === 'voltage' ? 'VOLTAGE' : 'FREQUENCY';
  return `${prefix}_${anomaly.direction === 'sag' ? 'SAG' : 'SWELL'}`;
}

/** Deviation from the reference in percent of it (121 V against a 120 V mean → 0.833); for THD, the THD in percent. */
export function percentMagnitudeOf(anomaly: Anomaly): number {
  const percent = anomaly.metric === 'thd' ? anomaly.value * 100 : (Math.abs(anomaly.value - anomaly.reference) / anomaly.reference) * 100;
  return Math.round(percent * 1000) / 1000;
}

/** E.g. `Voltage sag to 96.0 V (outside 115.0–125.0 V)` or `Frequency swell to 60.050 Hz (10.0σ from box 1001's mean 60.000 Hz)`. */
export function describeAnomaly(anomaly: Anomaly, settings: NapaliSettings): string {
  const { metric, value, reference } = anomaly;
  const what =
    metric === 'thd'
      ? `THD ${format(metric, value)}`
      : `${metric === 'voltage' ? 'Voltage' : 'Frequency'} ${anomaly.direction} to ${format(metric, value)}`;
  if (anomaly.kind === 'limit') {
    const limits = limitsOf(metric, settings);
    const bound = metric === 'thd' ? `above ${format(metric, limits.max)}` : `outside ${format(metric, limits.min, false)}–${format(metric, limits.max)}`;
    return `${what} (${bound})`;
  }
  return `${what} (${(anomaly.zScore ?? 0).toFixed(1)}σ from box ${anomaly.boxId}'s mean ${format(metric, reference)})`;
}

function format(metric: NapaliMetric, value: number, unit = true): string {
  switch (metric) {
    case 'voltage':
      return `${value.toFixed(1)}${unit ? ' V' : ''}`;
    case 'frequency':
      return `${value.toFixed(3)}${unit ? ' Hz' : ''}`;
    case 'thd':
      return `${(value * 100).toFixed(2)}${unit ? ' %' : ''}`;
  }
}

function limitsOf(metric: NapaliMetric, s: NapaliSettings): Limits {
  switch (metric) {
    case 'frequency':
      return { min: s.minFrequency, max: s.maxFrequency };
    case 'voltage':
      return { min: s.minVoltage, max: s.maxVoltage };
    case 'thd':
      return { min: Number.NEGATIVE_INFINITY, max: s.maxThdPercent / 100 };
  }
}

function minSigmaOf(metric: NapaliMetric, s: NapaliSettings): number {
  switch (metric) {
    case 'frequency':
      return s.minSigmaFrequency;
    case 'voltage':
      return s.minSigmaVoltage;
    case 'thd':
      return s.minSigmaThdPercent / 100;
  }
}
