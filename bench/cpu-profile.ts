import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';

/** The parts of a V8 `.cpuprofile` (as written by `node --cpu-prof`) that the summary reads. */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One function's share of the profiled time. */
export interface Hotspot {
  /** `function (file:line)`, paths relative to the repository. */
  readonly name: string;
  /** Time spent in the function itself, percent of all samples. */
  readonly selfPercent: number;
  /** Time in the function and everything it called (each sample counted once per function), percent. */
  readonly totalPercent: number;
}

/**
 * The top functions of a CPU profile by self time, and by total time.
 * `(idle)`, `(program)` and `(garbage collector)` are kept: they say how much time was not
 * JavaScript at all (waiting, native code, GC).
 *
 * @param file A `.cpuprofile` written by `node --cpu-prof`.
 * @param top How many functions to return in each list.
 */
export async function summarizeCpuProfile(file: string, top = 15): Promise<{ readonly bySelf: Hotspot[]; readonly byTotal: Hotspot[] }> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const root = process.cwd();
  const nameOf = new Map<number, string>();
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? ` (${relative(root, url.replace(/^file:\/\//, ''))}:${lineNumber + 1})` : '';
    nameOf.set(node.id, `${functionName || '(anonymous)'}${where}`);
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const weight = profile.timeDeltas[i] ?? 0;
    all += weight;
    const name = nameOf.get(id) ?? '?';
    self.set(name, (self.get(name) ?? 0) + weight);
    // Each function once per sample, however deep the recursion.
    const seen = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
      const frame = nameOf.get(node) ?? '?';
      if (seen.has(frame)) continue;
      seen.add(frame);
      total.set(frame, (total.get(frame) ?? 0) + weight);
    }
  });
  const percent = (x: number) => Math.round((x / (all || 1)) * 1000) / 10;
  const ranked = (from: Map<string, number>, key: 'self' | 'total') =>
    [...from.entries()]
      .filter(([name]) => key === 'self' || !name.startsWith('('))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name]) => ({ name, selfPercent: percent(self.get(name) ?? 0), totalPercent: percent(total.get(name) ?? 0) }));
  return { bySelf: ranked(self, 'self'), byTotal: ranked(total, 'total') };
}
