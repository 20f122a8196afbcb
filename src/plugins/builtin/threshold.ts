import type { SchedulerLike } from 'rxjs';
import { definePlugin, type PluginOperator } from '../plugin.js';
import { detectorOperator } from './detector-operator.js';
import { ThresholdDetector } from './threshold-detector.js';
import { parseThresholdSettings, type ThresholdSettings } from './threshold-settings.js';

/**
 * Built-in `threshold` plugin: the detector the original never finished (spec §5.7, §9 item 1),
 * done right.
 *
 * Per box and per metric (RMS voltage, frequency, THD) a state machine runs in box time: an
 * excursion starts when a value goes beyond its limit (defaults ±5 % of 120 V, ±0.5 % of 60 Hz,
 * THD above 5 %, each configurable and overridable per box) and ends only when the value is
 * back inside the limit less a hysteresis margin, so a value hovering at the limit does not
 * flap. Excursions shorter than `minDurationMs` are ignored. Concurrent excursions on several
 * boxes become **one** request listing all their `boxIds`, with the window padded by
 * `padBeforeMs`/`padAfterMs` and capped at `maxWindowMs`. A timer on the scheduler makes sure a
 * silent box cannot keep a group open. See `ThresholdDetector` for the exact rules and
 * `buildThresholdRequest` for the request.
 *
 * ```
 * box 1001 rms:  120 120  96  97 120 120 120 120 …    (one message per 100 ms)
 * box 1002 rms:  120 120 120  95  96 120 120 120 …
 * output:        ----------------------------x        x = VOLTAGE_SAG, boxIds [1001, 1002],
 *                                                     once both recovered + groupGapMs
 * ```
 *
 * Settings (`threshold-settings.ts`): `nominalVoltage` 120, `nominalFrequency` 60,
 * `voltagePercent` 5, `frequencyPercent` 0.5, `thdPercent` 5, `hysteresisFraction` 0.1,
 * `minDurationMs` 0, `groupGapMs` 1000, `silenceTimeoutMs` 5000, `padBeforeMs` 1000,
 * `padAfterMs` 1000, `maxWindowMs` 600 000, `requestee` "Makai: threshold plugin",
 * `requestData` true, `overrides` `{ "<boxId>": { voltagePercent, … } }`.
 * When the input completes, open excursions end at their box's last message and the open
 * group is reported.
 *
 * @throws ConfigError from the factory when a setting is invalid, naming its path.
 */
export const thresholdPlugin = definePlugin((settings, context) => {
  const parsed = parseThresholdSettings(settings);
  return threshold(parsed, context.scheduler);
});

export default thresholdPlugin;

/**
 * The threshold operator over already parsed settings.
 *
 * @param settings Parsed settings.
 * @param scheduler Timer source for the silence timeout.
 */
export function threshold(settings: ThresholdSettings, scheduler: SchedulerLike): PluginOperator {
  return detectorOperator(() => new ThresholdDetector(settings), scheduler);
}
