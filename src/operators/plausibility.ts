import { ConfigError } from '../core/errors.js';

/** A closed range `[min, max]` of accepted values. */
export type PlausibleRange = readonly [min: number, max: number];

/**
 * Plausibility bounds of a measurement (option `plausibility` of `decodeTrigger`): a value
 * outside its range is refused as `implausible`, naming the field and the value. Each range is
 * optional; a missing one takes its default from {@link DEFAULT_PLAUSIBILITY}.
 */
export interface PlausibilityBounds {
  /** `TriggerMessage.frequency`, Hz. Default `[40, 70]`. */
  readonly frequencyHz?: PlausibleRange;
  /** `TriggerMessage.rms`, volts. Default `[0, 1000]`. */
  readonly rmsVolts?: PlausibleRange;
  /** `TriggerMessage.thd`, a ratio (0.03 = 3 %). Default `[0, 1]`. */
  readonly thdRatio?: PlausibleRange;
}

/** {@link PlausibilityBounds} with every range present. */
export type ResolvedPlausibility = Required<PlausibilityBounds>;

/**
 * Defaults from the physics of a 50 Hz or a 60 Hz grid; both kinds of grid must pass.
 * - Frequency 40-70 Hz: interconnected grids hold ±0.5 Hz, and even an islanded generator
 *   runs within ±10 % before protection trips it (45-55 Hz, 54-66 Hz); 40-70 leaves room
 *   around both while refusing readings no grid produces (1e30 Hz, 0 Hz, a box reporting kHz).
 * - RMS 0-1000 V: 0 is an interruption, a real reading; outlets are 100-240 V nominal and a
 *   swell past twice 240 V is beyond what mains insulation and surge protection let through,
 *   so 1000 V is no reading of a box on an outlet.
 * - THD 0-1 (0-100 %): grid codes limit voltage THD to 5-8 %, badly distorted supplies reach
 *   tens of percent; harmonics as large as the fundamental mean there is no grid voltage to
 *   describe (and a box sending percent instead of a ratio, 3 for 3 %, is caught here).
 */
export const DEFAULT_PLAUSIBILITY: ResolvedPlausibility = Object.freeze({
  frequencyHz: Object.freeze([40, 70] as const),
  rmsVolts: Object.freeze([0, 1000] as const),
  thdRatio: Object.freeze([0, 1] as const),
});

/**
 * The bounds with defaults filled in, checked.
 *
 * @throws ConfigError naming `plausibility.<field>` when a range is not two finite numbers with
 *   `min ≤ max`.
 */
export function resolvePlausibility(bounds: PlausibilityBounds | undefined, path = 'plausibility'): ResolvedPlausibility {
  const resolved = { ...DEFAULT_PLAUSIBILITY, ...definedOnly(bounds ?? {}) };
  for (const field of Object.keys(DEFAULT_PLAUSIBILITY) as (keyof ResolvedPlausibility)[]) {
    const range: unknown = resolved[field];
    if (!Array.isArray(range) || range.length !== 2 || !range.every((v) => typeof v === 'number' && Number.isFinite(v)) || range[0] > range[1]) {
      throw new ConfigError(`must be [min, max], two finite numbers with min ≤ max, got ${JSON.stringify(range)}`, { path: `${path}.${field}` });
    }
  }
  for (const field of Object.keys(resolved)) {
    if (!(field in DEFAULT_PLAUSIBILITY)) {
      throw new ConfigError(`unknown bound (known: ${Object.keys(DEFAULT_PLAUSIBILITY).join(', ')})`, { path: `${path}.${field}` });
    }
  }
  return resolved;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** True when `value` lies in `[min, max]`. */
export function inRange(value: number, [min, max]: PlausibleRange): boolean {
  return value >= min && value <= max;
}
