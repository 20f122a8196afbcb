import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem, type as osType } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The benchmark harness: scenarios measure, the harness summarises and reports.
 *
 * Machines here are shared and noisy, so every figure is the median of several runs (with min
 * and max as its spread), and every speed figure carries a ratio to a baseline measured in the
 * same invocation (per run where runs are paired, the median of the per-run ratios). Each
 * figure is printed as one JSON line on stdout; progress goes to stderr; all figures, the
 * machine and the options are written to a results file (`bench/results/latest.json`).
 */

/** One reported figure. */
export interface Figure {
  readonly scenario: string;
  /** What was measured, kebab-case (`messages-per-second`, `latency-p99`). */
  readonly metric: string;
  readonly unit: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** How many runs (or samples, see `note`) the median is taken over. */
  readonly runs: number;
  /** The run values, in run order. */
  readonly values: readonly number[];
  /** Median of the per-run ratios to `baseline` (or median / baseline median when unpaired). */
  readonly ratio?: number;
  /** `scenario/metric` of the baseline the ratio is taken to. */
  readonly baseline?: string;
  /** The issue's target, in words (`>= 0.6 of ceiling`, `< 10 ms`). */
  readonly target?: string;
  /** Whether the median meets `target`. */
  readonly met?: boolean;
  readonly note?: string;
}

/** What a scenario gives the harness for one figure: the run values and the optional extras. */
export interface FigureInput {
  readonly metric: string;
  readonly unit: string;
  readonly values: readonly number[];
  /** Per-run baseline values (paired with `values`), or one baseline value for all runs. */
  readonly baselineValues?: readonly number[] | number;
  readonly baseline?: string;
  readonly target?: string;
  /** Decides `met` from the median (and the ratio, when there is one). */
  readonly meets?: (median: number, ratio: number | undefined) => boolean;
  readonly note?: string;
}

/** Sizes and switches every scenario reads. */
export interface BenchOptions {
  /** Tiny sizes, for the smoke test: checks the harness, measures nothing meaningful. */
  readonly smoke: boolean;
  /** The long variants (scale-boxes for 5 minutes). */
  readonly long: boolean;
  /** scale-boxes for this many minutes (over `long`): to see whether RSS levels off. */
  readonly minutes?: number | undefined;
  /** Run the pipeline's receiver under `node --cpu-prof` and summarise the hotspots. */
  readonly profile: boolean;
  /** Overrides every scenario's number of runs. */
  readonly runs: number | undefined;
}

/** A CPU profile summary (see `cpu-profile.ts`), kept in the results file. */
export interface ProfileSummary {
  readonly scenario: string;
  readonly file: string;
  readonly hotspots: readonly { readonly name: string; readonly selfPercent: number; readonly totalPercent: number }[];
}

/** What a running scenario can use. */
export interface ScenarioContext {
  readonly options: BenchOptions;
  /** A fresh directory, removed after the scenario. */
  readonly tempDir: string;
  /** Where profiles are written. */
  readonly resultsDir: string;
  /** Number of runs: the `--runs` override, else `fallback` (1 under `--smoke`). */
  runs(fallback: number): number;
  /** Summarises and reports one figure. */
  report(input: FigureInput): Figure;
  /** Keeps a profile summary for the results file. */
  profile(summary: ProfileSummary): void;
  /** Progress on stderr. */
  log(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface BenchScenario {
  /** Selected on the command line by prefix (`throughput`, `latency`, …). */
  readonly name: string;
  /** One line for `--help` and the docs. */
  readonly description: string;
  run(context: ScenarioContext): Promise<void>;
}

/** The machine a run was made on. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  /** 1-minute load average at the start and at the end: how busy the shared machine was. */
  readonly loadAverageStart: number;
  readonly loadAverageEnd?: number;
}

export interface BenchResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: MachineInfo;
  readonly options: BenchOptions;
  readonly scenarios: readonly string[];
  readonly figures: readonly Figure[];
  readonly profiles: readonly ProfileSummary[];
  /** Scenarios that failed, with the error; the others still ran. */
  readonly failures: readonly { readonly scenario: string; readonly error: string }[];
}

/** Median (mean of the middle two for an even count), min and max. */
export function summarize(values: readonly number[]): { median: number; min: number; max: number } {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** The `p`-th percentile (0–100) by nearest rank; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Rounds for reporting: 4 significant digits, integers above 10 000. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 10_000) return Math.round(value);
  return Number(value.toPrecision(4));
}

/** Builds a {@link Figure} from run values (pure; used by the context and the tests). */
export function makeFigure(scenario: string, input: FigureInput): Figure {
  const { median, min, max } = summarize(input.values);
  let ratio: number | undefined;
  if (input.baselineValues !== undefined) {
    const base = input.baselineValues;
    const ratios =
      typeof base === 'number'
        ? input.values.map((v) => v / base)
        : input.values.map((v, i) => v / (base[i] ?? Number.NaN)).filter(Number.isFinite);
    ratio = typeof base === 'number' ? median / base : summarize(ratios).median;
  }
  const met = input.meets?.(median, ratio);
  return {
    scenario,
    metric: input.metric,
    unit: input.unit,
    median: round(median),
    min: round(min),
    max: round(max),
    runs: input.values.length,
    values: input.values.map(round),
    ...(ratio === undefined ? {} : { ratio: round(ratio) }),
    ...(input.baseline === undefined ? {} : { baseline: input.baseline }),
    ...(input.target === undefined ? {} : { target: input.target }),
    ...(met === undefined ? {} : { met }),
    ...(input.note === undefined ? {} : { note: input.note }),
  };
}

/** The machine, as far as Node can tell. */
export function machineInfo(): MachineInfo {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
    loadAverageStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/** Scenarios whose name starts with one of `filters` (case-insensitive); all when none given. @throws Error naming a filter that matches none. */
export function selectScenarios(all: readonly BenchScenario[], filters: readonly string[]): BenchScenario[] {
  if (filters.length === 0) return [...all];
  const chosen = all.filter((s) => filters.some((f) => s.name.startsWith(f.toLowerCase())));
  const unknown = filters.filter((f) => !all.some((s) => s.name.startsWith(f.toLowerCase())));
  if (unknown.length > 0) throw new Error(`no scenario matches ${unknown.map((u) => `"${u}"`).join(', ')} (scenarios: ${all.map((s) => s.name).join(', ')})`);
  return chosen;
}

export interface RunBenchOptions {
  readonly options: BenchOptions;
  /** Where the results file goes. */
  readonly resultsFile: string;
  /** One JSON line per figure (default: stdout). */
  readonly writeLine?: (line: string) => void;
  /** Progress (default: stderr). */
  readonly writeLog?: (line: string) => void;
}

/**
 * Runs the scenarios one after the other, each with a fresh temp dir; a failing scenario is
 * reported and the others still run. Writes the results file at the end.
 *
 * @returns The results (also written to `resultsFile`).
 */
export async function runBench(scenarios: readonly BenchScenario[], run: RunBenchOptions): Promise<BenchResults> {
  const writeLine = run.writeLine ?? ((line: string) => process.stdout.write(line + '\n'));
  const writeLog = run.writeLog ?? ((line: string) => process.stderr.write(line + '\n'));
  const started = Date.now();
  const machine = machineInfo();
  const figures: Figure[] = [];
  const profiles: ProfileSummary[] = [];
  const failures: { scenario: string; error: string }[] = [];
  const resultsDir = dirname(run.resultsFile);
  await mkdir(resultsDir, { recursive: true });

  for (const scenario of scenarios) {
    const tempDir = await mkdtemp(join(tmpdir(), `makai-bench-${scenario.name}-`));
    const context: ScenarioContext = {
      options: run.options,
      tempDir,
      resultsDir,
      runs: (fallback) => run.options.runs ?? (run.options.smoke ? 1 : fallback),
      report: (input) => {
        const figure = makeFigure(scenario.name, input);
        figures.push(figure);
        writeLine(JSON.stringify(figure));
        return figure;
      },
      profile: (summary) => profiles.push(summary),
      log: (message, fields) =>
        writeLog(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${scenario.name}: ${message}${fields ? ' ' + JSON.stringify(fields) : ''}`),
    };
    const t0 = Date.now();
    context.log('start');
    try {
      await scenario.run(context);
      context.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (error) {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      failures.push({ scenario: scenario.name, error: text });
      context.log(`FAILED: ${text}`);
    } finally {
      await rm(tempDir, { recursive: true, force: true });
    }
  }

  const results: BenchResults = {
    startedAt: new Date(started).toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 100) / 10,
    machine: { ...machine, loadAverageEnd: Math.round(loadavg()[0]! * 100) / 100 },
    options: run.options,
    scenarios: scenarios.map((s) => s.name),
    figures,
    profiles,
    failures,
  };
  await writeFile(run.resultsFile, JSON.stringify(results, null, 2) + '\n');
  return results;
}
