/**
 * The default triggering topology in one process, its ZeroMQ source replaced by pre-encoded
 * trigger frames: what Makai's own code costs per message, without the transport and without a
 * sender process competing for the cores. A diagnostic next to the scenarios of `npm run bench`
 * (which measure the real thing), for profiling the pipeline:
 *
 * ```sh
 * node --import tsx bench/in-process.ts [messages] [runs]
 * node --cpu-prof --cpu-prof-dir=bench/results/profiles --import tsx bench/in-process.ts
 * ```
 *
 * Frames of 1000 boxes in turn (as `bench/sender.ts` sends them) are delivered 200 at a time,
 * one `setImmediate` apart, so timers and the store get turns as they would between socket
 * reads. A run ends when every measurement is stored. Prints one JSON line per run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Observable } from 'rxjs';
import { startTriggeringService } from '../src/cli/triggering-service.js';
import { parseConfig } from '../src/config/load-json-config.js';
import { makaiSettingsSchema } from '../src/config/makai-settings.js';
import { topologyOptionsOf } from '../src/topologies/opq-triggering-options.js';
import { defineSource } from '../src/nodes/component.js';
import { createJsonLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { encodeTriggerMessage } from '../src/protocol/trigger-message-codec.js';
import { openStore } from '../src/stores/open-store.js';
import type { Topology } from '../src/topology.js';
import { defaultTopology } from '../src/cli/load-topology.js';
import { monotonicMs } from './child-process.js';

const BOXES = 1000;
const CHUNK = 200;

/** `count` trigger frames, 1000 boxes in turn, box time 1/6 s apart per box, ending about now. */
function triggerFrames(count: number): Uint8Array[][] {
  const t0 = Date.now() - Math.ceil(count / BOXES) * (1000 / 6);
  return Array.from({ length: count }, (_, i) => {
    const id = (i % BOXES) + 1;
    const round = Math.floor(i / BOXES);
    const message = { id, time: t0 + Math.floor((round * 1000) / 6), frequency: 60 + Math.sin(i) * 0.01, rms: 120 + Math.cos(i) * 0.2, thd: 0.025, flags: 0 };
    return [Buffer.from(String(id)), encodeTriggerMessage(message)];
  });
}

/** Emits the frames in chunks, yielding between them; records when the first one went out. */
/** A source node that replays the prepared frames, in place of the trigger subscription. */
const preparedFrames = defineSource<unknown, { frames: readonly Uint8Array[][]; started: { atMs: number } }, never, Uint8Array[]>({
  kind: 'prepared-frames',
  summary: 'the prepared frames, as fast as they are taken',
  resources: [],
  validate: (options) => options as { frames: readonly Uint8Array[][]; started: { atMs: number } },
  create: ({ frames, started }) => framesSource(frames, started),
});

function framesSource(frames: readonly Uint8Array[][], started: { atMs: number }): Observable<Uint8Array[]> {
  return new Observable((subscriber) => {
    let next = 0;
    let stopped = false;
    const step = () => {
      if (stopped) return;
      if (next === 0) started.atMs = monotonicMs();
      const end = Math.min(frames.length, next + CHUNK);
      for (; next < end; next++) subscriber.next(frames[next]!);
      if (next < frames.length) setImmediate(step);
    };
    setImmediate(step);
    return () => void (stopped = true);
  });
}

async function runOnce(frames: readonly Uint8Array[][], dir: string) {
  const storeUri = `sqlite:${join(dir, 'makai.db')}`;
  const settings = parseConfig(
    { zmq_trigger_endpoint: 'tcp://127.0.0.1:1', zmq_acquisition_endpoint: 'tcp://127.0.0.1:2', plugins: [{ plugin: 'threshold' }], store: storeUri },
    makaiSettingsSchema,
  );
  const started = { atMs: 0 };
  const real = await defaultTopology(topologyOptionsOf(settings));
  // The same nodes, but the trigger subscription reads the prepared frames.
  const topology: Topology = {
    ...real,
    nodes: real.nodes.map((node) => (node.type === 'source' && node.id === 'trigger' ? { ...node, spec: preparedFrames(), checked: { frames, started } } : node)),
  };
  const logger = createJsonLogger({ level: 'error', now: Date.now });
  const metrics = new Metrics();
  const store = await openStore(storeUri, { logger, metrics });
  const service = await startTriggeringService({ loaded: { topology, settings, baseDir: dir, file: undefined }, storeUri, store, logger, metrics });
  const cpuBefore = process.cpuUsage();
  while ((await metrics.value('makai_store_written_total', { collection: 'measurements' })) < frames.length) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const wallMs = monotonicMs() - started.atMs;
  const cpu = process.cpuUsage(cpuBefore);
  const pluginDropped = await metrics.value('makai_plugin_dropped_total');
  await service.stop();
  await store.close();
  return {
    messages: frames.length,
    usPerMessage: Number(((wallMs * 1000) / frames.length).toFixed(2)),
    messagesPerSecond: Math.round(frames.length / (wallMs / 1000)),
    cpuUsPerMessage: Number(((cpu.user + cpu.system) / frames.length).toFixed(2)),
    pluginDropped,
  };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 300_000);
  const runs = Number(process.argv[3] ?? 3);
  const frames = triggerFrames(count);
  for (let run = 1; run <= runs; run++) {
    const dir = await mkdtemp(join(tmpdir(), 'makai-in-process-'));
    try {
      process.stdout.write(`${JSON.stringify({ run, ...(await runOnce(frames, dir)) })}\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
