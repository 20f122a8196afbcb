import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadTopology } from '../../src/cli/load-topology.js';
import { migrateSqliteSchema } from '../../src/stores/sqlite-schema.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { runReplay } from '../../src/topologies/run-replay.js';
import { monotonicMs } from '../child-process.js';
import type { MeasurementDoc } from '../../src/protocol/documents.js';
import type { Store } from '../../src/stores/store.js';
import type { BenchScenario } from '../harness.js';

const MB = 1024 * 1024;
const BOXES = 100;
const PER_SECOND = 6;
const DAY_MEASUREMENTS = BOXES * PER_SECOND * 86_400;
/** Box time of the recording: a fixed day, so the figures do not depend on when the bench runs. */
const T0 = Date.UTC(2026, 0, 1);

/**
 * Writes `minutes` of the day for 100 boxes at 6/s straight into a SQLite file of the store's
 * schema (raw better-sqlite3, transactions of 10,000: setting up, not what is measured). Values
 * wander around 120 V / 60 Hz / 2.5 % THD, and every 10 minutes one box in ten sags by 10 %
 * for a second, so the threshold plugin, its grouping and dedupe have work to do.
 */
function writeRecording(file: string, minutes: number): number {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    migrateSqliteSchema(db);
    const insert = db.prepare('INSERT INTO measurements (box_id, timestamp_ms, voltage, frequency, thd, expire_at_ms) VALUES (?, ?, ?, ?, ?, ?)');
    const expireAt = T0 + 2 * 86_400_000;
    const ticks = minutes * 60 * PER_SECOND;
    const batch = db.transaction((from: number, to: number) => {
      for (let tick = from; tick < to; tick++) {
        const time = T0 + Math.floor((tick * 1000) / PER_SECOND);
        const inMinute = (time - T0) % 600_000;
        for (let box = 1; box <= BOXES; box++) {
          const sag = inMinute < 1000 && box % 10 === Math.floor((time - T0) / 600_000) % 10;
          const k = tick * BOXES + box;
          insert.run(String(box), time, sag ? 108 : 120 + Math.sin(k) * 0.3, 60 + Math.cos(k) * 0.003, 0.025 + Math.sin(k / 7) * 0.001, expireAt);
        }
      }
    });
    const perBatch = Math.ceil(10_000 / BOXES);
    for (let tick = 0; tick < ticks; tick += perBatch) batch(tick, Math.min(ticks, tick + perBatch));
    return ticks * BOXES;
  } finally {
    db.close();
  }
}

/**
 * The recording's measurements from memory, in the pages the SQLite store yields, generated as
 * they are read: the replay pipeline's own rate, without the store's reads.
 */
function memoryRecording(minutes: number): Store {
  const expireAt = new Date(T0 + 2 * 86_400_000);
  const ticks = minutes * 60 * PER_SECOND;
  return {
    listBoxes: async () => [],
    async *streamMeasurements() {
      let page: MeasurementDoc[] = [];
      for (let tick = 0; tick < ticks; tick++) {
        const time = T0 + Math.floor((tick * 1000) / PER_SECOND);
        const inMinute = (time - T0) % 600_000;
        for (let box = 1; box <= BOXES; box++) {
          const sag = inMinute < 1000 && box % 10 === Math.floor((time - T0) / 600_000) % 10;
          const k = tick * BOXES + box;
          page.push({ box_id: String(box), timestamp_ms: time, voltage: sag ? 108 : 120 + Math.sin(k) * 0.3, frequency: 60 + Math.cos(k) * 0.003, thd: 0.025 + Math.sin(k / 7) * 0.001, expireAt });
          if (page.length === 5000) {
            yield page;
            page = [];
          }
        }
      }
      if (page.length > 0) yield page;
    },
  } as Partial<Store> as Store;
}

/** The lowest value of each tenth of the points: the floor a collection returns to, without the saw-tooth. */
function floorsOf(points: readonly RssPoint[], value: (point: RssPoint) => number): number[] {
  const size = Math.max(1, Math.floor(points.length / 10));
  const floors: number[] = [];
  for (let i = 0; i + size <= points.length; i += size) floors.push(Math.min(...points.slice(i, i + size).map(value)));
  return floors;
}

/** The floor's last tenth against the floor half way, per million of `rows / 2` measurements. */
function floorGrowthPerMillion(floors: readonly number[], rows: number): number {
  if (floors.length < 2) return 0;
  return (((floors.at(-1) ?? 0) - (floors[Math.floor(floors.length / 2)] ?? 0)) / (rows / 2)) * 1e6;
}

interface RssPoint {
  readonly seconds: number;
  readonly measurements: number;
  readonly rssMb: number;
  readonly heapMb: number;
}

/**
 * Scenario `replay`: `makai replay` speed and memory on a stored day of 100 boxes. A whole
 * day is 51.8 M rows (about 3 GB of SQLite and minutes just to write), too much for a bench
 * that runs in a few minutes, so it writes a slice of the day (60 minutes, 2.16 M rows; 240 with
 * `--long`; `--minutes N` for N) and replays all of it through the default topology (threshold
 * plugin, dedupe) on the replay clock. It reports measurements per second over the whole
 * replay and what a full day would take at that rate, and samples RSS and heap every 20,000
 * measurements to show that memory stays flat (the range is read in pages, never held).
 */
export const replayScenario: BenchScenario = {
  name: 'replay',
  description: 'makai replay over stored measurements of 100 boxes at 6/s (a slice of the day) on SQLite: measurements/s, RSS over time',
  async run(context) {
    const smoke = context.options.smoke;
    const minutes = smoke ? 1 : (context.options.minutes ?? (context.options.long ? 240 : 60));
    const runs = context.runs(3);
    const file = join(context.tempDir, 'recording.db');
    const writeStarted = monotonicMs();
    const rows = writeRecording(file, minutes);
    context.log('recording written', { minutes, rows, seconds: Math.round((monotonicMs() - writeStarted) / 100) / 10 });

    const { topology } = await loadTopology(undefined);
    const reads: number[] = [];
    const pipeline: number[] = [];
    const rates: number[] = [];
    const peaks: number[] = [];
    const growths: number[] = [];
    const heapGrowths: number[] = [];
    let curve: RssPoint[] = [];
    let requests = 0;
    for (let run = 0; run < runs; run++) {
      const store = await openSqliteStore({ path: file });
      try {
        // The two halves apart: the store's reads alone, and the pipeline fed from memory.
        let read = 0;
        const readStarted = monotonicMs();
        for await (const page of store.streamMeasurements({ fromMs: T0, toMs: T0 + minutes * 60_000 })) read += page.length;
        reads.push(read / ((monotonicMs() - readStarted) / 1000));
        const pipelineStarted = monotonicMs();
        const fromMemory = await runReplay(topology, { store: memoryRecording(minutes), fromMs: T0, toMs: T0 + minutes * 60_000 });
        pipeline.push(fromMemory.measurements / ((monotonicMs() - pipelineStarted) / 1000));

        const points: RssPoint[] = [];
        const started = monotonicMs();
        const sample = (fed: number) => {
          const memory = process.memoryUsage();
          points.push({ seconds: (monotonicMs() - started) / 1000, measurements: fed, rssMb: memory.rss / MB, heapMb: memory.heapUsed / MB });
        };
        sample(0);
        const result = await runReplay(topology, {
          store,
          fromMs: T0,
          toMs: T0 + minutes * 60_000,
          onProgress: (fed) => {
            if (fed % 20_000 === 0) sample(fed);
          },
        });
        const seconds = (monotonicMs() - started) / 1000;
        sample(result.measurements);
        if (result.measurements !== rows) throw new Error(`replayed ${result.measurements} of ${rows} measurements`);
        rates.push(result.measurements / seconds);
        peaks.push(Math.max(...points.map((p) => p.rssMb)));
        growths.push(floorGrowthPerMillion(floorsOf(points, (p) => p.rssMb), rows));
        heapGrowths.push(floorGrowthPerMillion(floorsOf(points, (p) => p.heapMb), rows));
        curve = points;
        requests = result.requests.length;
        context.log('replayed', { run, measurements: result.measurements, seconds: Math.round(seconds * 10) / 10, requests });
      } finally {
        await store.close();
      }
    }
    const note = `${minutes} min of 100 boxes at 6/s (${rows} rows) of a day's ${DAY_MEASUREMENTS}; default topology (threshold, dedupe); ${requests} requests`;
    context.report({ metric: 'measurements-per-second', unit: 'measurements/s', values: rates, target: '>= 200000 on SQLite', meets: (m) => m >= 200_000, note });
    context.report({ metric: 'sqlite-read-per-second', unit: 'measurements/s', values: reads, note: 'store.streamMeasurements alone over the same range (pages of 5000)' });
    context.report({ metric: 'pipeline-per-second', unit: 'measurements/s', values: pipeline, note: 'the same replay fed from memory (pages generated as read): plugins, dedupe, replay clock' });
    context.report({ metric: 'day-of-100-boxes-seconds', unit: 's', values: rates.map((r) => DAY_MEASUREMENTS / r), target: '< 300 s', meets: (m) => m < 300, note: 'a full day (51.8 M measurements) at the measured rate' });
    context.report({ metric: 'rss-peak', unit: 'MB', values: peaks, note });
    context.report({ metric: 'heap-growth-per-million', unit: 'MB', values: heapGrowths, target: 'flat: < 2 MB per million measurements over the second half', meets: (m) => m < 2, note: 'heap floor (lowest sample of each tenth of the replay): last tenth − half way, per million measurements' });
    context.report({ metric: 'rss-growth-per-million', unit: 'MB', values: growths, note: 'the same for RSS; it includes SQLite page cache filling as new pages are read (bounded: cache_size 16 MB per connection)' });
    // Every 100,000th measurement of the curve is enough to read it (docs/benchmarks.md).
    const shown = curve.filter((p, i) => p.measurements % 100_000 === 0 || i === curve.length - 1);
    context.log('memory curve of the last run: [s, measurements, RSS MB, heap MB]', { points: shown.map((p) => [Math.round(p.seconds * 10) / 10, p.measurements, Math.round(p.rssMb), Math.round(p.heapMb)]) });
  },
};
