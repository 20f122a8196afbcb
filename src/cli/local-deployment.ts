import { access, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { asyncScheduler, type Subscription } from 'rxjs';
import { AcquisitionBroker } from '../brokers/acquisition-broker.js';
import { acquisitionBrokerConfigSchema } from '../brokers/acquisition-broker-config.js';
import { TriggerBroker } from '../brokers/trigger-broker.js';
import { triggerBrokerConfigSchema } from '../brokers/trigger-broker-config.js';
import { parseConfig } from '../config/load-json-config.js';
import { makaiSettingsSchema, type PluginEntry } from '../config/makai-settings.js';
import type { Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { certificatePaths, readCertificate, writeCertificatePair } from '../security/curve-certificate.js';
import { generateCurveKeyPair } from '../security/curve-key-pair.js';
import { ensureBoxKeyPairs } from '../simulator/box-key-pairs.js';
import { startNetworkedFleet, type NetworkedFleet } from '../simulator/networked-fleet.js';
import type { Scenario } from '../simulator/scenario.js';
import { SimulatedFleet } from '../simulator/simulated-fleet.js';
import { DEFAULT_CALIBRATION } from '../protocol/box-adc.js';
import { openStore } from '../stores/open-store.js';
import type { Store } from '../stores/store.js';
import { topologyOptionsOf } from '../topologies/opq-triggering-options.js';
import { defaultTopology } from './load-topology.js';
import { startTriggeringService, type TriggeringService } from './triggering-service.js';

/** The whole OPQ server side on one machine: what `makai up` runs. */
export interface LocalDeploymentOptions {
  /** Keys (`curve/`) and the embedded store live here. */
  readonly dataDir: string;
  /** Store URI; default `sqlite:<dataDir>/makai.db`. */
  readonly storeUri?: string;
  /** Address the sockets bind to: `127.0.0.1` (default) or `*` for real boxes on the network. */
  readonly listen?: string;
  /** `original`: the original ports (9880, 9881, 8194, 8196, 9884, 9899); `random`: free ports (tests). */
  readonly ports?: 'original' | 'random';
  /** Simulated boxes (ids 1..n); 0 waits for real boxes. */
  readonly boxes: number;
  readonly scenario?: Scenario;
  readonly seed?: number;
  /** Trend window, ms (default 60 000). */
  readonly trendWindowMs?: number;
  /** Plugins of the triggering service (default: the built-in threshold plugin). */
  readonly plugins?: readonly PluginEntry[];
  /** `host:port` of the triggering service's `/metrics` and `/health` (the brokers' metrics too: one registry); none when absent. */
  readonly observabilityAddress?: string;
  readonly logger: Logger;
}

/** Live counters for the status line. */
export interface DeploymentStatus {
  readonly boxesConnected: number;
  readonly messagesIn: number;
  readonly measurementsWritten: number;
  readonly trendsWritten: number;
  readonly events: readonly { readonly eventId: number; readonly replies: readonly string[] }[];
}

export interface LocalDeployment {
  readonly store: Store;
  readonly metrics: Metrics;
  readonly fleet: NetworkedFleet | undefined;
  /** Base URL of `/metrics` and `/health`, when `observabilityAddress` was given. */
  readonly observabilityUrl: string | undefined;
  /** Where the triggering broker's and acquisition broker's sockets are. */
  readonly endpoints: Readonly<Record<'interface' | 'backend' | 'box_pub' | 'box_pull' | 'backend_pull' | 'backend_pub', string>>;
  status(): Promise<DeploymentStatus>;
  /**
   * Stops in the order that keeps every requested waveform: the boxes stop publishing (they
   * still answer requests), the triggering service is flushed (open trend windows, measurement
   * batches, and the event requests of anomalies still open), the acquisition broker handles
   * those requests, and the boxes' replies are awaited (up to `replyGraceMs`); only then do the
   * boxes disconnect and the brokers and the store close.
   */
  stop(replyGraceMs?: number): Promise<void>;
}

/** Pings every 5 s (the original's 13 s is fine for boxes, but a status line wants fresher PONGs). */
const PING_INTERVAL_MS = 5000;
/** Longest wait at stop for forwarded trigger messages to reach the triggering service. */
const SETTLE_MS = 2000;

const ORIGINAL_PORTS = { interface: 9880, backend: 9881, box_pub: 8194, box_pull: 8196, backend_pull: 9884, backend_pub: 9899 } as const;

/**
 * Starts the triggering broker, the acquisition broker, the triggering service (default
 * topology) and, when asked, a simulated fleet, all sharing one store. Keys are generated in
 * the original layout on first run (`curve/private_keys/opqserver_secret`,
 * `curve/public_keys/opqbox<N>.key`), and simulated boxes are added to the box registry.
 */
export async function startLocalDeployment(options: LocalDeploymentOptions): Promise<LocalDeployment> {
  const logger = options.logger;
  const metrics = new Metrics();
  const dataDir = resolve(options.dataDir);
  const curveDir = join(dataDir, 'curve');
  await mkdir(dataDir, { recursive: true });
  const server = certificatePaths(curveDir, 'opqserver');
  if (!(await exists(server.secretFile))) {
    await writeCertificatePair(curveDir, 'opqserver', generateCurveKeyPair());
    logger.info('generated the server certificate', { file: server.secretFile });
  }
  const serverPublicKey = (await readCertificate(server.secretFile)).publicKey;
  const boxIds = Array.from({ length: options.boxes }, (_, i) => i + 1);
  /** Counts per volt of the simulated boxes, written to the registry as their calibration_constant. */
  const calibration = DEFAULT_CALIBRATION;
  const { keys } = await ensureBoxKeyPairs(curveDir, boxIds);
  const clientCerts = join(curveDir, 'public_keys');

  const store = await openStore(options.storeUri ?? `sqlite:${join(dataDir, 'makai.db')}`, { logger, metrics });
  const opened: { close(): Promise<void> }[] = [];
  try {
    for (const id of boxIds) {
      // calibration_constant as OPQ View keeps it: OPQ Mauka's acquire_data reads it per box.
      await store.upsertBox({ box_id: String(id), location: 'simulated', public_key: keys.get(id)!.publicKey, calibration_constant: calibration });
    }
    const host = options.listen ?? '127.0.0.1';
    const endpoint = (name: keyof typeof ORIGINAL_PORTS) => `tcp://${host}:${options.ports === 'random' ? '*' : ORIGINAL_PORTS[name]}`;
    const common = { client_certs: clientCerts, server_cert: server.secretFile };

    const triggerBroker = new TriggerBroker(
      { ...parseConfig({ ...common, interface: endpoint('interface'), backend: endpoint('backend') }, triggerBrokerConfigSchema) },
      { logger, metrics, store },
    );
    await triggerBroker.start();
    opened.push(triggerBroker);

    const acquisitionBroker = new AcquisitionBroker(
      parseConfig(
        {
          ...common,
          box_pub: endpoint('box_pub'),
          box_pull: endpoint('box_pull'),
          backend_pull: endpoint('backend_pull'),
          backend_pub: endpoint('backend_pub'),
          ping_interval: PING_INTERVAL_MS,
        },
        acquisitionBrokerConfigSchema,
      ),
      { logger, metrics, store },
    );
    const replies = new Map<number, string[]>();
    let requestsHandled = 0;
    const lastPong = new Map<string, number>();
    const activity: Subscription = acquisitionBroker.activity.subscribe((event) => {
      if (event.kind === 'pong' && event.outcome === 'recorded') lastPong.set(event.boxId, Date.now());
      if (event.kind === 'request') requestsHandled++;
      if (event.kind === 'request' && event.outcome === 'accepted' && event.eventId !== undefined) replies.set(event.eventId, []);
      if (event.kind === 'reply' && event.outcome === 'stored' && event.eventId !== undefined && event.boxId !== undefined) {
        replies.get(event.eventId)?.push(event.boxId);
      }
    });
    await acquisitionBroker.start();
    opened.push({ close: async () => (activity.unsubscribe(), acquisitionBroker.close()) });

    const endpoints = { ...triggerBroker.endpoints, ...acquisitionBroker.endpoints };
    const settings = parseConfig(
      {
        zmq_trigger_endpoint: connectable(endpoints.backend),
        zmq_acquisition_endpoint: connectable(endpoints.backend_pull),
        mongo_trends_update_interval_seconds: Math.max(1, Math.round((options.trendWindowMs ?? 60_000) / 1000)),
        plugins: options.plugins ?? [{ plugin: 'threshold' }],
      },
      makaiSettingsSchema,
    );
    const service: TriggeringService = await startTriggeringService({
      loaded: { topology: await defaultTopology(topologyOptionsOf(settings)), settings, baseDir: dataDir, file: undefined },
      storeUri: store.location,
      store,
      logger,
      metrics,
      ...(options.observabilityAddress === undefined ? {} : { observabilityAddress: options.observabilityAddress }),
    });
    opened.push({ close: async () => void (await service.stop()) });

    let fleet: NetworkedFleet | undefined;
    if (boxIds.length > 0) {
      const simulated = new SimulatedFleet({
        boxes: boxIds,
        seed: options.seed ?? 1,
        calibration,
        ...(options.scenario ? { scenario: options.scenario } : {}),
        scheduler: asyncScheduler,
      });
      fleet = await startNetworkedFleet({
        fleet: simulated,
        triggerEndpoint: connectable(endpoints.interface),
        boxPubEndpoint: connectable(endpoints.box_pub),
        boxPullEndpoint: connectable(endpoints.box_pull),
        serverPublicKey,
        keys,
        logger,
        metrics,
      });
    }

    let stopping: Promise<void> | undefined;
    return {
      store,
      metrics,
      fleet,
      observabilityUrl: service.observability.url,
      endpoints,
      async status() {
        return {
          boxesConnected: [...lastPong.values()].filter((at) => Date.now() - at < 2 * PING_INTERVAL_MS).length,
          messagesIn: await metrics.value('makai_trigger_broker_messages_total', { direction: 'in' }),
          measurementsWritten: await metrics.value('makai_store_written_total', { collection: 'measurements' }),
          trendsWritten: await metrics.value('makai_store_written_total', { collection: 'trends' }),
          events: [...replies].map(([eventId, boxes]) => ({ eventId, replies: [...boxes] })),
        };
      },
      stop: (replyGraceMs = 3000) =>
        (stopping ??= (async () => {
          // The boxes stop publishing but stay connected: the service's last event requests
          // (anomalies still open at the flush) need them to answer the READs. Stopping the
          // fleet first lost the last event's waveforms (issue 14).
          fleet?.stopPublishing();
          // The boxes' last messages may still be on their way, box → broker → service: let each
          // hop catch up before the service stops reading, or the last message of each box is
          // lost. (Comparing only what the broker had forwarded so far lost them whenever the
          // broker had not forwarded them yet.)
          const sent = () => metrics.value('makai_simulator_triggers_total', { outcome: 'sent' });
          const brokerIn = () => metrics.value('makai_trigger_broker_messages_total', { direction: 'in' });
          const forwarded = () => metrics.value('makai_trigger_broker_messages_total', { direction: 'out' });
          const dropped = () => metrics.value('makai_trigger_broker_dropped_total');
          const received = () => metrics.value('makai_zmq_messages_received_total', { endpoint: settings.zmq_trigger_endpoint });
          await waitFor(async () => (await brokerIn()) >= (await sent()), SETTLE_MS);
          await waitFor(async () => (await forwarded()) + (await dropped()) >= (await brokerIn()), SETTLE_MS);
          await waitFor(async () => (await received()) >= (await forwarded()), SETTLE_MS);
          await service.stop();
          // The requests the flush sent are on their way to the broker: wait until it has handled
          // each one, then for the replies to every READ.
          const requested = () => metrics.value('makai_zmq_messages_sent_total', { endpoint: settings.zmq_acquisition_endpoint });
          await waitFor(async () => requestsHandled >= (await requested()), SETTLE_MS);
          await waitFor(() => [...replies.values()].every((boxes) => boxes.length >= boxIds.length), replyGraceMs);
          await fleet?.stop();
          activity.unsubscribe();
          await acquisitionBroker.close();
          await triggerBroker.close();
          await store.close();
        })()),
    };
  } catch (error) {
    for (const part of opened.reverse()) await part.close().catch(() => undefined);
    await store.close();
    throw error;
  }
}

/** A bound wildcard endpoint (`tcp://0.0.0.0:9881`) as an address local peers can connect to. */
function connectable(endpoint: string): string {
  return endpoint.replace('://0.0.0.0:', '://127.0.0.1:').replace('://*:', '://127.0.0.1:');
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Polls `done` every 50 ms until it is true or `ms` have passed (shutdown only; never in operators). */
async function waitFor(done: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
