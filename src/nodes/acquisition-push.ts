import { ignoreElements, map, tap } from 'rxjs';
import { z } from 'zod';
import { defineSink } from './component.js';
import { checkOptions } from '../config/check-options.js';
import { endpointField } from '../config/zod-fields.js';
import { encodeRequestEventMessage } from '../protocol/codec.js';
import type { RequestEventMessage } from '../protocol/messages.js';
import { zmqPusher } from '../sinks/zmq-pusher.js';

export interface AcquisitionPushOptions {
  /** The acquisition broker's `backend_pull`, e.g. `tcp://127.0.0.1:9884`. */
  readonly endpoint: string;
}

const optionsSchema = z.object({ endpoint: endpointField }).strict();

/** Event requests, encoded, PUSHed to the acquisition broker; a request that cannot be sent is counted. */
export const acquisitionPush = defineSink<AcquisitionPushOptions, z.output<typeof optionsSchema>, never, RequestEventMessage>({
  kind: 'acquisition-push',
  summary: 'RequestEventMessages PUSHed to the acquisition broker',
  resources: [],
  validate: (options) => checkOptions(optionsSchema, options),
  create: (options, context) => (input) =>
    input.pipe(
      tap((request) => context.logger.info('requesting event', { ...request })),
      map(encodeRequestEventMessage),
      // The connection gauge tells whether a request can wait for a broker that is down (docs/reliability.md).
      zmqPusher({ endpoint: options.endpoint, metrics: context.metrics, countConnections: true }),
      tap((receipt) => {
        if (!receipt.sent) context.logger.warn('event request dropped (counted)', { reason: receipt.reason });
      }),
      ignoreElements(),
    ),
});
