import type { SchedulerLike } from 'rxjs';
import { definePlugin, type PluginOperator } from '../plugin.js';
import { detectorOperator } from './detector-operator.js';
import { NapaliDetector } from './napali-detector.js';
import { parseNapaliSettings, UNUSED_ORIGINAL_SETTINGS, type NapaliSettings } from './napali-settings.js';

/**
 * Built-in `napali` plugin: the later OPQ Makai's statistical trigger (`napali_trigger`,
 * `libnapali_plugin.so`), redone for the boxes' TriggerMessage.
 *
 * Every box is compared with **itself**: per box and metric (frequency, RMS voltage, THD) an
 * exponentially weighted mean and variance (`smoothingFactor`) follow the box's normal, and a
 * reading more than `sigmas`·σ away (after `warmupSamples` readings), or outside the hard
 * limits (from the first reading), is anomalous. A hard-limit reading opens a window (any
 * anomalous one with `sigmaOpensWindow`); every box anomalous while it is open joins it, so the
 * boxes that saw a grid event only faintly are asked too; it stays open until each member's clock is
 * `graceMs` past its last anomalous reading (or the member has been silent that long), then
 * becomes **one** request for all its boxes. `reportSingleBox: false` keeps only windows with
 * two or more boxes: grid-wide events, not one household's kettle. See `NapaliDetector` for
 * the exact rules and `buildNapaliRequest` for the request.
 *
 * ```
 * box 1001 rms:  120.0 120.1 119.9 … 121.5 120.0 120.1 …    (after warm-up; σ ≈ 0.1 V)
 * box 1002 rms:  120.0 119.9 120.1 … 120.0 112.0 120.0 …    (below minVoltage 115)
 * output:        -----------------------------------x       x = VOLTAGE_SAG, boxIds [1001, 1002],
 *                                                           graceMs after both last anomalies
 * ```
 *
 * The original's setting names (`alpha`, `f_min`, `f_max`, `rms_min`, `rms_max`, `thd_max` as
 * a ratio, `grace_time_ms`, `trigger_local`) are accepted; `trans_max` and `debug` have no
 * counterpart and are logged as unused. When the input completes, the open window is reported.
 *
 * @throws ConfigError from the factory when a setting is invalid, naming its path.
 */
export const napaliPlugin = definePlugin((settings, context) => {
  const parsed = parseNapaliSettings(settings);
  const unused = UNUSED_ORIGINAL_SETTINGS.filter((key) => Object.hasOwn(settings, key));
  if (unused.length > 0) {
    context.logger.warn(`napali: ${unused.map((k) => `"${k}"`).join(' and ')} of the original plugin have no effect here (no transient metric, no debug print)`, {
      settings: unused,
    });
  }
  return napali(parsed, context.scheduler);
});

export default napaliPlugin;

/**
 * The napali operator over already parsed settings.
 *
 * @param settings Parsed settings.
 * @param scheduler Timer source for silent boxes.
 */
export function napali(settings: NapaliSettings, scheduler: SchedulerLike): PluginOperator {
  return detectorOperator(() => new NapaliDetector(settings), scheduler);
}
