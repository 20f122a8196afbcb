import { z } from 'zod';
import { durationField, positiveInt } from '../../config/zod-fields.js';
import { ConfigError } from '../../core/errors.js';
import { parsePluginSettings } from '../parse-plugin-settings.js';
import type { PluginSettings } from '../plugin.js';

const positiveDurationMs = durationField.refine((ms) => ms > 0, 'must be longer than 0 ms');

/**
 * Settings of the built-in `napali` plugin. Every field has a default (the hard limits and the
 * grace period are the original's fixture values); unknown fields are refused with a
 * did-you-mean, so a typo is an error naming the field, not a silently ignored setting.
 */
export const napaliSettingsSchema = z
  .object({
    // Loader keys, passed along in the settings object as the original did.
    path: z.string().optional(),
    name: z.string().optional(),
    plugin: z.string().optional(),

    /**
     * Weight of the newest reading in each box's running mean and variance (the original's
     * `alpha`): 0.05 at 6 readings/s remembers roughly the last 40 readings (~7 s).
     */
    smoothingFactor: z.number().gt(0).max(1).default(0.05),
    /** A reading further than `sigmas` standard deviations from its box's running mean is anomalous (the k of "kσ"). */
    sigmas: z.number().positive().default(3),
    /** Readings a box must have sent (per metric) before its statistics give verdicts; hard limits apply from the first. */
    warmupSamples: positiveInt.default(60),
    /** Smallest σ used for frequency, Hz: a box whose frequency never moves is not anomalous at every 0.001 Hz step. */
    minSigmaFrequency: z.number().positive().default(0.005),
    /** Smallest σ used for RMS voltage, V. */
    minSigmaVoltage: z.number().positive().default(0.05),
    /** Smallest σ used for THD, percentage points (0.05 ⇒ a `thd` ratio of 0.0005). */
    minSigmaThdPercent: z.number().positive().default(0.05),

    /** Hard lower frequency limit, Hz. */
    minFrequency: z.number().positive().default(59.9),
    /** Hard upper frequency limit, Hz. */
    maxFrequency: z.number().positive().default(60.1),
    /** Hard lower RMS voltage limit, V. */
    minVoltage: z.number().positive().default(115),
    /** Hard upper RMS voltage limit, V. */
    maxVoltage: z.number().positive().default(125),
    /** Hard THD limit, percent (5 ⇒ a `thd` ratio above 0.05 is anomalous). */
    maxThdPercent: z.number().positive().max(100).default(5),

    /**
     * Whether a reading that is only outside kσ (within the hard limits) may open a window.
     * `false` (default, as the original): a hard limit opens a window, and σ readings extend it
     * and pull in the boxes that saw the event faintly. At k = 3, noise alone is beyond 3σ a few
     * times a minute per box, so `true` wants a larger `sigmas` (4–5).
     */
    sigmaOpensWindow: z.boolean().default(false),
    /**
     * How long a window stays open after a box's last anomalous reading, in that box's time
     * (or, when the box goes silent, in scheduler time after its last message).
     */
    graceMs: positiveDurationMs.default(5000),
    /** Report windows in which only one box was anomalous (the original's `trigger_local`); `false` keeps only grid-wide events. */
    reportSingleBox: z.boolean().default(true),
    /** Requested data before the earliest anomalous reading (the original asked from that reading). */
    padBeforeMs: durationField.default(0),
    /** Requested data after the latest anomalous reading (the original asked for 1 s more). */
    padAfterMs: durationField.default(1000),
    /**
     * Longest requested window (boxes keep 10 minutes). A window still open at that length is
     * reported then; boxes still anomalous open the next one.
     */
    maxWindowMs: positiveDurationMs.default(600_000),
    /** `requestee` of every request. */
    requestee: z.string().default('Makai: napali plugin'),
    /** `requestData` of every request: false records the event without asking boxes for data. */
    requestData: z.boolean().default(true),
  })
  .strict();

/** Parsed settings of the `napali` plugin, every default filled in. */
export type NapaliSettings = z.output<typeof napaliSettingsSchema>;

/**
 * The original plugin's setting names (`NapaliPluginSettings` of `napali_trigger`), accepted so
 * that an original entry `{"path": ".../libnapali_plugin.so", "alpha": 0.05, …}` runs as is.
 * `thd_max` is a ratio there (the fixture's 0.05), a percentage here.
 */
const originalSettingsSchema = z
  .object({
    // The same bounds as their counterparts, so an error names the field as written.
    alpha: z.number().gt(0).max(1),
    f_min: z.number().positive(),
    f_max: z.number().positive(),
    rms_min: z.number().positive(),
    rms_max: z.number().positive(),
    thd_max: z.number().positive().max(1, 'is a ratio in the original (0.05 = 5 %)'),
    grace_time_ms: z.number().int().positive(),
    trigger_local: z.boolean(),
    // No counterpart: the boxes' TriggerMessage carries no transient metric, and there is no
    // debug print (the service logs). Accepted so an original entry loads; reported as unused.
    trans_max: z.number(),
    debug: z.boolean(),
  })
  .partial();

const ORIGINAL_NAMES = {
  alpha: 'smoothingFactor',
  f_min: 'minFrequency',
  f_max: 'maxFrequency',
  rms_min: 'minVoltage',
  rms_max: 'maxVoltage',
  thd_max: 'maxThdPercent',
  grace_time_ms: 'graceMs',
  trigger_local: 'reportSingleBox',
} as const satisfies Partial<Record<keyof z.output<typeof originalSettingsSchema>, keyof NapaliSettings>>;

/** Original settings that have no effect here; the factory logs them once. */
export const UNUSED_ORIGINAL_SETTINGS = ['trans_max', 'debug'] as const;

/**
 * Validates the `napali` plugin's settings, translating the original's names first.
 *
 * @throws ConfigError naming the field as written (`sigmas`, `thd_max`, …).
 */
export function parseNapaliSettings(settings: PluginSettings): NapaliSettings {
  const original = parsePluginSettings(originalSettingsSchema, settings);
  const translated: Record<string, unknown> = { ...settings };
  for (const key of UNUSED_ORIGINAL_SETTINGS) delete translated[key];
  for (const [from, to] of Object.entries(ORIGINAL_NAMES) as [keyof typeof ORIGINAL_NAMES, string][]) {
    const value = original[from];
    if (value === undefined) continue;
    if (Object.hasOwn(settings, to)) {
      throw new ConfigError(`"${from}" is the original's name for "${to}"; give only one of them`, { path: from });
    }
    delete translated[from];
    translated[to] = from === 'thd_max' ? (value as number) * 100 : value;
  }
  const parsed = parsePluginSettings(napaliSettingsSchema, translated);
  // Named as written: the limit the user gave (the upper one when both), in their spelling.
  const written = (name: string) => Object.entries(ORIGINAL_NAMES).find(([from, to]) => to === name && Object.hasOwn(settings, from))?.[0] ?? name;
  const ordered = (min: number, max: number, minName: string, maxName: string, unit: string) => {
    if (min < max) return;
    const givenMax = Object.hasOwn(translated, maxName);
    throw new ConfigError(givenMax ? `must be above the lower limit (${min} ${unit})` : `must be below the upper limit (${max} ${unit})`, {
      path: written(givenMax ? maxName : minName),
    });
  };
  ordered(parsed.minFrequency, parsed.maxFrequency, 'minFrequency', 'maxFrequency', 'Hz');
  ordered(parsed.minVoltage, parsed.maxVoltage, 'minVoltage', 'maxVoltage', 'V');
  return parsed;
}
