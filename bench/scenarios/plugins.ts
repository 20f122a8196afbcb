import { pythonPluginKind } from './plugins-python-kind.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Subject, asyncScheduler, lastValueFrom, tap, toArray } from 'rxjs';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { isolatePlugin } from '../../src/plugins/isolate-plugin.js';
import { loadPlugin } from '../../src/plugins/plugin-loader.js';
import { emptyBoxDirectory, type Measurement, type PluginOperator, type PluginSettings } from '../../src/plugins/plugin.js';
import { workerPlugin } from '../../src/plugins/worker-plugin.js';
import { monotonicMs } from '../child-process.js';
import type { BenchScenario, ScenarioContext } from '../harness.js';

/**
 * Scenario `plugins`: measurements per second through one plugin of each kind, all running the
 * same rule (`sag-swell`: the TypeScript reference `test/fixtures/plugins/sag-swell.ts` and the
 * WebAssembly examples built from `plugins/wasm/` by `.ci/build-wasm-plugins.sh`) on the same
 * stream, each behind `isolatePlugin` as `makai run` runs it, in this process. The stream
 * (1000 boxes in turn, a three-box sag every 2 rounds) is handed over as fast as the plugin
 * reports (see `measure`), and the time is from the first measurement to the plugin's
 * completion: what the plugin and its isolation cost per measurement, without sockets or storage. Every kind must emit the same requests and
 * drop nothing, or the run fails. Kinds are interleaved run by run, and each ratio is the
 * median of the per-run ratios to the in-process TypeScript plugin.
 *
 * A new kind is one more entry in the list of {@link kinds}.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = `${ROOT}test/fixtures/plugins/`;
const WASM = `${ROOT}plugins/wasm/build/`;
const BOXES = 1000;

interface PluginKind {
  /** Figure name: `measurements-per-second-<kind>`. */
  readonly kind: string;
  readonly note: string;
  /** Why it cannot run here, or undefined. */
  readonly unavailable?: () => string | undefined;
  /** The isolated operator, ready to subscribe (queue large enough for the whole stream). */
  operator(count: number): Promise<PluginOperator>;
}

// The whole stream is queued before the plugin has seen any of it, so the source completes at
// once: the drain timeout must outlast the run, or a slow kind would be cut off (and flattered).
const isolate = (operator: PluginOperator, name: string, metrics: Metrics, count: number) =>
  isolatePlugin(operator, { name, logger: silentLogger, metrics, scheduler: asyncScheduler, maxQueue: count, drainTimeoutMs: 600_000 });

/** An in-process plugin loaded from `entry` as `makai run` loads it. */
function inProcess(entry: PluginSettings, baseDir: string, metrics: Metrics) {
  return async (count: number) => {
    const loaded = await loadPlugin(entry, { baseDir });
    return isolate(loaded.create({ logger: silentLogger, scheduler: asyncScheduler, boxes: emptyBoxDirectory }), loaded.name, metrics, count);
  };
}

const missingWasm = (file: string) => () => (existsSync(`${WASM}${file}`) ? undefined : `${WASM}${file} is not built (.ci/build-wasm-plugins.sh)`);

function kinds(metrics: Metrics): PluginKind[] {
  return [
    { kind: 'ts', note: 'TypeScript, in-process', operator: inProcess({ path: 'sag-swell.ts' }, FIXTURES, metrics) },
    {
      kind: 'ts-worker',
      note: 'TypeScript, isolation "worker" (a worker thread)',
      async operator(count) {
        const operator = await workerPlugin({ entry: { path: 'sag-swell.ts' }, baseDir: FIXTURES, name: 'sag-swell-worker', logger: silentLogger, metrics, scheduler: asyncScheduler, maxQueue: count });
        return isolate(operator, 'sag-swell-worker', metrics, count);
      },
    },
    { kind: 'wasm-c', note: 'WebAssembly from C (clang -O2), in-process', unavailable: missingWasm('sag-swell-c.wasm'), operator: inProcess({ path: 'sag-swell-c.wasm' }, WASM, metrics) },
    { kind: 'wasm-rust', note: 'WebAssembly from Rust (rustc -O), in-process', unavailable: missingWasm('sag-swell-rust.wasm'), operator: inProcess({ path: 'sag-swell-rust.wasm' }, WASM, metrics) },
    pythonPluginKind(metrics),
  ];
}

/** Rounds (of one measurement per box) per segment; each segment holds one sag, closed inside it. */
const SEGMENT_ROUNDS = 2;
/** Segments handed over before the plugin has reported the sag of the first: bounds every queue. */
const WINDOW = 2;
/**
 * The queues' bound: when a request comes out, up to WINDOW segments are still waiting and one
 * more arrives. Small enough (6000) that the queue arrays stay out of V8's large-object space,
 * where Array#shift is a copy of the whole array.
 */
const QUEUE = (WINDOW + 1) * SEGMENT_ROUNDS * BOXES;

/**
 * `segments` segments of 1000 boxes in turn; in the first round of each, boxes 1–3 sag to 100 V
 * (one episode, one request, closed by the second round).
 */
function stream(segments: number): Measurement[][] {
  const t0 = 1_700_000_000_000;
  return Array.from({ length: segments }, (_, s) =>
    Array.from({ length: SEGMENT_ROUNDS * BOXES }, (_, j) => {
      const i = s * SEGMENT_ROUNDS * BOXES + j;
      const id = (j % BOXES) + 1;
      const round = Math.floor(i / BOXES);
      const sag = round % SEGMENT_ROUNDS === 0 && id <= 3;
      return { id, time: t0 + Math.floor((round * 1000) / 6), frequency: 60 + Math.sin(i) * 0.01, rms: sag ? 100 : 120 + Math.cos(i) * 0.2, thd: 0.025 };
    }),
  );
}

/**
 * Runs the segments through the plugin, paced by its output: segment k + WINDOW is handed over
 * when the request of segment k comes out. So the queues in front of the plugin never hold
 * more than WINDOW segments (a queue of a whole stream would measure Array#shift on a huge
 * array, not the plugin), and nothing is dropped.
 */
async function measure(kind: PluginKind, segments: readonly Measurement[][]) {
  const count = segments.length * SEGMENT_ROUNDS * BOXES;
  const operator = await kind.operator(QUEUE);
  const input = new Subject<Measurement>();
  const requests: string[] = [];
  let next = 0;
  const handOver = () => {
    if (next < segments.length) for (const m of segments[next++]!) input.next(m);
    if (next === segments.length) {
      next += 1;
      input.complete();
    }
  };
  const started = monotonicMs();
  const done = lastValueFrom(
    input.pipe(
      operator,
      tap((r) => {
        requests.push(`${r.startTimestampMsUtc}-${r.endTimestampMsUtc}:${r.boxIds.join(',')}`);
        setImmediate(handOver);
      }),
      toArray(),
    ),
  );
  for (let k = 0; k < WINDOW; k++) handOver();
  await done;
  const elapsedMs = monotonicMs() - started;
  return { rate: count / (elapsedMs / 1000), requests: requests.join(' ') };
}

export const pluginsScenario: BenchScenario = {
  name: 'plugins',
  description: 'measurements per second through one plugin of each kind (TS in-process, TS worker, WebAssembly C and Rust), same rule, same stream',
  async run(context: ScenarioContext) {
    const segments = stream(context.options.smoke ? 3 : 500);
    const count = segments.length * SEGMENT_ROUNDS * BOXES;
    const metrics = new Metrics();
    const all = kinds(metrics).filter((kind) => {
      const why = kind.unavailable?.();
      if (why !== undefined) context.log(`skipping ${kind.kind}: ${why}`);
      return why === undefined;
    });
    const rates = new Map(all.map((kind) => [kind.kind, [] as number[]]));
    const runs = context.runs(3);
    let reference: string | undefined;
    for (let run = 1; run <= runs; run++) {
      for (const kind of all) {
        const droppedBefore = await metrics.value('makai_plugin_dropped_total');
        const { rate, requests } = await measure(kind, segments);
        const dropped = (await metrics.value('makai_plugin_dropped_total')) - droppedBefore;
        if (dropped > 0) throw new Error(`${kind.kind} dropped ${dropped} measurements: its figure would be flattered`);
        reference ??= requests;
        if (requests !== reference) throw new Error(`${kind.kind} emitted other requests than ${all[0]!.kind}: ${requests.slice(0, 200)} vs ${reference.slice(0, 200)}`);
        rates.get(kind.kind)!.push(rate);
        context.log(`run ${run}/${runs} ${kind.kind}`, { rate: Math.round(rate) });
      }
    }
    const baseline = rates.get('ts')!;
    for (const kind of all) {
      const wasm = kind.kind.startsWith('wasm');
      context.report({
        metric: `measurements-per-second-${kind.kind}`,
        unit: 'measurements/s',
        values: rates.get(kind.kind)!,
        ...(kind.kind === 'ts' ? {} : { baselineValues: baseline, baseline: 'plugins/measurements-per-second-ts' }),
        ...(wasm ? { target: '>= 0.5 of the TS plugin', meets: (_median: number, ratio: number | undefined) => ratio !== undefined && ratio >= 0.5 } : {}),
        note: `${kind.note}; ${count} measurements of ${BOXES} boxes, ${reference?.split(' ').length ?? 0} requests`,
      });
    }
  },
};
