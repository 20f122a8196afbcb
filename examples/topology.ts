/**
 * An example topology, written outside the Makai repository: the box stream decoded, stored and
 * trended as in the default topology, with two detectors: our own plugin
 * (`plugins/sustained-sag.ts`) for moderate sags that last, and the built-in threshold plugin for
 * severe voltage excursions (±20 %) and frequency or THD out of limits.
 * Run it with `npx makai run topology.ts`.
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
  trendStore,
  trends,
  triggerSubscription,
} from 'makai';

const trigger = process.env['MAKAI_TRIGGER_ENDPOINT'] ?? 'tcp://127.0.0.1:9881';
const acquisition = process.env['MAKAI_ACQUISITION_ENDPOINT'] ?? 'tcp://127.0.0.1:9884';

export default defineTopology('sustained-sags', ({ source, pipe, merge, sink }) => {
  const measurements = pipe('decode', source('trigger', triggerSubscription({ endpoint: trigger })), decodeTriggers());
  sink('box-liveness', measurements, boxLiveness());
  sink('measurement-store', measurements, measurementStore({ ttl: '24h' }));

  const windows = pipe('trends', measurements, trends({ window: '1m' }));
  sink('trend-store', windows, trendStore());

  const requests = merge('plugins', [
    pipe('sustained-sag', measurements, plugin({ path: './plugins/sustained-sag.ts', sagPercent: 10, minMessages: 3 })),
    pipe('threshold', measurements, plugin({ plugin: 'threshold', voltagePercent: 20 })),
  ]);
  const fresh = pipe('dedupe', requests, dedupe({ expiration: '30m' }));
  sink('acquisition', fresh, acquisitionPush({ endpoint: acquisition }));

  sink('dead-letters', merge('refused', [measurements.rejections, windows.late, fresh.rejections]), deadLetters());
});
