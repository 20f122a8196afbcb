import { z } from 'zod';
import { duration, numberIn } from '../../config/zod-fields.js';
import { parsePluginSettings } from '../parse-plugin-settings.js';
import type { PluginSettings } from '../plugin.js';

/** The limit fields, which may also be set per box under `overrides`. */
const limitFields = {
  /** Nominal RMS voltage, V; 1 V to 1 MV. */
  nominalVoltage: numberIn({ min: 1, max: 1_000_000 }),
  /** Nominal frequency, Hz; 1 to 1000 Hz (mains is 50 or 60, aircraft 400). */
  nominalFrequency: numberIn({ min: 1, max: 1000 }),
  /** Allowed voltage deviation, percent of nominal (5 ⇒ 114–126 V at 120 V). */
  voltagePercent: z.number().positive().lt(100),
  /** Allowed frequency deviation, percent of nominal (0.5 ⇒ 59.7–60.3 Hz at 60 Hz). */
  frequencyPercent: z.number().positive().lt(100),
  /** Highest allowed THD, percent (5 ⇒ a `thd` ratio above 0.05 is an excursion). */
  thdPercent: z.number().positive().max(100),
  /**
   * Hysteresis, as a fraction of each limit: an excursion ends only once the value is back
   * inside `limit × (1 − hysteresisFraction)` (0.1 with ±5 % ⇒ leaves at ±4.5 %).
   */
  hysteresisFraction: z.number().min(0).lt(1),
};

const LIMIT_DEFAULTS = {
  nominalVoltage: 120,
  nominalFrequency: 60,
  voltagePercent: 5,
  frequencyPercent: 0.5,
  thdPercent: 5,
  hysteresisFraction: 0.1,
} as const;

const limitsOverrideSchema = z.object(limitFields).partial().strict();

/**
 * Settings of the built-in `threshold` plugin. Every field has a default; unknown fields are
 * refused (a typo is an error naming the field, not a silently ignored setting).
 */
export const thresholdSettingsSchema = z
  .object({
    // Loader keys, passed along in the settings object as the original did.
    path: z.string().optional(),
    name: z.string().optional(),
    plugin: z.string().optional(),

    nominalVoltage: limitFields.nominalVoltage.default(LIMIT_DEFAULTS.nominalVoltage),
    nominalFrequency: limitFields.nominalFrequency.default(LIMIT_DEFAULTS.nominalFrequency),
    voltagePercent: limitFields.voltagePercent.default(LIMIT_DEFAULTS.voltagePercent),
    frequencyPercent: limitFields.frequencyPercent.default(LIMIT_DEFAULTS.frequencyPercent),
    thdPercent: limitFields.thdPercent.default(LIMIT_DEFAULTS.thdPercent),
    hysteresisFraction: limitFields.hysteresisFraction.default(LIMIT_DEFAULTS.hysteresisFraction),
    /**
     * Shortest excursion that counts, in box time from its first out-of-limit message to the
     * first recovered one. 0 (default): a single out-of-limit message (~167 ms) counts. 0 to 1 h.
     */
    minDurationMs: duration({ min: 0, max: '1h' }).default(0),
    /** After every box of a group has recovered, how long (box time) other boxes may still join it (1 s); 0 to 1 h. */
    groupGapMs: duration({ min: 0, max: '1h' }).default(1000),
    /**
     * Scheduler time without a message after which a box in an excursion counts as recovered
     * (at its last message), and an all-recovered group with no traffic at all is closed. 5 s; 1 ms to 1 h.
     */
    silenceTimeoutMs: duration({ min: '1ms', max: '1h' }).default(5000),
    /** Requested data before the earliest excursion start (1 s); 0 to 10 min, what boxes keep. */
    padBeforeMs: duration({ min: 0, max: '10m' }).default(1000),
    /** Requested data after the latest excursion end (1 s); 0 to 10 min. */
    padAfterMs: duration({ min: 0, max: '10m' }).default(1000),
    /**
     * Longest requested window (boxes keep 10 minutes). A longer one keeps its start and is
     * cut at `start + maxWindowMs`; a group still open at that length is reported then. 1 ms to 1 h.
     */
    maxWindowMs: duration({ min: '1ms', max: '1h' }).default(600_000),
    /** `requestee` of every request. */
    requestee: z.string().default('Makai: threshold plugin'),
    /** `requestData` of every request: false records the event without asking boxes for data. */
    requestData: z.boolean().default(true),
    /** Limits per box id (decimal string, as in `opq_boxes`): `{ "1001": { "voltagePercent": 10 } }`. */
    overrides: z
      .record(z.string().regex(/^-?\d+$/, 'box ids are decimal integers such as "1001"'), limitsOverrideSchema)
      .default({}),
  })
  .strict();

/** Parsed settings of the `threshold` plugin, every default filled in. */
export type ThresholdSettings = z.output<typeof thresholdSettingsSchema>;

/** The limits in force for one box, in the units of the wire. */
export interface BoxLimits {
  readonly voltage: MetricLimit;
  readonly frequency: MetricLimit;
  /** THD is a ratio on the wire; nominal is 0 and limits are absolute ratios. */
  readonly thd: MetricLimit;
}

/** An excursion starts when |value − nominal| > `enter` and ends once it is ≤ `leave`. */
export interface MetricLimit {
  readonly nominal: number;
  readonly enter: number;
  readonly leave: number;
}

/**
 * Validates the `threshold` plugin's settings.
 *
 * @throws ConfigError naming the field (`overrides.1001.voltagePercent`).
 */
export function parseThresholdSettings(settings: PluginSettings): ThresholdSettings {
  return parsePluginSettings(thresholdSettingsSchema, settings);
}

/** The limits for one box: the settings with that box's overrides applied. */
export function limitsFor(settings: ThresholdSettings, boxId: number): BoxLimits {
  const l = { ...settings, ...settings.overrides[String(boxId)] };
  const keep = 1 - l.hysteresisFraction;
  const band = (nominal: number, percent: number): MetricLimit => {
    const enter = (nominal * percent) / 100;
    return { nominal, enter, leave: enter * keep };
  };
  return {
    voltage: band(l.nominalVoltage, l.voltagePercent),
    frequency: band(l.nominalFrequency, l.frequencyPercent),
    thd: { nominal: 0, enter: l.thdPercent / 100, leave: (l.thdPercent / 100) * keep },
  };
}
