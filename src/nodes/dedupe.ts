import { z } from 'zod';
import { defineStage } from './component.js';
import { checkOptions } from '../config/check-options.js';
import { duration } from '../config/zod-fields.js';
import type { DurationInput } from '../core/duration.js';
import type { Rejection } from '../core/rejection.js';
import { dedupeRequests } from '../operators/dedupe-requests.js';
import type { RequestEventMessage } from '../protocol/messages.js';

export interface DedupeOptions {
  /** How long a requested interval is remembered (`'30m'`, the original `event_request_expiration_window_ms`). Default 30 minutes. */
  readonly expiration?: DurationInput;
}

const optionsSchema = z
  .object({ expiration: duration({ min: '1ms', max: '7d' }).default('30m') })
  .strict();

/**
 * Decides which event requests ask the boxes for waveforms (spec §5.6, without its bugs): every
 * valid request is forwarded, and one whose whole interval was already requested recently goes
 * with `requestData: false`. It never merges requests: grouping boxes into one event is the
 * plugin's. A request with an impossible interval goes to the `rejections` side output.
 */
export const dedupe = defineStage<DedupeOptions, z.output<typeof optionsSchema>, never, RequestEventMessage, RequestEventMessage, { rejections: Rejection }>({
  kind: 'dedupe',
  summary: 'requestData off for intervals already requested; impossible intervals to .rejections',
  resources: [],
  sideOutputs: ['rejections'],
  validate: (options) => checkOptions(optionsSchema, options),
  create: (options, context) =>
    dedupeRequests({
      expirationMs: options.expiration,
      metrics: context.metrics,
      scheduler: context.scheduler,
      rejected: {
        next: ({ request }) =>
          context.outputs.rejections.next({
            source: context.id,
            reason: 'out-of-range',
            detail: `event request with an impossible interval [${request.startTimestampMsUtc}, ${request.endTimestampMsUtc}] from ${request.requestee || 'a plugin'}`,
            preview: '',
            atMs: context.scheduler.now(),
          }),
      },
    }),
});
