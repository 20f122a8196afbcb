/**
 * The default Makai topology, written out as a file to copy and edit: `makai run config/topology.ts`.
 * It is the original triggering service (spec §5) with the original's shipped settings, plus the
 * built-in threshold plugin (the original shipped none that worked).
 */
import { defineTopology } from '../src/topology.js';
import {
  acquisitionPush,
  decodeTriggers,
  dedupe,
  measurementStore,
  plugin,
  trendStore,
  trends,
  triggerSubscription,
} from '../src/registry.js';

export default defineTopology('opq-triggering', ({ source, pipe, merge, sink }) => {
  const frames = source('trigger', triggerSubscription({ endpoint: 'tcp://127.0.0.1:9881' }));
  const measurements = pipe('decode', frames, decodeTriggers());

  sink('measurement-store', measurements, measurementStore({ ttlMs: 24 * 3_600_000, batchSize: 1000, flushMs: 1000 }));

  const windows = pipe('trends', measurements, trends({ windowMs: 60_000, graceMs: 5_000 }));
  sink('trend-store', windows, trendStore());

  const requests = merge('plugins', [
    pipe('threshold', measurements, plugin({ plugin: 'threshold', voltagePercent: 5, frequencyPercent: 0.5, thdPercent: 5 }, { field: 'threshold' })),
  ]);
  const fresh = pipe('dedupe', requests, dedupe({ expirationMs: 1_800_000 }));
  sink('acquisition', fresh, acquisitionPush({ endpoint: 'tcp://127.0.0.1:9884' }));
});
