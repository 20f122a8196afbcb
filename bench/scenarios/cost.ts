import { join } from 'node:path';
import type { BenchScenario, ScenarioContext } from '../harness.js';
import { daemonRun, ensureBuilt, type DaemonRunResult } from '../daemon-run.js';

/** The fixed offered rates of issue 18, msg/s. */
const RATES = [200, 1_000, 10_000, 50_000] as const;
/** Measured seconds per run, after the warm-up. */
const SECONDS = 30;
const WARM_UP_SECONDS = 8;
const BOXES = 1_000;

/**
 * The stores to measure: SQLite, and MongoDB when MAKAI_BENCH_MONGODB_URI names a server;
 * MAKAI_BENCH_STORES (`sqlite`, `mongodb`, or both, comma-separated) picks among them.
 */
function stores(): { readonly name: string; readonly uri?: string }[] {
  const mongodb = process.env['MAKAI_BENCH_MONGODB_URI'];
  const wanted = process.env['MAKAI_BENCH_STORES']?.split(',');
  const all = [{ name: 'sqlite' }, ...(mongodb ? [{ name: 'mongodb', uri: mongodb }] : [])];
  return wanted ? all.filter((store) => wanted.includes(store.name)) : all;
}

/** The rates to run: all of `RATES`, or those MAKAI_BENCH_RATES lists (comma-separated). */
function ratesWanted(): readonly number[] {
  const wanted = process.env['MAKAI_BENCH_RATES']?.split(',').map(Number);
  if (wanted === undefined) return RATES;
  const unknown = wanted.filter((rate) => !(RATES as readonly number[]).includes(rate));
  if (unknown.length > 0) throw new Error(`MAKAI_BENCH_RATES: ${unknown.join(', ')} is not one of ${RATES.join(', ')}`);
  return wanted;
}

/** A fresh database per run on a shared MongoDB server (the run counts what it stored). */
function runStoreUri(uri: string | undefined, run: string): string | undefined {
  if (uri === undefined) return undefined;
  const url = new URL(uri);
  url.pathname = `/makai_bench_cost_${run}`;
  return url.href;
}

/**
 * Scenario: the cost of the steady state (issue 18). At each fixed rate the bare receiver
 * (receive + decode) and then the built daemon (`makai run` on the default topology: threshold
 * plugin, store, trends) take the same paced stream from 1,000 boxes; after a warm-up, for
 * `SECONDS`, each is measured from the outside: CPU of the whole process (every thread) per
 * message, its share of a core, the median RSS, the event-loop delay, and what was lost.
 * The ratio of the two CPU figures is what stays comparable across machines.
 */
export const costScenario: BenchScenario = {
  name: 'cost',
  description:
    'steady-state cost of the built daemon at fixed rates (200, 1000, 10000, 50000 msg/s, 1000 boxes, 30 s each after an 8 s warm-up): CPU µs per message and share of a core beside the bare receiver in the same run, RSS, event-loop p99, loss; SQLite, and MongoDB with MAKAI_BENCH_MONGODB_URI',
  async run(context: ScenarioContext) {
    ensureBuilt((message) => context.log(message));
    const rates = context.options.smoke ? [200] : ratesWanted();
    const seconds = context.options.smoke ? 2 : SECONDS;
    const warmUpSeconds = context.options.smoke ? 1 : WARM_UP_SECONDS;
    let runNumber = 0;
    for (const store of stores()) {
      for (const rate of rates) {
        const runs = context.runs(3);
        const bare: DaemonRunResult[] = [];
        const service: DaemonRunResult[] = [];
        for (let i = 0; i < runs; i++) {
          const run = `${++runNumber}`;
          const stream = { boxes: BOXES, rate, seconds, warmUpSeconds, failureLogDir: context.resultsDir } as const;
          bare.push(await daemonRun({ ...stream, receiver: 'bare', dir: join(context.tempDir, `bare-${run}`) }));
          const storeUri = runStoreUri(store.uri, run);
          service.push(await daemonRun({ ...stream, receiver: 'service', dir: join(context.tempDir, `service-${run}`), ...(storeUri ? { storeUri } : {}) }));
          context.log('cost run', { store: store.name, rate, bareCores: bare[i]!.cores, serviceCores: service[i]!.cores, rssMb: service[i]!.rssMb, lost: service[i]!.sent - service[i]!.received });
        }
        const at = `${rate}-${store.name}`;
        context.report({
          metric: `service-cpu-us-per-message-${at}`,
          unit: 'µs',
          values: service.map((r) => r.cpuUsPerMessage),
          baselineValues: bare.map((r) => r.cpuUsPerMessage),
          baseline: `cost/bare-cpu-us-per-message-${at}`,
          note: `user + system CPU of the daemon process (all threads, /proc) per message, ${rate} msg/s for ${seconds} s after ${warmUpSeconds} s; ratio to the bare receiver in the same run`,
        });
        context.report({ metric: `bare-cpu-us-per-message-${at}`, unit: 'µs', values: bare.map((r) => r.cpuUsPerMessage) });
        context.report({
          metric: `service-cpu-share-of-a-core-${at}`,
          unit: 'cores',
          values: service.map((r) => r.cores),
          ...(rate === 1_000 ? { target: '<= 0.077 (0.8 x the original at 1,000 msg/s)', meets: (median: number) => median <= 0.077 } : {}),
        });
        context.report({ metric: `bare-cpu-share-of-a-core-${at}`, unit: 'cores', values: bare.map((r) => r.cores) });
        context.report({
          metric: `service-rss-${at}`,
          unit: 'MB',
          values: service.map((r) => r.rssMb),
          note: 'median RSS over the measured window',
          ...(rate === 1_000 && store.name === 'sqlite' ? { target: '<= 70 MB', meets: (median: number) => median <= 70 } : {}),
        });
        context.report({ metric: `bare-rss-${at}`, unit: 'MB', values: bare.map((r) => r.rssMb) });
        context.report({
          metric: `service-rss-anon-${at}`,
          unit: 'MB',
          values: service.map((r) => r.rssAnonMb),
          note: 'median anonymous RSS (RssAnon: without the pages of the node binary and libraries)',
        });
        context.report({ metric: `bare-rss-anon-${at}`, unit: 'MB', values: bare.map((r) => r.rssAnonMb) });
        context.report({ metric: `service-event-loop-p99-${at}`, unit: 'ms', values: service.map((r) => r.eventLoopP99Ms) });
        context.report({ metric: `service-lost-${at}`, unit: 'messages', values: service.map((r) => r.sent - r.received), target: '0', meets: (median) => median === 0 });
      }
    }
  },
};
