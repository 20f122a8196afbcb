import type { ScenarioMeasurement } from '../config/test-scenario.js';
import type { MeasurementDoc } from '../protocol/documents.js';

/** What boxes send: one trigger message per 10 cycles at 60 Hz. */
const BOX_PERIOD_MS = 1000 / 6;

/**
 * The measurement documents a scenario declares, oldest first: a run gives one per box every
 * `every` (default 1/6 s) over `[from, from + duration)`, at whole ms.
 *
 * @param expireAt The documents' `expireAt` (the replay does not read it).
 */
export function scenarioMeasurements(declared: readonly ScenarioMeasurement[], expireAt: Date): MeasurementDoc[] {
  const docs: MeasurementDoc[] = [];
  const push = (box: number, time: number, values: { rms: number; frequency: number; thd?: number | undefined }) =>
    docs.push({
      box_id: String(box),
      timestamp_ms: time,
      voltage: values.rms,
      frequency: values.frequency,
      expireAt,
      ...(values.thd === undefined ? {} : { thd: values.thd }),
    });
  for (const entry of declared) {
    if ('box' in entry) {
      push(entry.box, entry.time, entry);
      continue;
    }
    const every = entry.every ?? BOX_PERIOD_MS;
    for (let i = 0; i * every < entry.duration; i++) {
      const time = Math.round(entry.from + i * every);
      for (const box of entry.boxes) push(box, time, entry);
    }
  }
  // Stable: measurements at one time keep the order they were declared in.
  return docs.sort((a, b) => a.timestamp_ms - b.timestamp_ms);
}
