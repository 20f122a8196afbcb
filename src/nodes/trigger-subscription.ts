import { z } from 'zod';
import { defineSource } from './component.js';
import { checkOptions } from '../config/check-options.js';
import { endpointField } from '../config/zod-fields.js';
import { zmqSubscriber } from '../sources/zmq-subscriber.js';
import type { CurveClientOptions, ZmqFrames } from '../sources/zmq-socket-options.js';

export interface TriggerSubscriptionOptions {
  /** The triggering broker's backend (XPUB), e.g. `tcp://127.0.0.1:9881`. */
  readonly endpoint: string;
  /** Box ids (decimal topic prefixes) to receive; default all. */
  readonly boxes?: readonly string[];
  /** CURVE keys when the broker's backend is encrypted. */
  readonly curve?: CurveClientOptions;
}

const optionsSchema = z
  .object({
    endpoint: endpointField,
    boxes: z.array(z.string().regex(/^\d+$/, 'a box id is decimal digits')).optional(),
    curve: z
      .object({ role: z.literal('client'), serverPublicKey: z.string().length(40), publicKey: z.string().length(40), secretKey: z.string().length(40) })
      .strict()
      .optional(),
  })
  .strict();

/** The box measurement stream: SUB to the triggering broker, multipart `[box id, TriggerMessage]` frames. */
export const triggerSubscription = defineSource<TriggerSubscriptionOptions, z.output<typeof optionsSchema>, never, ZmqFrames>({
  kind: 'trigger-subscription',
  summary: 'SUB to the triggering broker: [box id, TriggerMessage] frames',
  resources: [],
  validate: (options) => checkOptions(optionsSchema, options),
  create: (options, context) =>
    zmqSubscriber({
      endpoint: options.endpoint,
      topics: options.boxes ? [...options.boxes] : [''],
      metrics: context.metrics,
      ...(options.curve ? { curve: options.curve } : {}),
    }),
});
