import { asyncScheduler } from 'rxjs';
import { AcquisitionBroker } from '../../brokers/acquisition-broker.js';
import {
  DEFAULT_ACQUISITION_BROKER_CONFIG_FILE,
  DEFAULT_ACQUISITION_STORE_URI,
  acquisitionBrokerConfigSchema,
} from '../../brokers/acquisition-broker-config.js';
import { brokerCommand } from '../broker-command.js';
import type { CliCommand } from '../command.js';

const usage = `Usage: makai acquisition-broker [config.json] [options]

Runs the acquisition broker: event requests (RequestEventMessage) on backend_pull get an event
number from the store, an events document, an ["evnew", id] notice on backend_pub and, when
they ask for data, an ["evget", READ] to the boxes on box_pub (CURVE); box replies on box_pull
(CURVE) become box_events documents and waveforms. Boxes are pinged every ping_interval.
backend_pull binds tcp://127.0.0.1:9884 by default (a wildcard is allowed and warned about).
Admission control: a request covered by an outstanding READ is merged into its event; data
requests are bounded by max_outstanding_reads (per requester too), and each requestee by a
token bucket (request_rate, request_burst); merges and refusals are counted and listed by
makai deadletters.

  config.json   acquisition_broker_config.json (default ${DEFAULT_ACQUISITION_BROKER_CONFIG_FILE});
                fields: client_certs, server_cert, box_pub, box_pull, backend_pull, backend_pub,
                mongo_uri, and our store, white_list, key_refresh, max_event_window,
                ping_interval, max_frame_bytes, store_retry_initial, store_retry_limit,
                max_outstanding_reads, max_outstanding_reads_per_requester, read_timeout,
                request_rate, request_burst, max_requesters, count_handshake_failures.
                Relative paths are read from the config file's directory.

Options:
  --store URI         sqlite:<file> or mongodb://… (default: the config's store, else mongo_uri,
                      else ${DEFAULT_ACQUISITION_STORE_URI})
  --log-level LEVEL   debug | info | warn | error (default info; or MAKAI_LOG_LEVEL)
  --metrics-address HOST:PORT  serve /metrics (Prometheus) and /health there (default: none)
  --create-store-dir  create the directory of a sqlite: store named by --store or the config
                      when it does not exist (it is refused otherwise)

SIGINT/SIGTERM finish the request or reply in hand, close the sockets and exit 0.`;

export const command: CliCommand = brokerCommand({
  service: 'acquisition-broker',
  usage,
  defaultConfigFile: DEFAULT_ACQUISITION_BROKER_CONFIG_FILE,
  schema: acquisitionBrokerConfigSchema,
  defaultStoreUri: DEFAULT_ACQUISITION_STORE_URI,
  create: ({ config, logger, metrics, store, rejected, observability }) => {
    const broker = new AcquisitionBroker(config, { logger, metrics, store, scheduler: asyncScheduler, rejected });
    // PONGs tell the health report which boxes are alive.
    broker.activity.subscribe((a) => {
      if (a.kind === 'pong' && a.outcome === 'recorded') observability.liveness.recordPong(a.boxId, Date.now());
    });
    return broker;
  },
});
