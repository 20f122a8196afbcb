import { z } from 'zod';
import { durationField } from './zod-fields.js';

/**
 * The file `makai test` reads: a config, the measurements to feed it (declared, or a stored
 * range) and the event requests it must make. Times are ISO-8601 or ms since the epoch (box
 * time, UTC); durations as everywhere (`"10s"`, `"PT1M"`, ms).
 *
 * ```json
 * {
 *   "description": "two boxes sag together: one event for both",
 *   "config": "../makai.json",
 *   "measurements": [
 *     { "boxes": [1, 2], "from": "2026-01-01T00:00:00Z", "duration": "10s", "rms": 120 },
 *     { "boxes": [1, 2], "from": "2026-01-01T00:00:10Z", "duration": "1s", "rms": 108 }
 *   ],
 *   "expect": [{ "triggerType": "VOLTAGE_SAG", "boxIds": [1, 2], "startTimestampMsUtc": "2026-01-01T00:00:09Z" }]
 * }
 * ```
 */

/** A box time: ms since the epoch, or ISO-8601 with its zone. */
export const timeField = z.union([
  z.number().int('must be whole ms since the epoch'),
  z.string().transform((text, ctx) => {
    const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${text}" is not a time (ISO-8601 like "2026-01-01T00:00:00Z", or ms)` });
      return z.NEVER;
    }
    return ms;
  }),
]);

const boxId = z.number().int().min(0).max(2 ** 31 - 1);
const values = {
  /** Volts RMS (default 120). */
  rms: z.number().finite().default(120),
  /** Hz (default 60). */
  frequency: z.number().finite().default(60),
  /** A ratio (0.03 = 3 %); absent by default, as from boxes that do not send it. */
  thd: z.number().finite().min(0).optional(),
};

/** One measurement. */
const singleMeasurement = z.object({ box: boxId, time: timeField, ...values }).strict();

/** A steady run: every box in `boxes` sends the same values every `every` (default 1/6 s, as boxes do) for `duration`. */
const measurementRun = z
  .object({
    boxes: z.array(boxId).min(1),
    from: timeField,
    duration: durationField.refine((ms) => ms > 0, 'must be longer than 0 ms'),
    every: durationField.refine((ms) => ms > 0, 'must be longer than 0 ms').optional(),
    ...values,
  })
  .strict();

/** A stored range instead of declared measurements. */
const storedRange = z.object({ store: z.string().min(1), from: timeField, to: timeField, boxes: z.array(boxId).optional() }).strict();

const triggerTypes = z.enum(['FREQUENCY_SAG', 'FREQUENCY_SWELL', 'VOLTAGE_SAG', 'VOLTAGE_SWELL', 'OTHER']);

/** An expected request: only the fields written are compared. */
export const expectedRequestSchema = z
  .object({
    triggerType: triggerTypes.optional(),
    boxIds: z.array(boxId).optional(),
    startTimestampMsUtc: timeField.optional(),
    endTimestampMsUtc: timeField.optional(),
    percentMagnitude: z.number().finite().optional(),
    requestData: z.boolean().optional(),
    requestee: z.string().optional(),
    description: z.string().optional(),
    /** `acquisition` (default topology: to the broker) or `shadow` (a shadow plugin's, to the shadow log). */
    via: z.enum(['acquisition', 'shadow']).optional(),
  })
  .strict();

export const testScenarioSchema = z
  .object({
    description: z.string().optional(),
    /** A makai.json or topology module, relative to the scenario file; default the default topology. */
    config: z.string().min(1).optional(),
    measurements: z.array(z.union([measurementRun, singleMeasurement])).min(1).optional(),
    stored: storedRange.optional(),
    expect: z.array(expectedRequestSchema),
    /** How far a replayed time may be from an expected one and still match (default 0). */
    timeTolerance: durationField.default(0),
    /** How far a percentMagnitude may be from the expected one (default 0.05 percentage points). */
    magnitudeTolerance: z.number().min(0).default(0.05),
  })
  .strict()
  .refine((scenario) => (scenario.measurements === undefined) !== (scenario.stored === undefined), {
    message: 'give either "measurements" or "stored", not both and not neither',
    path: ['measurements'],
  });

export type TestScenario = z.output<typeof testScenarioSchema>;
export type ExpectedRequest = z.output<typeof expectedRequestSchema>;
export type ScenarioMeasurement = NonNullable<TestScenario['measurements']>[number];
