import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import * as zmq from 'zeromq';
import { startTriggeringService, type TriggeringService } from '../../src/cli/triggering-service.js';
import { parseConfig } from '../../src/config/load-json-config.js';
import { makaiSettingsSchema, type MakaiSettings } from '../../src/config/makai-settings.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { decodeRequestEventMessage, encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { RequestEventMessage, TriggerMessage } from '../../src/protocol/messages.js';
import { defaultTopology } from '../../src/cli/load-topology.js';
import { topologyOptionsOf } from '../../src/topologies/opq-triggering-options.js';
import type { Topology } from '../../src/topology.js';
import { createTempDir, type TempDir } from './temp-dir.js';
import { within } from './zmq.js';

/**
 * Scaffolding shared by the fault-injection tests (`test/faults/`): a test-owned trigger stream
 * and acquisition endpoint around a triggering service (in-process or `makai run` as a child),
 * deterministic trigger messages and garbage, and waits on counters instead of sleeps.
 */

/**
 * Resolves once `check` returns true, polling it every `pollMs`; rejects with `label` (and what
 * `describe` says about the state) after `timeoutMs`. For waiting on counters and store contents
 * that have no event to await; the timeout only guards against a hang.
 */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  label: string,
  { timeoutMs = 20_000, pollMs = 20, describe }: { timeoutMs?: number; pollMs?: number; describe?: () => unknown } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) {
      const state = describe ? ` (${JSON.stringify(await describe())})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${state}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Seeded bytes, so every run sends the same garbage. */
export function garbage(seed: number, length: number): Uint8Array {
  let state = seed;
  return Uint8Array.from({ length }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state >>> 16;
  });
}

/** Box time of message `k` of a box sending 6 per second from `t0`. */
export const boxTime = (t0: number, k: number): number => t0 + Math.floor((k * 1000) / 6);

/** A recent second-aligned box time, `minutesAgo` before now (within any clock-skew limit). */
export function recentT0(minutesAgo = 5): number {
  return Math.floor(Date.now() / 60_000) * 60_000 - minutesAgo * 60_000;
}

/**
 * Valid message `k` of `box`: values exactly representable as float32, so what is stored can
 * be compared with what was sent for equality.
 */
export function validTrigger(box: number, k: number, t0: number, rms = 120 + (k % 8) * 0.25): TriggerMessage {
  return { id: box, time: boxTime(t0, k), frequency: 60 + (k % 4) * 0.0625, rms, thd: 0.015625 };
}

/** The two frames a box publishes for `message`: `[decimal id, TriggerMessage]`. */
export function triggerFrames(message: TriggerMessage): Uint8Array[] {
  return [new Uint8Array(Buffer.from(String(message.id))), encodeTriggerMessage(message)];
}

/**
 * The publishing side of the trigger stream, owned by a test: an XPUB the triggering service's
 * SUB connects to. An XPUB shows the subscription arriving, so a test knows when it may send
 * instead of guessing; `noDrop` makes a full queue wait instead of silently dropping, so a
 * message the test sent is a message the subscriber got.
 */
export class TriggerFeed {
  readonly socket = new zmq.XPublisher({ linger: 0, noDrop: true, sendHighWaterMark: 100_000 });
  private subscriptions = 0;
  private waiters: { count: number; resolve: () => void }[] = [];
  private readonly loop: Promise<void>;

  private constructor() {
    this.loop = this.watch();
  }

  static async bind(endpoint = 'tcp://127.0.0.1:*'): Promise<TriggerFeed> {
    const feed = new TriggerFeed();
    await feed.socket.bind(endpoint);
    return feed;
  }

  get endpoint(): string {
    return this.socket.lastEndpoint!;
  }

  /** Resolves once `count` subscriptions (to anything) have arrived in all, e.g. a reconnected subscriber's. */
  whenSubscribed(count = 1): Promise<void> {
    if (this.subscriptions >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  send(frames: readonly (string | Uint8Array)[]): Promise<void> {
    return this.socket.send([...frames]);
  }

  async close(): Promise<void> {
    this.socket.close();
    await this.loop;
  }

  private async watch(): Promise<void> {
    try {
      for await (const [frame] of this.socket) {
        if (frame?.[0] !== 1) continue;
        this.subscriptions++;
        this.waiters = this.waiters.filter((w) => (w.count <= this.subscriptions ? (w.resolve(), false) : true));
      }
    } catch {
      // closed
    }
  }
}

/** The acquisition broker's `backend_pull`, owned by a test: collects the event requests a service sends. */
export class RequestSink {
  readonly socket = new zmq.Pull({ linger: 0 });
  readonly requests: RequestEventMessage[] = [];
  /** The frames of each request as they arrived (a request is one frame). */
  readonly frames: Uint8Array[][] = [];
  private readonly loop: Promise<void>;

  private constructor() {
    this.loop = this.receive();
  }

  static async bind(): Promise<RequestSink> {
    const sink = new RequestSink();
    await sink.socket.bind('tcp://127.0.0.1:*');
    return sink;
  }

  get endpoint(): string {
    return this.socket.lastEndpoint!;
  }

  /** Resolves once `count` requests have arrived in all. */
  whenReceived(count = 1, label = `${count} event request(s)`, timeoutMs = 30_000): Promise<void> {
    return waitUntil(() => this.requests.length >= count, label, { timeoutMs });
  }

  async close(): Promise<void> {
    this.socket.close();
    await this.loop;
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        this.frames.push(frames);
        if (frames[0]) this.requests.push(decodeRequestEventMessage(frames[0]));
      }
    } catch {
      // closed
    }
  }
}

/** Original-format makai.json settings for a test, parsed with the real schema and defaults. */
export function makaiSettings(fields: Record<string, unknown>): MakaiSettings {
  return parseConfig({ mongo_trends_update_interval_seconds: 1, trend_grace: '200ms', ...fields }, makaiSettingsSchema);
}

/** A triggering service running in this process, with what a test needs to look at. */
export interface ServiceUnderTest {
  readonly service: TriggeringService;
  readonly metrics: Metrics;
  readonly logger: RecordingLogger;
}

/**
 * Starts the triggering service in this process on `topology` (default: the default topology
 * for `settings`), with a recording logger and its own metrics. The service opens and owns the
 * store at `storeUri`.
 */
export async function startServiceUnderTest(options: {
  readonly settings: MakaiSettings;
  readonly storeUri: string;
  readonly topology?: Topology;
  readonly baseDir: string;
}): Promise<ServiceUnderTest> {
  const metrics = new Metrics();
  const logger = new RecordingLogger();
  const topology = options.topology ?? await defaultTopology(topologyOptionsOf(options.settings));
  const service = await startTriggeringService({
    loaded: { topology, settings: options.settings, baseDir: options.baseDir, file: undefined },
    storeUri: options.storeUri,
    logger,
    metrics,
  });
  return { service, metrics, logger };
}

/** `makai run` as a child process of the test, on a makai.json the test wrote. */
export class MakaiRunProcess {
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.child = child;
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /**
   * Writes `config` to `configFile` and starts `makai run` on it (log level `warn` unless given;
   * `env` is added to this process's environment).
   */
  static async start(configFile: string, config: Record<string, unknown>, logLevel = 'warn', env: NodeJS.ProcessEnv = {}): Promise<MakaiRunProcess> {
    await writeFile(configFile, JSON.stringify(config, null, 2));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', configFile, '--log-level', logLevel], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    return new MakaiRunProcess(child);
  }

  /** SIGTERM (a graceful stop), then the exit code once it has exited. */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    this.child.kill('SIGTERM');
    const { code } = await within(this.exited, timeoutMs, `makai run to exit after SIGTERM (stderr: ${this.stderr})`);
    return code;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Parsed JSON log lines of stderr. */
  logLines(): Record<string, unknown>[] {
    return this.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Kills the process if it still runs and waits for it to exit (for `after` hooks). */
  async dispose(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * `makai run` as a child process between a test-owned trigger feed and request sink, in a temp
 * directory of its own: what the `makai run` integration tests set up and tear down alike.
 */
export class MakaiRunRig {
  private constructor(
    readonly dir: TempDir,
    readonly feed: TriggerFeed,
    readonly sink: RequestSink,
    readonly makai: MakaiRunProcess,
  ) {}

  /**
   * Writes `makai.json` (the endpoints of the feed and the sink, a SQLite store in the directory,
   * then `config`) and starts `makai run` on it.
   */
  static async start(prefix: string, config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<MakaiRunRig> {
    const dir = await createTempDir(prefix);
    const feed = await TriggerFeed.bind();
    const sink = await RequestSink.bind();
    const full = { zmq_trigger_endpoint: feed.endpoint, zmq_acquisition_endpoint: sink.endpoint, store: `sqlite:${dir.file('makai.db')}`, ...config };
    const makai = await MakaiRunProcess.start(dir.file('makai.json'), full, 'warn', env);
    return new MakaiRunRig(dir, feed, sink, makai);
  }

  /** Waits for makai's subscription, then publishes `messages` in order. */
  async send(messages: readonly TriggerMessage[]): Promise<void> {
    await within(this.feed.whenSubscribed(), 30_000, `makai's subscription (stderr: ${this.makai.stderr})`);
    for (const message of messages) await this.feed.send(triggerFrames(message));
  }

  /** Kills makai if it still runs, closes the sockets and removes the directory (for `after` hooks). */
  async close(): Promise<void> {
    await this.makai.dispose();
    await this.feed.close();
    await this.sink.close();
    await this.dir.remove();
  }
}

