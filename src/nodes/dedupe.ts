import { z } from 'zod';
import { defineStage } from './component.js';
import { checkOptions } from '../config/check-options.js';
import { durationField } from '../config/zod-fields.js';
import type { DurationInput } from '../core/duration.js';
import { dedupeRequests } from '../operators/dedupe-requests.js';
import type { RequestEventMessage } from '../protocol/messages.js';

export interface DedupeOptions {
  /** How long a requested interval is remembered (`'30m'`, the original `event_request_expiration_window_ms`). Default 30 minutes. */
  readonly expiration?: DurationInput;
}

const optionsSchema = z
  .object({ expiration: durationField.refine((ms) => ms > 0, 'must be longer than 0 ms').default('30m') })
  .strict();

/** Drops event requests whose interval and boxes are already covered (spec §5.6, without its bugs). */
export const dedupe = defineStage<DedupeOptions, z.output<typeof optionsSchema>, never, RequestEventMessage, RequestEventMessage>({
  kind: 'dedupe',
  summary: 'drops requests already covered by a recent one',
  resources: [],
  sideOutputs: [],
  validate: (options) => checkOptions(optionsSchema, options),
  create: (options, context) => dedupeRequests({ expirationMs: options.expiration, metrics: context.metrics, scheduler: context.scheduler }),
});
