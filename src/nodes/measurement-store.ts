import { Observable, finalize, type Subscription } from 'rxjs';
import { z } from 'zod';
import { defineSink } from './component.js';
import { checkOptions } from '../config/check-options.js';
import { duration, retention, wholeNumber } from '../config/zod-fields.js';
import { describeError } from '../core/errors.js';
import type { DurationInput } from '../core/duration.js';
import { batchByCountOrTime } from '../operators/batch-by-count-or-time.js';
import { toMeasurementDocs } from '../operators/to-measurement-doc.js';
import type { TriggerMessage } from '../protocol/messages.js';
import { storeWriter } from '../sinks/store-writer.js';

export interface MeasurementStoreOptions {
  /** How long measurements are kept (`expireAt` = receipt time + ttl; the original's 24 h). Default `'24h'`. */
  readonly ttl?: DurationInput;
  /** Largest batch written at once. Default 1000. */
  readonly batchSize?: number;
  /** Longest a measurement waits for its batch. Default `'1s'`. */
  readonly flush?: DurationInput;
  /** Most measurements held while the store is down before the oldest are dropped (counted). Default 1,000,000. */
  readonly maxQueued?: number;
  /** How often expired measurements are deleted (stores without a TTL index, SQLite); 0 turns it off. Default `'1m'`. */
  readonly expirySweep?: DurationInput;
}

const optionsSchema = z
  .object({
    ttl: retention({ min: '1s', max: '3650d' }).default('24h'),
    batchSize: wholeNumber({ min: 1, max: 100_000 }).default(1000),
    flush: duration({ min: '1ms', max: '1h' }).default('1s'),
    maxQueued: wholeNumber({ min: 1, max: 100_000_000 }).default(1_000_000),
    expirySweep: duration({ min: 0, max: '1d' }).default('1m'),
  })
  .strict();

/**
 * Measurements into the store (`measurements`) in bounded batches, flushed by a timer and on
 * stop; expired ones are swept on the scheduler while the node runs.
 */
export const measurementStore = defineSink<MeasurementStoreOptions, z.output<typeof optionsSchema>, 'store', TriggerMessage>({
  kind: 'measurement-store',
  summary: 'measurements into the store in batches, expired ones swept',
  resources: ['store'],
  validate: (options) => checkOptions(optionsSchema, options),
  create: (options, context) => (input) => {
    const { store, scheduler, logger } = context;
    const written = input.pipe(
      toMeasurementDocs({ ttlMs: options.ttl, scheduler }),
      batchByCountOrTime({ maxCount: options.batchSize, maxDelayMs: options.flush, scheduler }),
      storeWriter({
        name: 'measurements',
        write: (docs) => store.insertMeasurements(docs),
        maxQueuedItems: options.maxQueued,
        overflow: 'drop-oldest',
        scheduler,
        logger,
        metrics: context.metrics,
      }),
    );
    if (options.expirySweep === 0) return written;
    return new Observable<unknown>((subscriber) => {
      let sweep: Subscription | undefined;
      const sweepExpired = (): void => {
        sweep = scheduler.schedule(() => {
          store.deleteExpiredMeasurements(new Date(scheduler.now())).then(
            (deleted) => deleted > 0 && logger.debug('deleted expired measurements', { deleted }),
            (error: unknown) => logger.warn('could not delete expired measurements', { error: describeError(error) }),
          ).finally(() => sweep && sweepExpired());
        }, options.expirySweep);
      };
      sweepExpired();
      const subscription = written
        .pipe(
          finalize(() => {
            const timer = sweep;
            sweep = undefined;
            timer?.unsubscribe();
          }),
        )
        .subscribe(subscriber);
      return subscription;
    });
  },
});
