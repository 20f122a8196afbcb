import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { asyncScheduler } from 'rxjs';
import { loadJsonConfig } from '../../config/load-json-config.js';
import { Metrics } from '../../core/metrics.js';
import { TriggerBroker } from '../../brokers/trigger-broker.js';
import { DEFAULT_TRIGGER_BROKER_CONFIG_FILE, triggerBrokerConfigSchema } from '../../brokers/trigger-broker-config.js';
import { openStore } from '../../stores/open-store.js';
import type { Store } from '../../stores/store.js';
import { createCliLogger } from '../cli-logger.js';
import { UsageError, type CliCommand } from '../command.js';
import { serveBroker } from '../serve-broker.js';

const usage = `Usage: makai trigger-broker [config.json] [options]

Runs the triggering broker: boxes publish their trigger stream over CURVE to an XSUB on
"interface" (default tcp://*:9880); it is forwarded unchanged to an XPUB on "backend"
(default tcp://*:9881), and subscriptions flow back to the boxes.

  config.json   triggering_broker_config.json (default ${DEFAULT_TRIGGER_BROKER_CONFIG_FILE});
                fields: client_certs, server_cert, interface, backend, white_list, and our
                store, mongo_uri, key_refresh, max_frame_bytes. Relative paths are read
                from the config file's directory.

Box keys allowed: certificates in client_certs plus public_key of the boxes in the store's
registry (when a store is configured), re-read while running.

Options:
  --store URI         box registry store: sqlite:<file> or mongodb://… (default: the config's
                      store, else mongo_uri, else none: client_certs only)
  --log-level LEVEL   debug | info | warn | error (default info; or MAKAI_LOG_LEVEL)
  --metrics-address HOST:PORT  serve /metrics (Prometheus) and /health there (default: none)

SIGINT/SIGTERM close the sockets and exit 0.`;

export const command: CliCommand = {
  summary: 'run the triggering broker (box trigger stream → backend subscribers, CURVE)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { store: { type: 'string' }, 'log-level': { type: 'string' }, 'metrics-address': { type: 'string' } },
    });
    if (positionals.length > 1) throw new UsageError(`expected at most one config file, got ${positionals.length}`);
    const file = resolve(positionals[0] ?? DEFAULT_TRIGGER_BROKER_CONFIG_FILE);
    const config = await loadJsonConfig(file, triggerBrokerConfigSchema);
    const logger = createCliLogger(values['log-level']);
    const metrics = new Metrics();
    const storeUri = values.store ?? config.store ?? config.mongo_uri;
    const store: Store | undefined = storeUri
      ? await openStore(storeUri, { logger, metrics, configFile: file, configPath: config.store ? 'store' : 'mongo_uri' })
      : undefined;
    const base = dirname(file);
    return serveBroker({
      service: 'trigger-broker',
      store,
      logger,
      metrics,
      metricsAddress: values['metrics-address'],
      io,
      create: (rejected) =>
        new TriggerBroker(
          { ...config, client_certs: resolve(base, config.client_certs), server_cert: resolve(base, config.server_cert) },
          { logger, metrics, store, scheduler: asyncScheduler, rejected },
        ),
    });
  },
};
