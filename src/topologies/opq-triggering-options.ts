import type { MakaiSettings } from '../config/makai-settings.js';
import type { DurationInput } from '../core/duration.js';
import type { DecodeTriggersOptions } from '../nodes/decode-triggers.js';
import type { MeasurementStoreOptions } from '../nodes/measurement-store.js';
import type { PluginOptions } from '../nodes/plugin.js';
import type { TrendsOptions } from '../nodes/trends.js';
import type { NodeOrigin } from '../topology.js';

/**
 * The options of the default topology, `config/topology.ts` (the original triggering service,
 * spec §5). `makai run makai.json` maps the original JSON fields onto them
 * ({@link topologyOptionsOf}); every option has a default.
 */
export interface OpqTriggeringOptions {
  /** The triggering broker's backend (XPUB). Default `tcp://127.0.0.1:9881` (`zmq_trigger_endpoint`). */
  readonly triggerEndpoint?: string;
  /** The acquisition broker's `backend_pull`. Default `tcp://127.0.0.1:9884` (`zmq_acquisition_endpoint`). */
  readonly acquisitionEndpoint?: string;
  /** Decoding limits: frame size, clock skew, plausible ranges (`plausibility`). */
  readonly decode?: DecodeTriggersOptions;
  /** TTL, batching and expiry sweep of stored measurements (`mongo_measurement_expiration_seconds`, …). */
  readonly measurements?: MeasurementStoreOptions;
  /** Trend window and grace (`mongo_trends_update_interval_seconds`, `trend_grace`). */
  readonly trends?: TrendsOptions;
  /** How long requested intervals are remembered by dedupe (`event_request_expiration_window_ms`). Default 30 minutes. */
  readonly requestExpiration?: DurationInput;
  /** The plugins, in order; without plugins nothing is requested. Default: the built-in `threshold`. */
  readonly plugins?: readonly PluginOptions[];
  /** Where each plugin entry came from (`makai.json`, `plugins[i]`), so its errors name that field. */
  readonly pluginOrigins?: readonly NodeOrigin[];
}

/**
 * The default topology's options for a `makai.json`: the original fields mapped field by field
 * (seconds to durations), each plugin entry anchored at its `plugins[i]` in `file` so that its
 * errors name that field.
 */
export function topologyOptionsOf(settings: MakaiSettings, file?: string): OpqTriggeringOptions {
  return {
    triggerEndpoint: settings.zmq_trigger_endpoint,
    acquisitionEndpoint: settings.zmq_acquisition_endpoint,
    measurements: {
      ttl: settings.mongo_measurement_expiration_seconds * 1000,
      batchSize: settings.measurement_batch_size,
      flush: settings.measurement_flush,
    },
    decode: plausibilityOf(settings),
    trends: {
      window: settings.mongo_trends_update_interval_seconds * 1000,
      grace: settings.trend_grace,
      ...(settings.trend_max_time_jump === undefined ? {} : { maxTimeJump: settings.trend_max_time_jump }),
      ...(settings.trend_clock_change_after === undefined ? {} : { clockChangeAfter: settings.trend_clock_change_after }),
    },
    requestExpiration: settings.event_request_expiration_window_ms,
    plugins: settings.plugins,
    pluginOrigins: settings.plugins.map((_, index) => ({ field: `plugins[${index}]`, ...(file === undefined ? {} : { file }) })),
  };
}

/** The decode node's plausibility option for the JSON `plausibility` field (snake_case there). */
function plausibilityOf(settings: MakaiSettings): DecodeTriggersOptions {
  const bounds = settings.plausibility;
  if (bounds === undefined) return {};
  return {
    plausibility: {
      ...(bounds.frequency_hz ? { frequencyHz: bounds.frequency_hz } : {}),
      ...(bounds.rms_volts ? { rmsVolts: bounds.rms_volts } : {}),
      ...(bounds.thd_ratio ? { thdRatio: bounds.thd_ratio } : {}),
    },
  };
}
