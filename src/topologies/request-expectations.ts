import type { ExpectedRequest } from '../config/test-scenario.js';
import type { ReplayedRequest } from './replay-topology.js';

export interface ExpectationOptions {
  /** ms a time may be off and still match. */
  readonly timeTolerance: number;
  /** Percentage points a `percentMagnitude` may be off and still match. */
  readonly magnitudeTolerance: number;
}

export interface ExpectationResult {
  readonly pass: boolean;
  /** A readable account: `  ok`, `- expected` / `+ actual` lines per request. */
  readonly lines: readonly string[];
}

const TIME_FIELDS = new Set(['startTimestampMsUtc', 'endTimestampMsUtc']);

/**
 * Compares the requests a config made with the ones a scenario expects, in order: the n-th
 * expected request is compared with the n-th one made, on the fields it names only. Missing and
 * unexpected requests fail too. The lines are a diff: `-` what was expected, `+` what was made.
 */
export function checkExpectedRequests(expected: readonly ExpectedRequest[], actual: readonly ReplayedRequest[], options: ExpectationOptions): ExpectationResult {
  const lines: string[] = [];
  let pass = true;
  const count = Math.max(expected.length, actual.length);
  for (let index = 0; index < count; index++) {
    const want = expected[index];
    const got = actual[index];
    const label = `request ${index + 1}`;
    if (want === undefined) {
      pass = false;
      lines.push(`  ${label}: unexpected`, `  + ${describe(view(got!))}`);
      continue;
    }
    if (got === undefined) {
      pass = false;
      lines.push(`  ${label}: missing (the config made only ${actual.length})`, `  - ${describe(want)}`);
      continue;
    }
    const made = view(got);
    const differing = (Object.keys(want) as (keyof ExpectedRequest)[]).filter((key) => !same(key, want[key], made[key], options));
    if (differing.length === 0) {
      lines.push(`  ${label}: ok  ${describe(pick(made, Object.keys(want)))}`);
      continue;
    }
    pass = false;
    lines.push(`  ${label}: differs in ${differing.join(', ')}`);
    for (const key of Object.keys(want) as (keyof ExpectedRequest)[]) {
      if (differing.includes(key)) {
        lines.push(`  - ${key}: ${show(key, want[key])}`, `  + ${key}: ${show(key, made[key])}`);
      } else {
        lines.push(`    ${key}: ${show(key, made[key])}`);
      }
    }
  }
  return { pass, lines };
}

type Viewed = Required<Omit<ExpectedRequest, 'via'>> & { via: ReplayedRequest['channel'] };

function view(replayed: ReplayedRequest): Viewed {
  const { request } = replayed;
  return {
    triggerType: request.triggerType,
    boxIds: [...request.boxIds],
    startTimestampMsUtc: request.startTimestampMsUtc,
    endTimestampMsUtc: request.endTimestampMsUtc,
    percentMagnitude: request.percentMagnitude,
    requestData: request.requestData,
    requestee: request.requestee,
    description: request.description,
    via: replayed.channel,
  };
}

function same(key: keyof ExpectedRequest, want: unknown, got: unknown, options: ExpectationOptions): boolean {
  if (TIME_FIELDS.has(key)) return Math.abs((want as number) - (got as number)) <= options.timeTolerance;
  if (key === 'percentMagnitude') return Math.abs((want as number) - (got as number)) <= options.magnitudeTolerance + 1e-9;
  return JSON.stringify(want) === JSON.stringify(got);
}

function pick(made: Viewed, keys: readonly string[]): Partial<Viewed> {
  return Object.fromEntries(keys.map((key) => [key, made[key as keyof Viewed]])) as Partial<Viewed>;
}

function show(key: string, value: unknown): string {
  if (TIME_FIELDS.has(key) && typeof value === 'number') return new Date(value).toISOString();
  if (key === 'percentMagnitude' && typeof value === 'number') return value.toFixed(2);
  return JSON.stringify(value);
}

function describe(request: Partial<Viewed> | ExpectedRequest): string {
  return Object.entries(request)
    .map(([key, value]) => `${key}=${show(key, value)}`)
    .join(' ');
}
