import { map, tap } from 'rxjs';
import { z } from 'zod';
import { defineSink } from './component.js';
import { checkOptions } from '../config/check-options.js';
import type { ShadowRequestDoc } from '../protocol/documents.js';
import type { RequestEventMessage } from '../protocol/messages.js';
import { storeWriter } from '../sinks/store-writer.js';

export interface ShadowLogOptions {
  /** The shadow plugin whose requests these are (its instance name), stored with each. */
  readonly plugin: string;
}

const optionsSchema = z.object({ plugin: z.string().trim().min(1, 'must be a non-empty string') }).strict();

/**
 * Where a shadow plugin's requests end instead of the broker: each is counted
 * (`makai_shadow_requests_total{plugin}`), logged, and kept in the store's `shadow_requests`
 * (`makai shadow list`), so a rule can run live on real traffic without asking any box for
 * data. Writes retry with back-off while the store is down; written out on stop.
 */
export const shadowLog = defineSink<ShadowLogOptions, z.output<typeof optionsSchema>, 'store', RequestEventMessage>({
  kind: 'shadow-log',
  summary: "a shadow plugin's requests: counted and kept in shadow_requests, never sent",
  resources: ['store'],
  validate: (options) => checkOptions(optionsSchema, options),
  create: (options, context) => {
    const counted = context.metrics.counter('makai_shadow_requests_total', 'Event requests of shadow plugins, logged instead of sent', ['plugin']);
    const write = storeWriter<ShadowRequestDoc>({
      name: 'shadow_requests',
      write: (batch) => context.store.insertShadowRequests(batch),
      maxQueuedItems: 10_000,
      overflow: 'drop-oldest',
      scheduler: context.scheduler,
      logger: context.logger,
      metrics: context.metrics,
    });
    return (input) =>
      input.pipe(
        tap((request) => {
          counted.inc({ plugin: options.plugin });
          context.logger.info('shadow plugin request (logged, not sent)', { plugin: options.plugin, type: request.triggerType, boxes: request.boxIds });
        }),
        map((request) => [shadowRequestDoc(options.plugin, request, context.scheduler.now())]),
        write,
      );
  },
});

/** The `shadow_requests` document of one request. */
export function shadowRequestDoc(plugin: string, request: RequestEventMessage, atMs: number): ShadowRequestDoc {
  return {
    plugin,
    at_ms: Math.round(atMs),
    type: request.triggerType,
    boxes: request.boxIds.map(String),
    start_ms: request.startTimestampMsUtc,
    end_ms: request.endTimestampMsUtc,
    percent_magnitude: request.percentMagnitude,
    requestee: request.requestee,
    description: request.description,
    request_data: request.requestData,
  };
}
