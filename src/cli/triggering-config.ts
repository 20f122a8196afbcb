import { storeFieldsOf } from '../config/makai-settings.js';
import { chooseStore, type StoreChoice } from '../config/store-choice.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { parseListenAddress } from '../config/listen-address.js';
import { checkStoreUri } from '../stores/open-store.js';
import { loadTopology, type LoadedTopology } from './load-topology.js';

/** The embedded default store of `makai run` (and `makai validate`, which checks the same choice). */
export const DEFAULT_STORE_URI = 'sqlite:./data/makai.db';

/** What `makai run` starts, every part checked. */
export interface TriggeringConfig {
  readonly loaded: LoadedTopology;
  readonly store: StoreChoice;
  /** The `/metrics` + `/health` address, from the flag or the config; undefined: no endpoint. */
  readonly metricsAddress: string | undefined;
}

/**
 * Every check `makai run` makes before it opens anything, in one function that `makai validate`
 * calls too, so the two refuse exactly the same configs with the same messages: the topology
 * or config (each node's options, plugin modules and their settings), the store URI (flag,
 * config field or default) and the metrics address.
 *
 * @throws ConfigError naming the file (or flag) and the field.
 */
export async function loadTriggeringConfig(
  file: string | undefined,
  flags: { readonly store?: string | undefined; readonly metricsAddress?: string | undefined },
  logger?: Logger,
): Promise<TriggeringConfig> {
  const loaded = await loadTopology(file, logger ? { logger } : {});
  const store = chooseStore(flags.store, loaded.file, storeFieldsOf(loaded.settings), DEFAULT_STORE_URI);
  checkStoreUri(store.uri, store.origin);
  // The config's metrics_address is checked by its schema; the flag is checked here.
  if (flags.metricsAddress !== undefined) {
    try {
      parseListenAddress(flags.metricsAddress);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(error.message.replace(/^metrics_address: /, ''), { path: '--metrics-address' }, { cause: error });
    }
  }
  const metricsAddress = flags.metricsAddress ?? loaded.settings.metrics_address;
  return { loaded, store, metricsAddress };
}
