import { summarize, type BenchScenario } from '../harness.js';
import type { MemorySample } from '../receiver.js';
import { streamRun } from '../stream-run.js';

const MB = 1024 * 1024;

/** Least-squares slope of `y` over `x`. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/**
 * The lowest sample of each run of `size` consecutive samples: the floor a garbage collection
 * returns to, without the saw-tooth in between (which would dominate a slope over a short run).
 */
function floors(samples: readonly MemorySample[], size: number, value: (s: MemorySample) => number): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let i = 0; i + size <= samples.length; i += size) {
    const chunk = samples.slice(i, i + size);
    const lowest = chunk.reduce((a, b) => (value(b) < value(a) ? b : a));
    out.push({ x: lowest.atMs / 60_000, y: value(lowest) / MB });
  }
  return out;
}

/** The memory figures of one run: samples after the first third count as warm. */
export function memoryFigures(samples: readonly MemorySample[]) {
  const warm = samples.slice(Math.floor(samples.length / 3));
  const secondHalf = samples.slice(Math.floor(samples.length / 2));
  // Ten samples (10 s) per floor, at least three floors.
  const size = Math.max(1, Math.min(10, Math.floor(secondHalf.length / 3)));
  return {
    peakRssMb: Math.max(...samples.map((s) => s.rssBytes)) / MB,
    warmRssMb: summarize(warm.map((s) => s.rssBytes)).median / MB,
    /** Slope of the RSS floor over the second half, MB per minute. */
    growthMbPerMinute: slope(floors(secondHalf, size, (s) => s.rssBytes)),
    /** Same for the heap. */
    heapGrowthMbPerMinute: slope(floors(secondHalf, size, (s) => s.heapUsedBytes)),
    /** Largest store write queue seen (measurements received but not yet written). */
    maxStoreQueue: Math.max(0, ...samples.map((s) => s.storeQueue)),
    worstIntervalP99Ms: Math.max(...warm.map((s) => s.eventLoopP99Ms)),
  };
}

/**
 * Scenario 4: 10,000 boxes at 6 Hz (60k msg/s) into the triggering service for 75 s (5 min with
 * `--long`, N with `--minutes N`): RSS over time, bytes per box, event-loop delay, and whether
 * memory plateaus.
 * Box time starts 5 s before a minute boundary, so every box's 1-minute trend window closes
 * (and the next one opens) during the run.
 */
export const scaleBoxesScenario: BenchScenario = {
  name: 'scale-boxes',
  description: '10,000 boxes at 6 Hz (60k msg/s) for 75 s (--long: 5 min, --minutes N): RSS over time, bytes per box, event-loop delay p99, plateau',
  async run(context) {
    const { smoke, long, minutes } = context.options;
    const boxes = smoke ? 500 : 10_000;
    const rate = boxes * 6;
    const durationMs = smoke ? 2_000 : minutes !== undefined ? minutes * 60_000 : long ? 300_000 : 75_000;
    const runs = context.runs(1);
    const figures: ReturnType<typeof memoryFigures>[] = [];
    const achieved: number[] = [];
    const lost: number[] = [];
    const eventLoopP99: number[] = [];
    const heapPerBox: number[] = [];
    const rssPerBox: number[] = [];
    for (let i = 0; i < runs; i++) {
      const now = Date.now();
      const result = await streamRun({
        receiver: 'service',
        boxes,
        rate,
        durationMs,
        startMs: Math.ceil(now / 60_000) * 60_000 - 5_000,
        sampleEveryMs: smoke ? 250 : 1_000,
        drainMs: 180_000,
        tempDir: context.tempDir,
      });
      const f = memoryFigures(result.samples);
      figures.push(f);
      achieved.push(result.rate ?? 0);
      lost.push(result.lost);
      eventLoopP99.push(result.eventLoopP99Ms);
      // Retained per box once everything is stored (no backlog), after a full collection.
      heapPerBox.push(((result.finalHeapBytes ?? Number.NaN) - (result.startedHeapBytes ?? Number.NaN)) / boxes);
      rssPerBox.push((result.finalRssBytes - result.startedRssBytes) / boxes);
      context.log(`run ${i + 1}/${runs}`, {
        sent: result.sent,
        stored: result.received,
        rejected: result.rejected,
        storeDropped: result.storeDropped,
        pluginDropped: result.pluginDropped,
        clean: result.clean,
        ...f,
        receiverCpu: result.receiverCpu,
        rssMb: result.samples.map((s) => Math.round(s.rssBytes / MB)),
        rssFloorPerMinuteMb: floors(result.samples, 60, (s) => s.rssBytes).map((p) => Math.round(p.y)),
      });
    }
    const note = `${boxes} boxes, ${runs} run(s) of ${durationMs / 1000} s; warm = after the first third of the run`;
    context.report({
      metric: 'messages-per-second',
      unit: 'msg/s',
      values: achieved,
      baselineValues: rate,
      baseline: `offered load (${rate} msg/s)`,
      note: 'messages sent / time until all were stored; below the offered rate the receiver falls behind (its store queue grows) and the sender is held back at the high-water mark',
    });
    context.report({ metric: 'lost-messages', unit: 'messages', values: lost, target: '0', meets: () => lost.every((l) => l === 0) });
    context.report({ metric: 'rss-peak', unit: 'MB', values: figures.map((f) => f.peakRssMb), target: '< 500 MB', meets: (m) => m < 500, note });
    context.report({ metric: 'rss-warm', unit: 'MB', values: figures.map((f) => f.warmRssMb), note: 'median RSS after the first third of the run' });
    context.report({
      metric: 'heap-bytes-per-box',
      unit: 'bytes',
      values: heapPerBox,
      note: '(heap after a full GC once everything is stored − heap after a full GC at start) / boxes: the state the service keeps per box',
    });
    context.report({ metric: 'rss-bytes-per-box', unit: 'bytes', values: rssPerBox, note: '(RSS at the end − RSS right after start) / boxes: includes allocator slack, SQLite page cache and socket buffers' });
    context.report({
      metric: 'rss-growth',
      unit: 'MB/min',
      values: figures.map((f) => f.growthMbPerMinute),
      target: 'plateau: < 5 MB/min over the second half',
      // Shrinking (a major GC returning pages) is a plateau too.
      meets: (m) => m < 5,
      note: 'least-squares slope of the RSS floor (lowest sample of every 10 s) over the second half of the run',
    });
    context.report({ metric: 'heap-growth', unit: 'MB/min', values: figures.map((f) => f.heapGrowthMbPerMinute), note: 'same, heap used' });
    context.report({ metric: 'store-queue-max', unit: 'measurements', values: figures.map((f) => f.maxStoreQueue), note: 'most measurements waiting for the store at a sample: a growing backlog, not per-box state' });
    context.report({ metric: 'event-loop-delay-p99', unit: 'ms', values: eventLoopP99, note: 'perf_hooks.monitorEventLoopDelay over the whole run (sampled every 2 ms; the 2 ms interval is subtracted)' });
    context.report({ metric: 'event-loop-delay-worst-second-p99', unit: 'ms', values: figures.map((f) => f.worstIntervalP99Ms) });
  },
};
