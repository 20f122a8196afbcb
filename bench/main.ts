import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runBench, selectScenarios, type BenchScenario } from './harness.js';
import { ceilingScenario } from './scenarios/ceiling.js';
import { costScenario } from './scenarios/cost.js';
import { detectionLatencyScenario } from './scenarios/detection-latency.js';
import { pipelineThroughputScenario } from './scenarios/pipeline-throughput.js';
import { pluginsScenario } from './scenarios/plugins.js';
import { replayScenario } from './scenarios/replay.js';
import { scaleBoxesScenario } from './scenarios/scale-boxes.js';
import { storeWriteRateScenario } from './scenarios/store-write-rate.js';

/** Every scenario, in the order `npm run bench` runs them. */
export const SCENARIOS: readonly BenchScenario[] = [
  ceilingScenario,
  pipelineThroughputScenario,
  detectionLatencyScenario,
  scaleBoxesScenario,
  storeWriteRateScenario,
  pluginsScenario,
  replayScenario,
  costScenario,
];

const DEFAULT_RESULTS = fileURLToPath(new URL('results/latest.json', import.meta.url));

const usage = `Usage: npm run bench -- [scenario…] [options]

Runs the benchmarks (all, or those whose name starts with a given prefix) and prints one JSON
line per figure; writes every figure, the machine and the options to bench/results/latest.json.

Scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(18)}${s.description}`).join('\n')}

Options:
  --long        long variants (scale-boxes for 5 minutes instead of 75 s)
  --minutes N   scale-boxes for N minutes (RSS levels off after about 6; see docs/benchmarks.md);
                replay: N minutes of the day recorded and replayed (default 60, 240 with --long)
  --profile     run the first direct pipeline run of "throughput" under node --cpu-prof and
                print its hotspots (profiles in bench/results/profiles/)
  --runs N      runs per scenario (default: 5 ceiling, 3 throughput/latency/store, 1 scale-boxes)
  --smoke       tiny sizes: checks that everything runs, measures nothing meaningful
  --out FILE    results file (default bench/results/latest.json)`;

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      long: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      runs: { type: 'string' },
      minutes: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const runs = values.runs === undefined ? undefined : Number(values.runs);
  if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs must be a whole number >= 1, got ${values.runs}`);
  const minutes = values.minutes === undefined ? undefined : Number(values.minutes);
  if (minutes !== undefined && !(minutes > 0 && minutes <= 600)) throw new Error(`--minutes must be a number of minutes in (0, 600], got ${values.minutes}`);
  const scenarios = selectScenarios(SCENARIOS, positionals);
  const results = await runBench(scenarios, {
    options: { smoke: values.smoke, long: values.long, minutes, profile: values.profile, runs },
    resultsFile: values.out ?? DEFAULT_RESULTS,
  });
  process.stderr.write(`[bench] ${results.figures.length} figures in ${results.durationSeconds} s → ${values.out ?? DEFAULT_RESULTS}\n`);
  return results.failures.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n\n${usage}\n`);
    process.exit(2);
  },
);
