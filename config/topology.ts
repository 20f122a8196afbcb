/**
 * The default Makai topology: the original triggering service (spec §5) as a block diagram.
 * `makai run` with no file runs it; `makai run makai.json` maps the original JSON config onto
 * its options; copy it and edit it to make your own (`makai run my-topology.ts`).
 *
 * ```
 * trigger SUB ─► decode ─┬─► box liveness                  (per-box last seen, for /health)
 *                        ├─► measurement store             (batched, 24 h TTL, expiry sweep)
 *                        ├─► trends ─► trend store          (1-minute event-time windows)
 *                        ├─► plugin… ─► dedupe ─► acquisition PUSH
 *                        └─► shadow plugin ─► shadow log   (logged, counted, never sent)
 * decode.rejections + trends.late + dedupe.rejections ─► dead letters  (counted, logged, kept)
 * ```
 */
import {
  acquisitionPush,
  boxLiveness,
  deadLetters,
  decodeTriggers,
  dedupe,
  defineTopology,
  measurementStore,
  plugin,
  pluginInstanceName,
  shadowLog,
  trendStore,
  trends,
  triggerSubscription,
  type OpqTriggeringOptions,
  type Topology,
} from 'makai';

export function opqTriggering(options: OpqTriggeringOptions = {}): Topology {
  const plugins = options.plugins ?? [{ plugin: 'threshold' }];
  return defineTopology('opq-triggering', ({ source, pipe, merge, sink }) => {
    const refused = [];
    const frames = source('trigger', triggerSubscription({ endpoint: options.triggerEndpoint ?? 'tcp://127.0.0.1:9881' }));
    const measurements = pipe('decode', frames, decodeTriggers(options.decode));
    sink('box-liveness', measurements, boxLiveness());
    sink('measurement-store', measurements, measurementStore(options.measurements));

    const windows = pipe('trends', measurements, trends(options.trends));
    sink('trend-store', windows, trendStore());
    refused.push(measurements.rejections, windows.late);

    // A shadow plugin (`"shadow": true`) runs beside the others; its requests are only logged.
    const entries = plugins.map((entry, index) => ({ entry, index }));
    for (const { entry, index } of entries.filter(({ entry }) => entry.shadow === true)) {
      const requests = pipe(`plugin-${index}`, measurements, plugin(entry), options.pluginOrigins?.[index]);
      sink(`shadow-log-${index}`, requests, shadowLog({ plugin: pluginInstanceName(entry) }));
    }
    const live = entries.filter(({ entry }) => entry.shadow !== true);
    if (live.length > 0) {
      const requests = merge(
        'plugins',
        live.map(({ entry, index }) => pipe(`plugin-${index}`, measurements, plugin(entry), options.pluginOrigins?.[index])),
      );
      const fresh = pipe('dedupe', requests, dedupe({ expiration: options.requestExpiration ?? '30m' }));
      sink('acquisition', fresh, acquisitionPush({ endpoint: options.acquisitionEndpoint ?? 'tcp://127.0.0.1:9884' }));
      refused.push(fresh.rejections);
    }

    sink('dead-letters', merge('refused', refused), deadLetters());
  });
}

export default opqTriggering();
