import { z } from 'zod';
import { defineStage } from './component.js';
import { checkOptions } from '../config/check-options.js';
import { duration, wholeNumber } from '../config/zod-fields.js';
import type { DurationInput } from '../core/duration.js';
import type { Rejection } from '../core/rejection.js';
import { trendWindow, type TrendWindow } from '../operators/trend-window.js';
import { DEFAULT_CLOCK_CHANGE_AFTER, DEFAULT_MAX_TIME_JUMP_MS } from '../operators/trend-window-assigner.js';
import type { TriggerMessage } from '../protocol/messages.js';

export interface TrendsOptions {
  /** Window length (`'1m'`, the original `mongo_trends_update_interval_seconds`). Default 1 minute. */
  readonly window?: DurationInput;
  /** How long past its window end a silent box's window waits for more data before it closes. Default 5 s. */
  readonly grace?: DurationInput;
  /** A box time further ahead of its box's clock than this is held as a possible outlier. Default 1 minute. */
  readonly maxTimeJump?: DurationInput;
  /** How many agreeing messages make a jump (or a step back) a clock change. Default 5. */
  readonly clockChangeAfter?: number;
}

const optionsSchema = z
  .object({
    window: duration({ min: '1s', max: '1d' }).default('1m'),
    grace: duration({ min: 0, max: '1d' }).default('5s'),
    maxTimeJump: duration({ min: '1ms', max: '1d' }).default(DEFAULT_MAX_TIME_JUMP_MS),
    clockChangeAfter: wholeNumber({ min: 2, max: 1000 }).default(DEFAULT_CLOCK_CHANGE_AFTER),
  })
  .strict();

/**
 * Per-box 1-minute (or `window`) trends in event time: min, max and average of V, f and THD.
 * A lone timestamp far from its box's clock does not move it (see `trendWindow`); messages too
 * late for their window, or outliers, go to the `late` side output, as rejections.
 */
export const trends = defineStage<TrendsOptions, z.output<typeof optionsSchema>, never, TriggerMessage, TrendWindow, { late: Rejection }>({
  kind: 'trends',
  summary: 'per-box event-time trend windows; late messages to .late',
  resources: [],
  sideOutputs: ['late'],
  validate: (options) => checkOptions(optionsSchema, options),
  create: (options, context) =>
    trendWindow({
      windowMs: options.window,
      graceMs: options.grace,
      maxTimeJumpMs: options.maxTimeJump,
      clockChangeAfter: options.clockChangeAfter,
      late: {
        next: (message) =>
          context.outputs.late.next({
            source: context.id,
            reason: message.reason,
            detail: `refused by the trend windows of box ${message.boxId} (${message.reason})`,
            preview: '',
            atMs: context.scheduler.now(),
          }),
      },
      metrics: context.metrics,
      scheduler: context.scheduler,
    }),
});
