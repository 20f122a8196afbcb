import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { decodeRequestEventMessage } from '../src/protocol/codec.js';
import { writeCertificatePair } from '../src/security/curve-certificate.js';
import { generateCurveKeyPair } from '../src/security/curve-key-pair.js';
import type { Scenario } from '../src/simulator/scenario.js';
import type { CurveClientOptions } from '../src/sources/zmq-socket-options.js';
import type { BrokerReport, BrokerRequest } from './broker.js';
import { monotonicMs, spawnChild } from './child-process.js';
import type { MemorySample, ReceiverConfig, ReceiverReport, ReceiverRequest } from './receiver.js';
import { requestKey, type Completion, type SenderConfig, type SenderReport, type SenderRequest } from './sender.js';

/**
 * One measured stream: a sender process publishing to a receiver process (the bare SUB or the
 * triggering service), directly or through a triggering-broker process, with the harness
 * holding the acquisition PULL. Every process is fresh for every run.
 */

export interface StreamRunOptions {
  /** `bare`: receive + decode only (the ceiling); `service`: the default topology. */
  readonly receiver: 'bare' | 'service';
  readonly boxes: number;
  /** Messages to send (the run ends when all are decoded/stored, or `drainMs` after the last send). */
  readonly count?: number;
  /** Or send for this long. */
  readonly durationMs?: number;
  /** Messages per second; absent: as fast as high-water-mark-respecting sends allow. */
  readonly rate?: number;
  /** Through a triggering broker with CURVE (a fresh broker process for this run). */
  readonly broker?: boolean;
  readonly scenario?: Scenario;
  /** Let the sender run the threshold detector to time the completing messages. */
  readonly detect?: boolean;
  readonly startMs?: number;
  /** Memory / event-loop samples every this many ms (service). */
  readonly sampleEveryMs?: number;
  /** `measurement_batch_size` of the service (default: the setting's default). */
  readonly batchSize?: number;
  /** Store; default a fresh SQLite file in `tempDir`. */
  readonly storeUri?: string;
  readonly tempDir: string;
  /** Run the receiver under `--cpu-prof`, writing into this directory. */
  readonly profileDir?: string;
  /**
   * Messages before the measured window: `rate` counts from when the receiver had decoded or
   * stored this many (JIT warm-up, the first store batches and trend windows are behind it) to
   * when it had all of them. Absent: from the first send.
   */
  readonly warmUpMessages?: number;
  /** After the last send, how long to wait for the receiver to decode/store everything sent (default 60 s). */
  readonly drainMs?: number;
}

/** An event request that arrived at the harness's PULL. */
export interface ArrivedRequest {
  readonly key: string;
  readonly arrivedMs: number;
}

export interface StreamRunResult {
  readonly sent: number;
  /** Decoded (bare) or stored (service, counted in the store after a graceful stop). */
  readonly received: number;
  readonly lost: number;
  readonly rejected: number;
  /** Measurements the threshold plugin never saw (its isolation queue overflowed). */
  readonly pluginDropped: number;
  /** Measurements the store writer dropped (its queue was full). */
  readonly storeDropped: number;
  /** The receiver's graceful stop finished within its deadline. */
  readonly clean: boolean;
  /**
   * Messages per second until all sent were decoded/stored, from the first send or, with
   * `warmUpMessages`, from the warm-up mark; undefined when they never were all.
   */
  readonly rate: number | undefined;
  /** With `warmUpMessages`: the rate from the first send, warm-up included. */
  readonly coldRate?: number | undefined;
  /** Wall time of the stream, s. */
  readonly seconds: number;
  /** CPU of each process over the stream, as a fraction of one core. */
  readonly senderCpu: number;
  readonly receiverCpu: number;
  readonly brokerCpu?: number;
  /** Through a broker: the messages it dropped at its backend high-water mark (of `lost`). */
  readonly brokerDropped?: number;
  readonly blockedSends: number;
  readonly completions: readonly Completion[];
  readonly requests: readonly ArrivedRequest[];
  readonly samples: readonly MemorySample[];
  readonly idleRssBytes: number;
  readonly startedRssBytes: number;
  /** Heap after a full collection right after start, and at the end once everything was stored. */
  readonly startedHeapBytes: number | undefined;
  readonly finalHeapBytes: number | undefined;
  readonly finalRssBytes: number;
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
  /** The profile written by `--cpu-prof`, when asked for. */
  readonly profileFile?: string;
}

let certificates: Promise<{ serverCertFile: string; clientCertsDir: string; curve: CurveClientOptions }> | undefined;

/** One server and one box key pair per harness process, written in the original layout. */
function brokerCertificates(dir: string) {
  certificates ??= (async () => {
    const server = generateCurveKeyPair();
    const box = generateCurveKeyPair();
    const paths = await writeCertificatePair(join(dir, 'server'), 'opqserver', server);
    await writeCertificatePair(join(dir, 'boxes'), 'opqbox1', box);
    return {
      serverCertFile: paths.secretFile,
      clientCertsDir: join(dir, 'boxes', 'public_keys'),
      curve: { role: 'client', serverPublicKey: server.publicKey, publicKey: box.publicKey, secretKey: box.secretKey } as const,
    };
  })();
  return certificates;
}

let runNumber = 0;

/** Runs one stream and tears every process down, whatever happens. */
export async function streamRun(options: StreamRunOptions): Promise<StreamRunResult> {
  const run = ++runNumber;
  const sender = spawnChild<SenderRequest | { type: 'exit' }, SenderReport>('sender.ts');
  const receiver = spawnChild<ReceiverRequest, ReceiverReport>(
    'receiver.ts',
    // --expose-gc: the receiver measures the heap after a full collection at start and at the end.
    { nodeFlags: ['--expose-gc', ...(options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [])] },
  );
  const broker = options.broker ? spawnChild<BrokerRequest, BrokerReport>('broker.ts') : undefined;
  const pull = options.receiver === 'service' ? new zmq.Pull({ linger: 0 }) : undefined;
  const requests: ArrivedRequest[] = [];
  try {
    let pullLoop: Promise<void> | undefined;
    if (pull) {
      await pull.bind('tcp://127.0.0.1:*');
      pullLoop = (async () => {
        for await (const [frame] of pull) {
          const arrivedMs = monotonicMs();
          requests.push({ key: requestKey(decodeRequestEventMessage(frame!)), arrivedMs });
        }
      })().catch(() => undefined);
    }

    let senderTarget: Pick<SenderConfig, 'endpoint' | 'bind' | 'curve'> = { endpoint: 'tcp://127.0.0.1:*', bind: true };
    let receiverEndpoint: string | undefined;
    if (broker) {
      const certs = await brokerCertificates(join(options.tempDir, 'curve'));
      broker.send({ type: 'start', serverCertFile: certs.serverCertFile, clientCertsDir: certs.clientCertsDir });
      const ready = await broker.next('ready', 30_000);
      senderTarget = { endpoint: ready.interface, bind: false, curve: certs.curve };
      receiverEndpoint = ready.backend;
    }
    sender.send({
      type: 'start',
      config: {
        ...senderTarget,
        boxes: options.boxes,
        ...(options.count === undefined ? {} : { count: options.count }),
        ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
        ...(options.rate === undefined ? {} : { rate: options.rate }),
        ...(options.scenario === undefined ? {} : { scenario: options.scenario }),
        ...(options.startMs === undefined ? {} : { startMs: options.startMs }),
        detect: options.detect ?? false,
      },
    });
    const senderReady = await sender.next('ready', 30_000);
    receiverEndpoint ??= senderReady.endpoint;

    const storeUri = options.storeUri ?? `sqlite:${join(options.tempDir, `run-${run}.db`)}`;
    const config: ReceiverConfig =
      options.receiver === 'bare'
        ? {
            mode: 'bare',
            endpoint: receiverEndpoint,
            ...(options.count === undefined ? {} : { expected: options.count }),
            ...(options.warmUpMessages === undefined ? {} : { warmUp: options.warmUpMessages }),
          }
        : {
            mode: 'service',
            triggerEndpoint: receiverEndpoint,
            acquisitionEndpoint: pull!.lastEndpoint!,
            storeUri,
            ...(options.count === undefined ? {} : { expected: options.count }),
            ...(options.warmUpMessages === undefined ? {} : { warmUp: options.warmUpMessages }),
            ...(options.sampleEveryMs === undefined ? {} : { sampleEveryMs: options.sampleEveryMs }),
            ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
          };
    receiver.send({ type: 'start', config });
    const ready = await receiver.next('ready', 60_000);

    const sendTimeout = (options.durationMs ?? 0) + 600_000;
    const done = await sender.next('done', sendTimeout);
    // Stop only once everything sent was decoded/stored: stopping closes the SUB, and whatever
    // is still in its queue or in the TCP buffers would count as lost.
    if (options.count === undefined) receiver.send({ type: 'expect', count: done.sent });
    let reachedMs: number | undefined;
    try {
      reachedMs = (await receiver.next('reached', options.drainMs ?? 60_000)).atMs;
    } catch (error) {
      // Not all arrived (lost on a lossy hop): the counts below tell how many.
      if (!(error instanceof Error && /no "reached"/.test(error.message))) throw error;
    }
    const endMs = reachedMs ?? monotonicMs();
    // Sent before `reached`, so already in the inbox when all arrived.
    const warmUp = options.warmUpMessages;
    const warm = warmUp !== undefined && warmUp < done.sent && reachedMs !== undefined ? await receiver.next('warm', 1_000) : undefined;
    receiver.send({ type: 'stop' });
    const stopped = await receiver.next('stopped', 120_000);
    let brokerStopped: Extract<BrokerReport, { type: 'stopped' }> | undefined;
    if (broker) {
      broker.send({ type: 'stop' });
      brokerStopped = await broker.next('stopped', 30_000);
    }
    pull?.close();
    await pullLoop;

    const seconds = (endMs - done.firstSentMs) / 1000;
    let profileFile: string | undefined;
    receiver.send({ type: 'exit' });
    await receiver.exit();
    if (options.profileDir) profileFile = await newestProfile(options.profileDir);
    return {
      sent: done.sent,
      received: stopped.count,
      lost: done.sent - stopped.count,
      rejected: stopped.rejected,
      pluginDropped: stopped.pluginDropped,
      storeDropped: stopped.dropped,
      clean: stopped.clean,
      rate: reachedMs === undefined ? undefined : measuredRate(done.sent, seconds, endMs, warm),
      ...(warm ? { coldRate: done.sent / seconds } : {}),
      seconds,
      senderCpu: done.cpuMs / 1000 / ((done.lastSentMs - done.firstSentMs) / 1000 || 1),
      receiverCpu: stopped.cpuMs / 1000 / (seconds || 1),
      ...(brokerStopped === undefined ? {} : { brokerCpu: brokerStopped.cpuMs / 1000 / (seconds || 1), brokerDropped: brokerStopped.dropped }),
      blockedSends: done.blockedSends,
      completions: done.completions,
      requests,
      samples: stopped.samples,
      idleRssBytes: ready.idleRssBytes,
      startedRssBytes: ready.startedRssBytes,
      startedHeapBytes: ready.startedHeapBytes,
      finalHeapBytes: stopped.finalHeapBytes,
      finalRssBytes: stopped.finalRssBytes,
      eventLoopP99Ms: stopped.eventLoopP99Ms,
      eventLoopMaxMs: stopped.eventLoopMaxMs,
      ...(profileFile === undefined ? {} : { profileFile }),
    };
  } finally {
    pull?.close();
    sender.kill();
    receiver.kill();
    broker?.kill();
    await Promise.all([sender.exit(5_000), receiver.exit(5_000), broker?.exit(5_000)]);
  }
}

/**
 * Messages per second after the warm-up mark, or from the first send when nothing came after the
 * mark: the service's stored count moves in whole batches, so in a short run the mark can already
 * be the whole run.
 */
function measuredRate(sent: number, seconds: number, endMs: number, warm: { readonly atMs: number; readonly count: number } | undefined): number {
  if (warm === undefined || warm.count >= sent || endMs <= warm.atMs) return sent / seconds;
  return (sent - warm.count) / ((endMs - warm.atMs) / 1000);
}

/** The main thread's profile in `dir` (the largest: tsx's loader thread writes a small one too). */
async function newestProfile(dir: string): Promise<string | undefined> {
  await mkdir(dir, { recursive: true });
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  const sized = await Promise.all(files.map(async (f) => ({ f, size: (await stat(join(dir, f))).size, time: (await stat(join(dir, f))).mtimeMs })));
  // Newest process first, then its largest file (main thread).
  sized.sort((a, b) => b.time - a.time || b.size - a.size);
  const newest = sized[0];
  if (!newest) return undefined;
  const pid = newest.f.split('.')[3];
  const same = sized.filter((s) => s.f.split('.')[3] === pid).sort((a, b) => b.size - a.size);
  return join(dir, same[0]!.f);
}
