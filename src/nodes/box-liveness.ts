import { Observable, concat, defer, ignoreElements, tap } from 'rxjs';
import { z } from 'zod';
import { defineSink } from './component.js';
import { checkOptions } from '../config/check-options.js';
import { duration } from '../config/zod-fields.js';
import type { DurationInput } from '../core/duration.js';
import { persistBoxLiveness } from '../observability/box-liveness-persister.js';
import type { TriggerMessage } from '../protocol/messages.js';

export interface BoxLivenessOptions {
  /** How often changed box statuses are written to the store's `box_status`; 0: never. Default `'10s'`. */
  readonly persistEvery?: DurationInput;
}

const optionsSchema = z.object({ persistEvery: duration({ min: 0, max: '1h' }).default('10s') }).strict();

/**
 * Per-box last seen from the decoded measurements (box id, box time, receipt time from the
 * scheduler), for `/health`, `makai status` and `makai_box_last_seen_seconds{box}`; written to
 * `box_status` every `persistEvery` and once more on stop. One Map update per message, nothing awaited.
 */
export const boxLiveness = defineSink<BoxLivenessOptions, z.output<typeof optionsSchema>, 'liveness' | 'store', TriggerMessage>({
  kind: 'box-liveness',
  summary: 'per-box last seen, for /health, written to box_status',
  resources: ['liveness', 'store'],
  validate: (options) => checkOptions(optionsSchema, options),
  create: (options, context) => (input) =>
    new Observable<unknown>((subscriber) => {
      const { liveness, scheduler } = context;
      const persister =
        options.persistEvery > 0
          ? persistBoxLiveness({ liveness, store: context.store, scheduler, logger: context.logger, everyMs: options.persistEvery })
          : undefined;
      const recorded = input.pipe(
        tap((message) => liveness.recordMeasurement(String(message.id), message.time, scheduler.now())),
        ignoreElements(),
      );
      // The last statuses are written after the input ends, before the sink reports done.
      return concat(recorded, defer(async () => persister?.stop())).pipe(ignoreElements()).subscribe(subscriber);
    }),
});
