import { Observable, concat, defer, ignoreElements, tap } from 'rxjs';
import { z } from 'zod';
import { defineSink } from './component.js';
import { checkOptions } from '../config/check-options.js';
import { duration, wholeNumber } from '../config/zod-fields.js';
import type { DurationInput } from '../core/duration.js';
import type { Rejection } from '../core/rejection.js';
import { deadLetterLog } from '../sinks/dead-letter-log.js';
import { DeadLetterStore } from '../sinks/dead-letter-store.js';

export interface DeadLettersOptions {
  /** How many of the newest refused inputs are kept (in memory and in the store's `dead_letters`). Default 1000. */
  readonly capacity?: number;
  /** Longest a dead letter waits before it is written. Default `'1s'`. */
  readonly flush?: DurationInput;
  /** At most this many log lines per source and reason per minute; the rest are only counted. Default 10. */
  readonly logsPerMinute?: number;
}

const optionsSchema = z
  .object({
    capacity: wholeNumber({ min: 1, max: 1_000_000 }).default(1000),
    flush: duration({ min: '1ms', max: '1h' }).default('1s'),
    logsPerMinute: wholeNumber({ min: 0, max: 10_000 }).default(10),
  })
  .strict();

/**
 * Where refused input ends: every rejection is counted by source and reason
 * (`makai_rejected_total`), logged at a bounded rate, and the newest `capacity` are kept in the
 * store's `dead_letters` (`makai deadletters` lists them). Written out once more on stop.
 */
export const deadLetters = defineSink<DeadLettersOptions, z.output<typeof optionsSchema>, 'store', Rejection>({
  kind: 'dead-letters',
  summary: 'refused input counted, logged and kept in dead_letters',
  resources: ['store'],
  validate: (options) => checkOptions(optionsSchema, options),
  create: (options, context) => (input) =>
    new Observable<unknown>((subscriber) => {
      const { scheduler, logger, metrics } = context;
      const kept = new DeadLetterStore({ store: context.store, capacity: options.capacity, flushMs: options.flush, scheduler, logger, metrics });
      const log = deadLetterLog({ logger, metrics, scheduler, maxLogsPerInterval: options.logsPerMinute, intervalMs: 60_000, keep: kept.keep });
      return concat(input.pipe(tap((rejection) => log.next(rejection))), defer(() => kept.close()))
        .pipe(ignoreElements())
        .subscribe(subscriber);
    }),
});
