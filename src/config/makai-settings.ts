import { z } from 'zod';
import { parseListenAddress } from './listen-address.js';
import type { StoreField } from './store-choice.js';
import { duration, endpointField, portField, wholeNumber } from './zod-fields.js';

/**
 * The triggering service's settings: the original `makai.json` (spec §5.1) with documented
 * defaults for every field (the original had none), plus a few fields of our own. Unknown
 * fields are refused, so a typo is an error naming the field, not a silently ignored setting.
 */
/**
 * How a plugin is isolated from the rest of the service (the `isolation` field of a plugin
 * entry). `"in-process"` (default) runs it on the service's event loop behind `isolatePlugin`;
 * `"worker"` runs it in its own `node:worker_threads` Worker (`workerPlugin`), the only way to
 * keep a plugin that blocks synchronously (a busy loop, heavy math) from stalling storage and
 * the other plugins. The string is shorthand for `{ "mode": ... }`; the object form also tunes
 * the isolation. Consumed by the runtime: the plugin's factory never sees this field.
 */
export const pluginIsolationSchema = z.union([
  z.enum(['in-process', 'worker']).transform((mode) => ({ mode })),
  z
    .object({
      mode: z.enum(['in-process', 'worker']).default('in-process'),
      /** Most measurements waiting for the plugin; beyond it the oldest is dropped and counted. Default 1000; 1 to 1 000 000. */
      maxQueue: wholeNumber({ min: 1, max: 1_000_000 }).optional(),
      /** After the input completes, how long the plugin may take to finish before it is cut off. Default 5 s; 0 to 10 min. */
      drainTimeoutMs: duration({ min: 0, max: '10m' }).optional(),
      /** First restart delay after a failure (doubling per consecutive failure). Default 1 s; 1 ms to 1 h (0 would restart a failing plugin in a tight loop). */
      initialBackoffMs: duration({ min: '1ms', max: '1h' }).optional(),
      /** Longest restart delay. Default 60 s; 1 ms to 1 day. */
      maxBackoffMs: duration({ min: '1ms', max: '1d' }).optional(),
      /** `worker` only: measurements handed to the worker that it has not finished yet. Default 64; 1 to 10 000. */
      maxInFlight: wholeNumber({ min: 1, max: 10_000 }).optional(),
    })
    .strict(),
]);

export type PluginIsolation = z.output<typeof pluginIsolationSchema>;

export const pluginEntrySchema = z
  .object({
    /** Module path (JS/TS, relative to the config file), or an original `lib*_plugin.so` path mapped to a built-in. */
    path: z.string().min(1).optional(),
    /** A built-in plugin (`threshold`, `print`). */
    plugin: z.string().min(1).optional(),
    /** Instance name; alone, it also selects a built-in of that name. */
    name: z.string().min(1).optional(),
    /** `"in-process"` (default) or `"worker"`, or an object with `mode` and queue/back-off limits; see {@link pluginIsolationSchema}. */
    isolation: pluginIsolationSchema.optional(),
    /** Shadow mode: runs live beside the others, its requests logged (`makai shadow list`), never sent to the broker. */
    shadow: z.boolean().optional(),
  })
  // The whole object is the plugin's settings, as in the original: other fields pass through.
  .passthrough()
  .refine((entry) => entry.path !== undefined || entry.plugin !== undefined || entry.name !== undefined || entry['command'] !== undefined, {
    message: 'a plugin needs a "path" (module or .py file), a "command" (an out-of-process plugin) or a "plugin" (built-in: threshold, print)',
  });

export type PluginEntry = z.output<typeof pluginEntrySchema>;

/** `[min, max]` of finite numbers, min ≤ max. */
const rangeField = z
  .tuple([z.number().finite(), z.number().finite()])
  .refine(([min, max]) => min <= max, 'must be [min, max] with min ≤ max');

export const makaiSettingsSchema = z
  .object({
    /** SUB endpoint of the triggering broker's backend. */
    zmq_trigger_endpoint: endpointField.default('tcp://127.0.0.1:9881'),
    /** PUSH endpoint of the acquisition broker's `backend_pull`. */
    zmq_acquisition_endpoint: endpointField.default('tcp://127.0.0.1:9884'),
    /** MongoDB host; with `mongo_port` selects the MongoDB store when `store` is not given. */
    mongo_host: z.string().min(1).optional(),
    mongo_port: portField.optional(),
    /**
     * Measurement TTL in seconds (24 h); 1 s to 10 years (3650 days). Unbounded, `1e300` made
     * every `expireAt` an invalid date and every measurement was dropped.
     */
    mongo_measurement_expiration_seconds: wholeNumber({ min: 1, max: 315_360_000 }).default(86_400),
    /** Trend window length in seconds (60); 1 s to 1 day. */
    mongo_trends_update_interval_seconds: wholeNumber({ min: 1, max: 86_400 }).default(60),
    /** How long requested intervals are remembered for de-duplication, ms (30 min); 1 ms to 1 day. */
    event_request_expiration_window_ms: duration({ min: '1ms', max: '1d' }).default(1_800_000),
    plugins: z.array(pluginEntrySchema).default([]),

    // --- ours -------------------------------------------------------------------------
    /** Store URI: `sqlite:<file>` (embedded default) or `mongodb://…`. Overrides mongo_host/mongo_port. */
    store: z.string().min(1).optional(),
    /** Largest measurement batch written at once (1000); 1 to 100 000. */
    measurement_batch_size: wholeNumber({ min: 1, max: 100_000 }).default(1000),
    /** Longest a measurement waits before its batch is written (1 s); 1 ms to 1 h. */
    measurement_flush: duration({ min: '1ms', max: '1h' }).default('1s'),
    /** How long after its last message a silent box's open trend window is closed, beyond the window end (5 s); 0 to 1 day. */
    trend_grace: duration({ min: 0, max: '1d' }).default('5s'),
    /** A box timestamp further ahead of that box's clock is held as a possible outlier (trends; 1 min); 1 ms to 1 day. */
    trend_max_time_jump: duration({ min: '1ms', max: '1d' }).optional(),
    /** How many agreeing messages make a box's time jump or step back a clock change (trends; 5); 2 to 1000. */
    trend_clock_change_after: wholeNumber({ min: 2, max: 1000 }).optional(),
    /** Plausible ranges of measurements, `[min, max]`; outside is refused as `implausible`. Defaults fit 50 and 60 Hz grids. */
    plausibility: z
      .object({
        frequency_hz: rangeField.optional(),
        rms_volts: rangeField.optional(),
        thd_ratio: rangeField.optional(),
      })
      .strict()
      .optional(),
    /** How often the box registry (locations, keys) is re-read from the store (30 s); 100 ms to 1 day. */
    box_registry_refresh: duration({ min: '100ms', max: '1d' }).default('30s'),
    /** `host:port` for the Prometheus metrics and health endpoint (port 0–65535, 0 for a free one); off when absent. */
    metrics_address: z
      .string()
      .superRefine((address, ctx) => {
        // Checked here too, so a bad address is refused before the store is opened.
        try {
          parseListenAddress(address);
        } catch (error) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message.replace(/^metrics_address: /, '') });
        }
      })
      .optional(),
  })
  .strict();

export type MakaiSettings = z.output<typeof makaiSettingsSchema>;

/** Where a settings file names its store, in precedence order: `store`, then `mongo_host`/`mongo_port`. */
export function storeFieldsOf(settings: MakaiSettings): StoreField[] {
  return [
    ['store', settings.store || undefined],
    ['mongo_host', settings.mongo_host ? `mongodb://${settings.mongo_host}:${settings.mongo_port ?? 27017}` : undefined],
  ];
}

