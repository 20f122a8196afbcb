import { mkdir, writeFile } from 'node:fs/promises';
import type { Subscription } from 'rxjs';
import * as zmq from 'zeromq';
import { AcquisitionBroker, type AcquisitionActivity, type AcquisitionBrokerSettings } from '../../src/brokers/acquisition-broker.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { encodeDataMessage } from '../../src/protocol/data-message-codec.js';
import type { DataMessage, RequestDataMessage, RequestEventMessage } from '../../src/protocol/messages.js';
import { decodeRequestDataMessage, encodeRequestDataMessage } from '../../src/protocol/request-data-message-codec.js';
import { encodeRequestEventMessage } from '../../src/protocol/request-event-message-codec.js';
import { formatCertificate, writeCertificatePair, type CurveKeyPair } from '../../src/security/curve-certificate.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { openStore } from '../../src/stores/open-store.js';
import type { Store } from '../../src/stores/store.js';
import { createTempDir, type TempDir } from './temp-dir.js';
import { curveClientOptions, nextEvent } from './zmq.js';

/**
 * Test scaffolding for the acquisition broker: certificates and a SQLite store in a temp dir, a
 * broker on free loopback ports, an activity recorder to await what the broker did, and a
 * scripted box that speaks the old box protocol (SUB evget + PUSH replies, over CURVE).
 */

/** Keys and files shared by the brokers of one test. */
export interface AcquisitionFixture {
  readonly dir: TempDir;
  readonly server: CurveKeyPair;
  readonly serverCertFile: string;
  readonly clientCerts: string;
  /** Allowed box key (certificate in client_certs). */
  readonly boxKeys: CurveKeyPair;
  readonly storeUri: string;
  remove(): Promise<void>;
}

export async function createAcquisitionFixture(): Promise<AcquisitionFixture> {
  const dir = await createTempDir('makai-acquisition-');
  const server = generateCurveKeyPair();
  const { secretFile } = await writeCertificatePair(dir.path, 'opqserver', server);
  const clientCerts = dir.file('client_certs');
  await mkdir(clientCerts);
  const boxKeys = generateCurveKeyPair();
  await writeFile(`${clientCerts}/opqbox1003.key`, formatCertificate('opqbox1003', { publicKey: boxKeys.publicKey }));
  return { dir, server, serverCertFile: secretFile, clientCerts, boxKeys, storeUri: `sqlite:${dir.file('opq.db')}`, remove: () => dir.remove() };
}

/** Settings on free loopback ports; override what a test needs. */
export function testSettings(fixture: AcquisitionFixture, overrides: Partial<AcquisitionBrokerSettings> = {}): AcquisitionBrokerSettings {
  return {
    client_certs: fixture.clientCerts,
    server_cert: fixture.serverCertFile,
    box_pub: 'tcp://127.0.0.1:*',
    box_pull: 'tcp://127.0.0.1:*',
    backend_pull: 'tcp://127.0.0.1:*',
    backend_pub: 'tcp://127.0.0.1:*',
    white_list: true,
    key_refresh: 600_000,
    max_event_window: 600_000,
    // Fast pings: a scripted box knows it is subscribed once the first one arrives.
    ping_interval: 25,
    max_frame_bytes: 1_048_576,
    store_retry_initial: 5,
    store_retry_limit: 2_000,
    ...overrides,
  };
}

/** Keeps every activity of a broker and lets a test await the first one that matches. */
export class ActivityRecorder {
  readonly seen: AcquisitionActivity[] = [];
  private waiters: { match: (a: AcquisitionActivity) => boolean; resolve: (a: AcquisitionActivity) => void }[] = [];
  private readonly subscription: Subscription;

  constructor(broker: AcquisitionBroker) {
    this.subscription = broker.activity.subscribe((activity) => {
      this.seen.push(activity);
      this.waiters = this.waiters.filter((w) => (w.match(activity) ? (w.resolve(activity), false) : true));
    });
  }

  /** The first matching activity, already seen or future. */
  waitFor<A extends AcquisitionActivity>(match: (a: AcquisitionActivity) => a is A): Promise<A>;
  waitFor(match: (a: AcquisitionActivity) => boolean): Promise<AcquisitionActivity>;
  waitFor(match: (a: AcquisitionActivity) => boolean): Promise<AcquisitionActivity> {
    const seen = this.seen.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Activities of requests, in order. */
  requests(): Extract<AcquisitionActivity, { kind: 'request' }>[] {
    return this.seen.filter((a): a is Extract<AcquisitionActivity, { kind: 'request' }> => a.kind === 'request');
  }

  stop(): void {
    this.subscription.unsubscribe();
  }
}

/** A running broker with its store, metrics, logs and activity. */
export interface RunningBroker {
  readonly broker: AcquisitionBroker;
  readonly store: Store;
  readonly metrics: Metrics;
  readonly logger: RecordingLogger;
  readonly activity: ActivityRecorder;
  /** Stops the broker and closes its store. */
  stop(): Promise<void>;
}

export async function startBroker(
  fixture: AcquisitionFixture,
  overrides: Partial<AcquisitionBrokerSettings> = {},
  wrapStore: (store: Store) => Store = (store) => store,
): Promise<RunningBroker> {
  const realStore = await openStore(fixture.storeUri);
  const store = wrapStore(realStore);
  const metrics = new Metrics();
  const logger = new RecordingLogger();
  const broker = new AcquisitionBroker(testSettings(fixture, overrides), { logger, metrics, store });
  await broker.start();
  const activity = new ActivityRecorder(broker);
  return {
    broker,
    store,
    metrics,
    logger,
    activity,
    async stop() {
      await broker.close();
      activity.stop();
      await realStore.close();
    },
  };
}

/** A plain PUSH to the broker's backend_pull, as the triggering service, Mauka or Health. */
export class Requester {
  readonly socket = new zmq.Push({ linger: 0 });

  constructor(endpoint: string) {
    this.socket.connect(endpoint);
  }

  send(request: RequestEventMessage): Promise<void> {
    return this.socket.send(encodeRequestEventMessage(request));
  }

  sendRaw(frames: readonly (string | Uint8Array)[]): Promise<void> {
    return this.socket.send([...frames]);
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * A scripted OPQ Box (old protocol, spec §6.5): SUB on box_pub (subscribed to everything) and
 * PUSH to box_pull, both CURVE clients. It records every request it receives and, when
 * `answerPings` is on, answers PINGs with PONGs like a real box.
 */
export class ScriptedBox {
  readonly sub: zmq.Subscriber;
  readonly push: zmq.Push;
  readonly requests: RequestDataMessage[] = [];
  private waiters: { match: (r: RequestDataMessage) => boolean; resolve: (r: RequestDataMessage) => void }[] = [];
  private readonly loop: Promise<void>;

  constructor(
    readonly boxId: number,
    keys: CurveKeyPair,
    serverPublicKey: string,
    endpoints: { readonly box_pub: string; readonly box_pull: string },
    private readonly options: { readonly answerPings?: boolean } = {},
  ) {
    const curve = { ...curveClientOptions(keys, serverPublicKey), zapDomain: 'global' };
    this.sub = new zmq.Subscriber(curve);
    this.push = new zmq.Push(curve);
    this.sub.subscribe();
    this.sub.connect(endpoints.box_pub);
    this.push.connect(endpoints.box_pull);
    this.loop = this.receive();
  }

  /** Resolves once the PUSH side has completed its CURVE handshake (or failed it). */
  static handshake(socket: zmq.Socket): Promise<zmq.EventType> {
    return nextEvent(socket, 'handshake', 'handshake:error:auth', 'handshake:error:protocol', 'handshake:error:other').then((e) => e.type);
  }

  /** The first received request that matches, already received or future. */
  waitFor(match: (request: RequestDataMessage) => boolean): Promise<RequestDataMessage> {
    const seen = this.requests.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Sends a RESP to `read` with these data frames, as a box does (M6). */
  answer(read: RequestDataMessage, data: readonly DataMessage[], header: Partial<RequestDataMessage> = {}): Promise<void> {
    return this.sendFrames([
      encodeRequestDataMessage({
        type: 'RESP',
        sequenceNumber: read.sequenceNumber,
        boxId: this.boxId,
        time: 1_700_000_010_000,
        ...(read.back === undefined ? {} : { back: read.back }),
        ...(read.forward === undefined ? {} : { forward: read.forward }),
        ...header,
      }),
      ...data.map(encodeDataMessage),
    ]);
  }

  sendFrames(frames: readonly (string | Uint8Array)[]): Promise<void> {
    return this.push.send([...frames]);
  }

  async close(): Promise<void> {
    this.sub.close();
    this.push.close();
    await this.loop;
  }

  private async receive(): Promise<void> {
    try {
      for await (const [topic, body] of this.sub) {
        // The box parses only frame 1 (spec §1.4).
        if (body === undefined || Buffer.from(topic ?? []).toString() !== 'evget') continue;
        const request = decodeRequestDataMessage(body);
        this.requests.push(request);
        this.waiters = this.waiters.filter((w) => (w.match(request) ? (w.resolve(request), false) : true));
        if (request.type === 'PING' && this.options.answerPings) {
          await this.push.send(encodeRequestDataMessage({ type: 'PONG', sequenceNumber: request.sequenceNumber, boxId: this.boxId, time: 1 }));
        }
      }
    } catch {
      // closed
    }
  }
}

/** `count` DataMessages of 10 cycles × 200 samples, deterministic, covering the int16 extremes. */
export function sampleData(boxId: number, count: number, firstCycleMs = 1_700_000_000_500): DataMessage[] {
  let seed = 12_345;
  const next = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return (seed % 65_536) - 32_768;
  };
  return Array.from({ length: count }, (_, m) => ({
    id: boxId,
    cycles: Array.from({ length: 10 }, (_, c) => {
      const data = Int32Array.from({ length: 200 }, next);
      if (m === 0 && c === 0) {
        data[0] = -32_768;
        data[1] = 32_767;
      }
      return { time: firstCycleMs + Math.floor(((m * 10 + c) * 50) / 3), data };
    }),
  }));
}

/** The waveform bytes a box's data must become, computed independently of the broker: int16 LE. */
export function expectedWaveform(data: readonly DataMessage[]): Buffer {
  const samples = data.flatMap((m) => m.cycles.flatMap((c) => [...c.data]));
  const bytes = Buffer.alloc(samples.length * 2);
  samples.forEach((sample, i) => bytes.writeInt16LE(sample, i * 2));
  return bytes;
}
