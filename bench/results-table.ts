import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BenchResults, Figure } from './harness.js';

/**
 * Prints a results file (`bench/results/latest.json` by default) as the Markdown tables of
 * `docs/benchmarks.md`: the machine, then one row per figure with median, spread, runs, ratio
 * and target.
 *
 * `node --import tsx bench/results-table.ts [results.json]`
 */

const cell = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : String(value));

/** One Markdown row per figure, grouped by scenario. */
export function resultsTable(results: BenchResults): string {
  const m = results.machine;
  const { minutes, long } = results.options;
  const variant = minutes !== undefined ? ` (--minutes ${minutes})` : long ? ' (--long)' : '';
  const lines = [
    `Run ${results.startedAt}, ${results.durationSeconds} s in all${variant}. Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; 1-minute load average ${m.loadAverageStart} at the start, ${m.loadAverageEnd ?? '?'} at the end (the machine is shared).`,
    '',
    '| scenario | metric | median | min – max | runs | ratio (baseline) | target | met |',
    '|---|---|---:|---:|---:|---|---|---|',
  ];
  const row = (f: Figure) =>
    `| ${f.scenario} | ${f.metric} (${f.unit}) | ${cell(f.median)} | ${cell(f.min)} – ${cell(f.max)} | ${f.runs} | ${f.ratio === undefined ? '' : `${f.ratio} (${f.baseline ?? ''})`} | ${f.target ?? ''} | ${f.met === undefined ? '' : f.met ? 'yes' : 'no'} |`;
  lines.push(...results.figures.map(row));
  if (results.failures.length > 0) lines.push('', ...results.failures.map((f) => `Failed: ${f.scenario}: ${f.error.split('\n')[0]}`));
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2] ?? fileURLToPath(new URL('results/latest.json', import.meta.url));
  const results = JSON.parse(await readFile(file, 'utf8')) as BenchResults;
  process.stdout.write(resultsTable(results) + '\n');
}
