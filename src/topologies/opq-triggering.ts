import type { MakaiSettings } from '../config/makai-settings.js';
import {
  acquisitionPush,
  decodeTriggers,
  dedupe,
  measurementStore,
  plugin,
  triggerSubscription,
  trendStore,
  trends,
} from '../registry.js';
import { boxLiveness } from '../observability/box-liveness-sink.js';
import { defineTopology, type Topology } from '../topology.js';

/**
 * The original triggering service (spec §5) as a topology:
 *
 * ```
 * trigger SUB ─► decode ─┬─► box liveness                 (per-box last seen, for /health)
 *                        ├─► measurement store            (batched, 24 h TTL)
 *                        ├─► trends ─► trend store         (1-minute event-time windows)
 *                        └─► plugin… ─► dedupe ─► acquisition PUSH
 * ```
 *
 * The original JSON config (`makai.json`) maps onto it field by field.
 */
export function opqTriggeringTopology(settings: MakaiSettings, configFile?: string): Topology {
  return defineTopology('opq-triggering', ({ source, pipe, merge, sink }) => {
    const frames = source('trigger', triggerSubscription({ endpoint: settings.zmq_trigger_endpoint }));
    const measurements = pipe('decode', frames, decodeTriggers());
    sink('box-liveness', measurements, boxLiveness());

    sink(
      'measurement-store',
      measurements,
      measurementStore({
        ttlMs: settings.mongo_measurement_expiration_seconds * 1000,
        batchSize: settings.measurement_batch_size,
        flushMs: settings.measurement_flush,
      }),
    );

    const windows = pipe('trends', measurements, trends({ windowMs: settings.mongo_trends_update_interval_seconds * 1000, graceMs: settings.trend_grace }));
    sink('trend-store', windows, trendStore());

    if (settings.plugins.length > 0) {
      const requests = merge(
        'plugins',
        settings.plugins.map((entry, index) => pipe(`plugin-${index}`, measurements, plugin(entry, { field: `plugins[${index}]`, ...(configFile ? { file: configFile } : {}) }))),
      );
      const fresh = pipe('dedupe', requests, dedupe({ expirationMs: settings.event_request_expiration_window_ms }));
      sink('acquisition', fresh, acquisitionPush({ endpoint: settings.zmq_acquisition_endpoint }));
    }
  });
}
