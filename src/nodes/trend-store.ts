import { map } from 'rxjs';
import { z } from 'zod';
import { defineSink } from './component.js';
import { checkOptions } from '../config/check-options.js';
import { duration, wholeNumber } from '../config/zod-fields.js';
import type { DurationInput } from '../core/duration.js';
import { batchByCountOrTime } from '../operators/batch-by-count-or-time.js';
import { toTrendDoc, UNKNOWN_LOCATION } from '../operators/to-trend-doc.js';
import type { TrendWindow } from '../operators/trend-window.js';
import { storeWriter } from '../sinks/store-writer.js';

export interface TrendStoreOptions {
  /** Largest batch written at once. Default 500. */
  readonly batchSize?: number;
  /** Longest a closed window waits for its batch. Default `'1s'`. */
  readonly flush?: DurationInput;
}

const optionsSchema = z
  .object({
    batchSize: wholeNumber({ min: 1, max: 100_000 }).default(500),
    flush: duration({ min: '1ms', max: '1h' }).default('1s'),
  })
  .strict();

/** Closed trend windows into the store (`trends`), with the box's location from the registry. Never dropped. */
export const trendStore = defineSink<TrendStoreOptions, z.output<typeof optionsSchema>, 'store' | 'boxes', TrendWindow>({
  kind: 'trend-store',
  summary: 'closed trend windows into the store, with box locations',
  resources: ['store', 'boxes'],
  validate: (options) => checkOptions(optionsSchema, options),
  create: (options, context) => (input) =>
    input.pipe(
      map((window) => toTrendDoc(window, context.boxes.location(window.boxId) ?? UNKNOWN_LOCATION)),
      batchByCountOrTime({ maxCount: options.batchSize, maxDelayMs: options.flush, scheduler: context.scheduler }),
      storeWriter({
        name: 'trends',
        write: (docs) => context.store.insertTrends(docs),
        maxQueuedItems: Number.MAX_SAFE_INTEGER,
        overflow: 'keep',
        scheduler: context.scheduler,
        logger: context.logger,
        metrics: context.metrics,
      }),
    ),
});
