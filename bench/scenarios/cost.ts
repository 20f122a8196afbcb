import type { BenchScenario, ScenarioContext } from '../harness.js';
import { streamRun, type StreamRunResult } from '../stream-run.js';

/** The fixed offered rates of issue 18, msg/s, and how long each is held. */
const RATES = [200, 1_000, 10_000, 50_000] as const;
const SECONDS = 30;
const BOXES = 1_000;

/** µs of CPU (user + system, all threads of the process) per message of a run. */
function cpuPerMessageUs(run: StreamRunResult): number {
  return (run.receiverCpu * run.seconds * 1e6) / Math.max(run.sent, 1);
}

/** The service's RSS at the end of the steady state: the median of the second half of its samples. */
function steadyRssMb(run: StreamRunResult): number {
  const samples = run.samples.slice(Math.floor(run.samples.length / 2));
  if (samples.length === 0) return run.finalRssBytes / 2 ** 20;
  const sorted = samples.map((s) => s.rssBytes).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]! / 2 ** 20;
}

/** The stores to measure: SQLite always; MongoDB when MAKAI_BENCH_MONGODB_URI names a server. */
function stores(): { readonly name: string; readonly uri?: string }[] {
  const mongodb = process.env['MAKAI_BENCH_MONGODB_URI'];
  return [{ name: 'sqlite' }, ...(mongodb ? [{ name: 'mongodb', uri: mongodb }] : [])];
}

/**
 * Scenario: the cost of the steady state (issue 18). At each fixed rate, for `SECONDS`, the
 * bare receiver (receive + decode, the ceiling's process) and then the triggering service on
 * the default topology (threshold plugin, store) take the same paced stream from 1,000 boxes;
 * reported per rate and store: CPU µs per message of each (user + system of the whole process,
 * every thread included), their ratio (what stays comparable across machines), the service's
 * steady RSS and event-loop delay p99, and what was lost.
 */
export const costScenario: BenchScenario = {
  name: 'cost',
  description:
    'steady-state cost at fixed rates (200, 1000, 10000, 50000 msg/s, 1000 boxes, 30 s each): CPU µs per message of the service and of the bare receiver in the same run, their ratio, RSS and event-loop p99; SQLite, and MongoDB with MAKAI_BENCH_MONGODB_URI',
  async run(context: ScenarioContext) {
    const rates = context.options.smoke ? [200] : RATES;
    const seconds = context.options.smoke ? 1 : SECONDS;
    for (const store of stores()) {
      for (const rate of rates) {
        const runs = context.runs(1);
        const bare: StreamRunResult[] = [];
        const service: StreamRunResult[] = [];
        for (let i = 0; i < runs; i++) {
          const stream = { boxes: BOXES, rate, durationMs: seconds * 1000, tempDir: context.tempDir, drainMs: 30_000 } as const;
          bare.push(await streamRun({ ...stream, receiver: 'bare' }));
          service.push(await streamRun({ ...stream, receiver: 'service', sampleEveryMs: 1000, ...(store.uri ? { storeUri: store.uri } : {}) }));
          context.log('cost run', { store: store.name, rate, bareCpu: bare[i]!.receiverCpu, serviceCpu: service[i]!.receiverCpu, lost: service[i]!.lost });
        }
        const at = `${rate}-${store.name}`;
        context.report({
          metric: `service-cpu-us-per-message-${at}`,
          unit: 'µs',
          values: service.map(cpuPerMessageUs),
          baselineValues: bare.map(cpuPerMessageUs),
          baseline: `cost/bare-cpu-us-per-message-${at}`,
          note: `user + system CPU of the service process (all threads) / messages sent, at ${rate} msg/s for ${seconds} s; ratio to the bare receiver in the same run`,
        });
        context.report({ metric: `bare-cpu-us-per-message-${at}`, unit: 'µs', values: bare.map(cpuPerMessageUs) });
        context.report({ metric: `service-cpu-share-of-a-core-${at}`, unit: 'cores', values: service.map((run) => run.receiverCpu) });
        context.report({ metric: `service-rss-${at}`, unit: 'MB', values: service.map(steadyRssMb), note: 'median RSS of the second half of the run' });
        context.report({ metric: `service-event-loop-p99-${at}`, unit: 'ms', values: service.map((run) => run.eventLoopP99Ms) });
        context.report({ metric: `service-lost-${at}`, unit: 'messages', values: service.map((run) => run.lost), target: '0', meets: (median) => median === 0 });
      }
    }
  },
};
