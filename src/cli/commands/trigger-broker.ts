import { asyncScheduler } from 'rxjs';
import { TriggerBroker } from '../../brokers/trigger-broker.js';
import { DEFAULT_TRIGGER_BROKER_CONFIG_FILE, triggerBrokerConfigSchema } from '../../brokers/trigger-broker-config.js';
import { brokerCommand } from '../broker-command.js';
import type { CliCommand } from '../command.js';

const usage = `Usage: makai trigger-broker [config.json] [options]

Runs the triggering broker: boxes publish their trigger stream over CURVE to an XSUB on
"interface" (default tcp://*:9880); it is forwarded unchanged to an XPUB on "backend"
(default tcp://127.0.0.1:9881; a wildcard is allowed and warned about), and subscriptions
flow back to the boxes. Messages a backend subscriber has no room for are dropped and counted
(makai_trigger_broker_dropped_total).

  config.json   triggering_broker_config.json (default ${DEFAULT_TRIGGER_BROKER_CONFIG_FILE});
                fields: client_certs, server_cert, interface, backend, white_list, and our
                store, mongo_uri, key_refresh, max_frame_bytes, count_handshake_failures.
                Relative paths are read from the config file's directory.

Box keys allowed: certificates in client_certs plus public_key of the boxes in the store's
registry (when a store is configured), re-read while running.

Options:
  --store URI         box registry store: sqlite:<file> or mongodb://… (default: the config's
                      store, else mongo_uri, else none: client_certs only)
  --log-level LEVEL   debug | info | warn | error (default info; or MAKAI_LOG_LEVEL)
  --metrics-address HOST:PORT  serve /metrics (Prometheus) and /health there (default: none)
  --create-store-dir  create the directory of a sqlite: store named by --store or the config
                      when it does not exist (it is refused otherwise)

SIGINT/SIGTERM close the sockets and exit 0.`;

export const command: CliCommand = brokerCommand({
  service: 'trigger-broker',
  usage,
  defaultConfigFile: DEFAULT_TRIGGER_BROKER_CONFIG_FILE,
  schema: triggerBrokerConfigSchema,
  create: ({ config, logger, metrics, store, rejected }) =>
    new TriggerBroker(config, { logger, metrics, store, scheduler: asyncScheduler, rejected }),
});
