import { Observable } from 'rxjs';
import { z } from 'zod';
import { defineSource } from './component.js';
import { checkOptions } from '../config/check-options.js';
import { isReplayClock } from '../core/replay-clock.js';
import { isValidBoxId } from '../protocol/box-id.js';
import type { MeasurementDoc } from '../protocol/documents.js';
import type { TriggerMessage } from '../protocol/messages.js';

export interface StoredMeasurementsOptions {
  /** First box time to read (ms since the epoch or ISO-8601), inclusive. */
  readonly from: number | string;
  /** Box time to stop at (ms or ISO-8601), exclusive. */
  readonly to: number | string;
  /** Only these boxes (decimal ids); default every box. */
  readonly boxes?: readonly string[];
  /** Documents per store read (default the store's, 5000). */
  readonly pageSize?: number;
  /** Called after each measurement is fed (count so far, its box time): progress bars, benches. Not for JSON configs. */
  readonly onProgress?: (fed: number, timeMs: number) => void;
}

const timeField = z.union([
  z.number().int('must be whole ms since the epoch'),
  z.string().transform((text, ctx) => {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${text}" is not an ISO-8601 time` });
    return ms;
  }),
]);

const optionsSchema = z
  .object({
    from: timeField,
    to: timeField,
    boxes: z.array(z.string().regex(/^\d+$/, 'a box id is decimal digits')).optional(),
    pageSize: z.number().int().min(1).optional(),
    // Checked as a function, not wrapped (z.function() would wrap it with a per-call check).
    onProgress: z.custom<(fed: number, timeMs: number) => void>((value) => typeof value === 'function', 'must be a function').optional(),
  })
  .strict()
  .refine((options) => options.to > options.from, { message: 'must be after from', path: ['to'] });

type Checked = z.output<typeof optionsSchema>;

/**
 * The replay source: the stored `measurements` of a time range, oldest first, as the trigger
 * messages they were stored from, read through the store's cursor (never the whole range in
 * memory). When the topology runs on a {@link ReplayClock} it drives that clock: before each
 * measurement it runs the timers due up to the measurement's box time, and after it what the
 * measurement scheduled for now (a plugin queue's drain), so downstream operators see the
 * recording's time. Feeding waits for the stages to take each measurement (the stages are
 * synchronous on a replay clock), so memory stays flat however long the range.
 *
 * At the end it runs the timers due up to `to`, then completes. A document that cannot be a
 * trigger message (a box id that is not a valid int32) is skipped, counted in
 * `makai_replay_skipped_total` and logged once.
 */
export const storedMeasurements = defineSource<StoredMeasurementsOptions, Checked, 'store', TriggerMessage>({
  kind: 'stored-measurements',
  summary: 'stored measurements of a time range, oldest first (replay), driving a replay clock',
  resources: ['store'],
  validate: (options) => checkOptions(optionsSchema, options),
  create: (options, context) =>
    new Observable<TriggerMessage>((subscriber) => {
      const clock = isReplayClock(context.scheduler) ? context.scheduler : undefined;
      const skippedTotal = context.metrics.counter('makai_replay_skipped_total', 'Stored measurements a replay could not feed (a box id that is not a valid int32)', ['node']);
      let skipped = 0;
      // Counted every time, logged once: one bad row is usually many.
      const skip = (doc: MeasurementDoc) => {
        skippedTotal.inc({ node: context.id });
        if (skipped++ === 0) context.logger.warn('skipping stored measurements whose box id is not a valid int32 box id', { box_id: doc.box_id, timestamp_ms: doc.timestamp_ms });
      };
      let stopped = false;
      const feed = async () => {
        // ix is loaded here, at the first replay, not with the registry: every `makai run` would
        // otherwise carry it (about 25 MB of RSS) for a source it never uses.
        const [{ from: fromAsync }, { map }] = await Promise.all([import('ix/asynciterable'), import('ix/asynciterable/operators')]);
        const pages = fromAsync(
          context.store.streamMeasurements({
            fromMs: options.from,
            toMs: options.to,
            ...(options.boxes ? { boxes: options.boxes } : {}),
            ...(options.pageSize ? { pageSize: options.pageSize } : {}),
          }),
        ).pipe(map((docs: readonly MeasurementDoc[]) => triggerMessagesOf(docs, skip)));
        let fed = 0;
        // One asynchronous step per page; within a page, measurements are fed synchronously.
        for await (const page of pages) {
          for (const message of page) {
            if (stopped) return;
            clock?.advanceTo(message.time);
            subscriber.next(message);
            clock?.advanceTo(message.time);
            fed += 1;
            options.onProgress?.(fed, message.time);
          }
        }
        if (stopped) return;
        clock?.advanceTo(options.to);
        subscriber.complete();
        // What completing scheduled (a plugin queue's last drain, a final flush).
        clock?.advanceTo(options.to);
      };
      feed().catch((error: unknown) => subscriber.error(error));
      return () => {
        stopped = true;
      };
    }),
});

/** The trigger messages of a page of documents; one whose box id is not a valid int32 goes to `skip`. */
function triggerMessagesOf(docs: readonly MeasurementDoc[], skip: (doc: MeasurementDoc) => void): TriggerMessage[] {
  const messages: TriggerMessage[] = [];
  for (const doc of docs) {
    if (/^\d+$/.test(doc.box_id) && isValidBoxId(Number(doc.box_id))) messages.push(triggerMessageOf(doc));
    else skip(doc);
  }
  return messages;
}

/** The trigger message a `measurements` document was stored from (spec §4.1, read backwards). */
function triggerMessageOf(doc: MeasurementDoc): TriggerMessage {
  // Two literals rather than a conditional spread: this runs for every measurement replayed.
  return doc.thd === undefined
    ? { id: Number(doc.box_id), time: doc.timestamp_ms, frequency: doc.frequency, rms: doc.voltage }
    : { id: Number(doc.box_id), time: doc.timestamp_ms, frequency: doc.frequency, rms: doc.voltage, thd: doc.thd };
}
