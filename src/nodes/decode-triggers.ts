import { z } from 'zod';
import { defineStage } from './component.js';
import { checkOptions } from '../config/check-options.js';
import { retention, wholeNumber } from '../config/zod-fields.js';
import type { DurationInput } from '../core/duration.js';
import type { Rejection } from '../core/rejection.js';
import { decodeTrigger } from '../operators/decode-trigger.js';
import { resolvePlausibility, type PlausibilityBounds } from '../operators/plausibility.js';
import type { TriggerMessage } from '../protocol/messages.js';
import type { ZmqFrames } from '../sources/zmq-socket-options.js';

export interface DecodeTriggersOptions {
  /** Largest accepted frame in bytes; larger is refused as `frame-too-large`. Default 4096. */
  readonly maxFrameBytes?: number;
  /** Largest distance between a box timestamp and now, either way (`'7d'`); further is `out-of-range`. Default 7 days. */
  readonly maxClockSkew?: DurationInput;
  /** Accepted ranges of frequency (Hz), RMS (V) and THD (ratio); outside is `implausible`. Defaults fit 50 and 60 Hz grids. */
  readonly plausibility?: PlausibilityBounds;
}

const range = z.tuple([z.number(), z.number()]);

const optionsSchema = z
  .object({
    maxFrameBytes: wholeNumber({ min: 16, max: 1 << 20 }).optional(),
    maxClockSkew: retention({ min: '1s', max: '3650d' }).optional(),
    plausibility: z
      .object({ frequencyHz: range.optional(), rmsVolts: range.optional(), thdRatio: range.optional() })
      .strict()
      .optional()
      .transform((bounds) => resolvePlausibility(bounds)),
  })
  .strict();

/**
 * Frames → TriggerMessages. Refused frames (malformed, too large, a box id that is no box id,
 * a timestamp too far from now, an implausible value) go to the `rejections` side output with
 * a reason and their first bytes (connect it to `deadLetters()`).
 */
export const decodeTriggers = defineStage<DecodeTriggersOptions, z.output<typeof optionsSchema>, never, ZmqFrames, TriggerMessage, { rejections: Rejection }>({
  kind: 'decode-triggers',
  summary: 'frames to TriggerMessages; refused frames to .rejections',
  resources: [],
  sideOutputs: ['rejections'],
  validate: (options) => checkOptions(optionsSchema, options),
  create: (options, context) =>
    decodeTrigger({
      ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
      ...(options.maxClockSkew === undefined ? {} : { maxClockSkewMs: options.maxClockSkew }),
      plausibility: options.plausibility,
      rejected: context.outputs.rejections,
      scheduler: context.scheduler,
      source: context.id,
    }),
});
