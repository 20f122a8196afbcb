import type { Subscription } from 'rxjs';
import { ConfigError, describeError } from '../core/errors.js';
import type { DurationInput } from '../core/duration.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { RequestType } from '../protocol/messages.js';
import type { CurveKeyPair } from '../security/curve-certificate.js';
import { BoxConnection, type BoxConnectionStats } from './box-connection.js';
import type { SimulatedFleet } from './simulated-fleet.js';

/** Options of {@link startNetworkedFleet}. */
export interface NetworkedFleetOptions {
  /** The boxes to put on the network; its scheduler is their clock (asyncScheduler for real time). */
  readonly fleet: SimulatedFleet;
  /** Triggering broker `interface`, e.g. `tcp://127.0.0.1:9880`. */
  readonly triggerEndpoint: string;
  /** Acquisition broker `box_pub`, e.g. `tcp://127.0.0.1:8194`. */
  readonly boxPubEndpoint: string;
  /** Acquisition broker `box_pull`, e.g. `tcp://127.0.0.1:8196`. */
  readonly boxPullEndpoint: string;
  /** Z85 public key of the brokers' server certificate. */
  readonly serverPublicKey: string;
  /** One CURVE key pair per box id of the fleet (see `ensureBoxKeyPairs`). */
  readonly keys: ReadonlyMap<number, CurveKeyPair>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** How long a trigger or reply may wait for room before it is dropped (`1s`). */
  readonly sendTimeout?: DurationInput;
  /** ZAP domain of the CURVE handshakes (`global`). */
  readonly zapDomain?: string;
  /** Re-create a box's SUB socket after this many ms without a message from box_pub (60 000; 0 disables). */
  readonly watchdogMs?: number;
}

/** Totals over the fleet, plus each box's own counts. */
export interface NetworkedFleetStats {
  /** TriggerMessages handed to libzmq (what a store should end up with, when nothing is lost downstream). */
  readonly triggersSent: number;
  readonly triggersDropped: number;
  /** Requests received by all boxes, by type (a broadcast READ counts once per box). */
  readonly requests: Readonly<Record<RequestType, number>>;
  /** Replies sent: requests answered. */
  readonly repliesSent: number;
  readonly dataMessagesSent: number;
  readonly repliesDropped: number;
  /** Frames from box_pub that were not requests. */
  readonly ignored: number;
  /** Requests a silent box did not answer. */
  readonly unanswered: number;
  /** SUB sockets re-created (watchdog or failure). */
  readonly resubscriptions: number;
  readonly boxes: readonly BoxConnectionStats[];
}

/** A running networked fleet. */
export interface NetworkedFleet {
  /** Each box's connection, by box id. */
  readonly connections: ReadonlyMap<number, BoxConnection>;
  /** A snapshot of the counters. */
  readonly stats: NetworkedFleetStats;
  /**
   * Stops publishing TriggerMessages (the fleet's clock), while every box keeps answering READ
   * and PING requests from what it has recorded: a shutdown can then serve the requests that
   * the last messages cause. Idempotent.
   */
  stopPublishing(): void;
  /** Stops the clock and closes every socket; resolves when the counts are final. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Puts a {@link SimulatedFleet} on the network: one {@link BoxConnection} per box, each with
 * its own key pair and its own three sockets, and the fleet's clock running, so every box
 * publishes its TriggerMessages (6 per second by default) and answers the acquisition broker's
 * READ and PING requests until {@link NetworkedFleet.stop}.
 *
 * ```
 * fleet.triggers$ ──{id: 1}──► box 1 PUB ─┐
 *                 ──{id: 2}──► box 2 PUB ─┴─► triggering broker
 * acquisition broker box_pub ──evget──► box 1 SUB, box 2 SUB ──replies──► box_pull
 * ```
 *
 * @throws ConfigError when a box has no key pair, or an endpoint or key is malformed (nothing is
 *   left open)
 */
export async function startNetworkedFleet(options: NetworkedFleetOptions): Promise<NetworkedFleet> {
  const { fleet, keys, logger, metrics } = options;
  for (const id of fleet.boxes.keys()) {
    if (!keys.has(id)) throw new ConfigError(`no CURVE key pair for box ${id}`, { path: `keys.${id}` });
  }
  const log = logger.child({ component: 'simulator.fleet' });
  const connections = new Map<number, BoxConnection>();
  const closeAll = () => Promise.all([...connections.values()].map((c) => c.close()));
  try {
    for (const [id, box] of fleet.boxes) {
      connections.set(
        id,
        new BoxConnection({
          box,
          keys: keys.get(id)!,
          serverPublicKey: options.serverPublicKey,
          triggerEndpoint: options.triggerEndpoint,
          boxPubEndpoint: options.boxPubEndpoint,
          boxPullEndpoint: options.boxPullEndpoint,
          scheduler: fleet.scheduler,
          logger,
          metrics,
          ...(options.sendTimeout === undefined ? {} : { sendTimeout: options.sendTimeout }),
          ...(options.zapDomain === undefined ? {} : { zapDomain: options.zapDomain }),
          ...(options.watchdogMs === undefined ? {} : { watchdogMs: options.watchdogMs }),
        }),
      );
    }
    await Promise.all([...connections.values()].map((c) => c.whenReady()));
  } catch (error) {
    await closeAll();
    throw error;
  }

  let stopped: Promise<void> | undefined;
  const clock: Subscription = fleet.triggers$.subscribe({
    // Every message comes from a box of this fleet, so the lookup cannot miss.
    next: (message) => connections.get(message.id)?.publish(message),
    error: (error: unknown) => log.error('the simulated fleet stopped', { error: describeError(error) }),
  });
  log.info('simulated boxes connecting', {
    boxes: [...connections.keys()].join(','),
    trigger: options.triggerEndpoint,
    boxPub: options.boxPubEndpoint,
    boxPull: options.boxPullEndpoint,
  });

  return {
    connections,
    get stats() {
      return fleetStats([...connections.values()].map((c) => c.stats));
    },
    stopPublishing() {
      clock.unsubscribe();
    },
    stop() {
      stopped ??= (async () => {
        clock.unsubscribe();
        await closeAll();
        log.info('simulated boxes stopped');
      })();
      return stopped;
    },
  };
}

/** Sums the per-box counts. */
export function fleetStats(boxes: readonly BoxConnectionStats[]): NetworkedFleetStats {
  const requests: Record<RequestType, number> = { PING: 0, PONG: 0, READ: 0, RESP: 0, ERROR: 0 };
  let triggersSent = 0;
  let triggersDropped = 0;
  let repliesSent = 0;
  let dataMessagesSent = 0;
  let repliesDropped = 0;
  let ignored = 0;
  let unanswered = 0;
  let resubscriptions = 0;
  for (const box of boxes) {
    triggersSent += box.triggersSent;
    triggersDropped += box.triggersDropped;
    repliesSent += box.repliesSent;
    dataMessagesSent += box.dataMessagesSent;
    repliesDropped += box.repliesDropped;
    ignored += box.ignored;
    unanswered += box.unanswered;
    resubscriptions += box.resubscriptions;
    for (const type of Object.keys(requests) as RequestType[]) requests[type] += box.requests[type];
  }
  return { triggersSent, triggersDropped, requests, repliesSent, dataMessagesSent, repliesDropped, ignored, unanswered, resubscriptions, boxes };
}
