import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { formatPath, parseConfig } from '../config/load-json-config.js';
import { duration } from '../config/zod-fields.js';

/**
 * A simulation scenario: the power-quality disturbances the simulated boxes will see, each at
 * an offset from the start of the simulation.
 *
 * JSON form (a file, parsed with {@link parseScenario} / {@link parseScenarioText}):
 * ```json
 * { "name": "demo",
 *   "disturbances": [
 *     { "kind": "voltage-sag",   "at": "5s",  "duration": "1s",    "boxes": [1, 2], "voltagePercent": 80 },
 *     { "kind": "voltage-swell", "at": "12s", "duration": "500ms", "boxes": "all",  "depth": "12%" },
 *     { "kind": "frequency",     "at": "18s", "duration": "2s",    "hz": 59.8 },
 *     { "kind": "thd",           "at": "24s", "duration": "1s",    "boxes": [1],    "ratio": "7%" },
 *     { "kind": "silence",       "at": "40s", "duration": "10s",   "boxes": [3] } ] }
 * ```
 * Compact command-line form ({@link parseCompactScenario}), one disturbance per item:
 * `sag@5s:boxes=1,2:depth=20%:for=1s`, `swell@12s:level=112%:for=500ms`, `freq@18s:hz=59.8:for=2s`,
 * `thd@24s:boxes=1:ratio=7%:for=1s`, `silence@40s:boxes=3:for=10s`.
 *
 * Overlapping disturbances of the same quantity: the later one in the list wins.
 */
export interface Scenario {
  readonly name: string;
  readonly disturbances: readonly Disturbance[];
}

/** What a disturbance changes. */
export type DisturbanceKind = 'voltage-sag' | 'voltage-swell' | 'frequency' | 'thd' | 'silence';

interface DisturbanceTiming {
  /** Start, in ms after the start of the simulation. */
  readonly atMs: number;
  /** Length in ms (> 0). */
  readonly durationMs: number;
  /** The box ids that see it, or every box. */
  readonly boxes: readonly number[] | 'all';
}

/** RMS voltage becomes `voltagePercent` % of what it would have been (sag < 100 < swell). */
export interface VoltageDisturbance extends DisturbanceTiming {
  readonly kind: 'voltage-sag' | 'voltage-swell';
  readonly voltagePercent: number;
}

/** The grid frequency moves to `hz` (the box's small random wander stays on top). */
export interface FrequencyDisturbance extends DisturbanceTiming {
  readonly kind: 'frequency';
  readonly hz: number;
}

/** Total harmonic distortion becomes `ratio` (0.08 = 8 %). */
export interface ThdDisturbance extends DisturbanceTiming {
  readonly kind: 'thd';
  readonly ratio: number;
}

/** The box is off: it neither sends TriggerMessages nor records raw data. */
export interface SilenceDisturbance extends DisturbanceTiming {
  readonly kind: 'silence';
}

export type Disturbance = VoltageDisturbance | FrequencyDisturbance | ThdDisturbance | SilenceDisturbance;

/** Limits that keep a scenario physically meaningful (and the int16 waveform unclipped up to 200 %). */
const SAG_PERCENT = { min: 0, max: 100 } as const;
const SWELL_PERCENT = { min: 100, max: 200 } as const;
const FREQUENCY_HZ = { min: 40, max: 80 } as const;

/** A message for a union whose branches all failed, instead of zod's bare "Invalid input". */
const expected = (message: string) => ({ errorMap: () => ({ message }) });

const PERCENT_HINT = 'expected a percentage like 20 or "20%"';
const RATIO_HINT = 'expected a ratio like 0.08 or a percentage like "8%"';

/** A number, or a string like `"20%"` read as 20. */
const percentField = z.union(
  [
    z.number().finite(),
    z
      .string()
      .regex(/^\s*-?\d+(?:\.\d+)?\s*%?\s*$/, PERCENT_HINT)
      .transform((text) => Number.parseFloat(text)),
  ],
  expected(PERCENT_HINT),
);

/** A ratio such as 0.08, or a percentage string `"8%"` read as 0.08. */
const ratioField = z.union(
  [
    z.number().finite(),
    z
      .string()
      .regex(/^\s*\d+(?:\.\d+)?\s*%\s*$/, RATIO_HINT)
      .transform((text) => Number.parseFloat(text) / 100),
  ],
  expected(RATIO_HINT),
);

const boxesField = z.union(
  [
    z.literal('all'),
    z.array(z.number().int().nonnegative().max(2_147_483_647, 'box ids are int32')).nonempty('list at least one box id, or use "all"'),
  ],
  expected('expected "all" or a list of box ids such as [1, 2]'),
);

/** Scenario times: a simulation of more than a week is not what a scenario is for. */
const scenarioTime = duration({ min: 0, max: '7d' });

const timing = {
  at: scenarioTime,
  duration: scenarioTime.optional(),
  /** Alias of `duration`, as in the compact form `for=1s`. */
  for: scenarioTime.optional(),
  boxes: boxesField.default('all'),
};

const voltageSchema = z
  .object({
    kind: z.enum(['voltage-sag', 'voltage-swell']),
    ...timing,
    voltagePercent: percentField.optional(),
    /** How far from 100 %: a sag of depth 20 is 80 %, a swell of depth 12 is 112 %. */
    depth: percentField.optional(),
  })
  .strict();

const disturbanceSchema = z.discriminatedUnion('kind', [
  voltageSchema,
  z.object({ kind: z.literal('frequency'), ...timing, hz: z.number().finite() }).strict(),
  z.object({ kind: z.literal('thd'), ...timing, ratio: ratioField }).strict(),
  z.object({ kind: z.literal('silence'), ...timing }).strict(),
]);

type RawDisturbance = z.output<typeof disturbanceSchema>;

// A bare array is wrapped first rather than offered as a union branch, so errors keep their field path.
const scenarioSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { disturbances: value } : value),
  z.object({ name: z.string().default('scenario'), disturbances: z.array(disturbanceSchema) }).strict(),
);

/** A scenario without disturbances: a quiet grid. */
export const quietScenario: Scenario = { name: 'quiet', disturbances: [] };

/**
 * Validates a parsed JSON value as a scenario.
 *
 * @param value The result of `JSON.parse` (an object `{ name?, disturbances }` or a bare array).
 * @param file Names the source in errors (a file path, `--scenario`, ...).
 * @returns The scenario with every time in ms.
 * @throws ConfigError naming the file and the field, e.g. `disturbances[1].voltagePercent`.
 */
export function parseScenario(value: unknown, file?: string): Scenario {
  const raw = parseConfig(value, scenarioSchema, file);
  return { name: raw.name, disturbances: raw.disturbances.map((d, i) => finish(d, `disturbances[${i}]`, file)) };
}

/**
 * Parses scenario JSON text (the contents of a scenario file; reading the file is the caller's job).
 *
 * @throws ConfigError when the text is not JSON or not a valid scenario.
 */
export function parseScenarioText(text: string, file?: string): Scenario {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`not valid JSON: ${(error as Error).message}`, file === undefined ? {} : { file }, { cause: error });
  }
  return parseScenario(json, file);
}

const KIND_ALIASES: Readonly<Record<string, DisturbanceKind>> = {
  sag: 'voltage-sag',
  'voltage-sag': 'voltage-sag',
  swell: 'voltage-swell',
  'voltage-swell': 'voltage-swell',
  freq: 'frequency',
  frequency: 'frequency',
  thd: 'thd',
  silence: 'silence',
  off: 'silence',
};

/** Compact keys → JSON field names. */
const COMPACT_KEYS: Readonly<Record<string, string>> = {
  boxes: 'boxes',
  box: 'boxes',
  for: 'duration',
  duration: 'duration',
  depth: 'depth',
  level: 'voltagePercent',
  percent: 'voltagePercent',
  voltagePercent: 'voltagePercent',
  hz: 'hz',
  ratio: 'ratio',
};

/**
 * Parses the compact command-line form, one disturbance per item (items may also be separated
 * by `;` or whitespace inside one string): `kind@at[:key=value]...`.
 *
 * Kinds: `sag`, `swell`, `freq`/`frequency`, `thd`, `silence`. Keys: `boxes=1,2` (or `all`,
 * the default), `for=1s` (duration), `depth=20%` or `level=80%` (sag/swell), `hz=59.5`,
 * `ratio=0.08` (or `8%`).
 *
 * @param items One or more compact strings, e.g. `['sag@5s:boxes=1,2:depth=20%:for=1s']`.
 * @param source Names the source in errors, e.g. `--scenario`.
 * @throws ConfigError naming the source and `disturbances[i].<field>`.
 */
export function parseCompactScenario(items: string | readonly string[], source = 'command line'): Scenario {
  const parts = (typeof items === 'string' ? [items] : items).flatMap((item) => item.split(/[;\s]+/)).filter((p) => p.length > 0);
  const raw = parts.map((part, index) => compactToJson(part, `disturbances[${index}]`, source));
  return parseScenario({ name: 'command line', disturbances: raw }, source);
}

function compactToJson(text: string, path: string, source: string): Record<string, unknown> {
  const [head = '', ...options] = text.split(':');
  const match = /^([a-z-]+)@(.+)$/i.exec(head);
  if (!match) throw new ConfigError(`"${text}" is not a disturbance (expected kind@time[:key=value]..., e.g. sag@5s:depth=20%:for=1s)`, { file: source, path });
  const [, kindText = '', at = ''] = match;
  const kind = KIND_ALIASES[kindText.toLowerCase()];
  if (!kind) {
    throw new ConfigError(`unknown disturbance kind "${kindText}" (use ${Object.keys(KIND_ALIASES).join(', ')})`, { file: source, path: `${path}.kind` });
  }
  const out: Record<string, unknown> = { kind, at: numberOr(at) };
  for (const option of options) {
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    const field = COMPACT_KEYS[key];
    if (eq < 0 || !field) {
      throw new ConfigError(`"${option}" is not a known key=value (use ${Object.keys(COMPACT_KEYS).join(', ')})`, { file: source, path: `${path}.${key}` });
    }
    const value = option.slice(eq + 1);
    if (field === 'boxes') out.boxes = value === 'all' ? 'all' : value.split(',').map((id) => (/^\d+$/.test(id) ? Number(id) : id));
    else if (field === 'hz') out.hz = numberOr(value);
    else if (field === 'duration') out.duration = numberOr(value);
    else out[field] = value;
  }
  return out;
}

/** `"1500"` → 1500 (plain numbers are ms / Hz); anything else stays text for the schema to judge. */
function numberOr(text: string): number | string {
  return /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : text;
}

/** Cross-field checks the schema cannot express, and the final shape. */
function finish(raw: RawDisturbance, path: string, file: string | undefined): Disturbance {
  const fail = (field: string, message: string): never => {
    throw new ConfigError(message, { ...(file === undefined ? {} : { file }), path: formatPath([path, field]) });
  };
  if (raw.duration !== undefined && raw.for !== undefined) fail('for', 'give either "duration" or "for", not both');
  const durationMs = raw.duration ?? raw.for;
  if (durationMs === undefined) return fail('duration', 'a disturbance needs a duration ("duration": "1s")');
  if (durationMs <= 0) fail('duration', 'must be longer than 0 ms');
  const timing = { atMs: raw.at, durationMs, boxes: raw.boxes };
  switch (raw.kind) {
    case 'voltage-sag':
    case 'voltage-swell': {
      const sag = raw.kind === 'voltage-sag';
      if (raw.voltagePercent !== undefined && raw.depth !== undefined) fail('depth', 'give either "voltagePercent" or "depth", not both');
      if (raw.depth !== undefined && !(raw.depth > 0)) fail('depth', 'must be greater than 0 %');
      const voltagePercent = raw.voltagePercent ?? (raw.depth === undefined ? undefined : sag ? 100 - raw.depth : 100 + raw.depth);
      if (voltagePercent === undefined) return fail('voltagePercent', `a ${raw.kind} needs "voltagePercent" (e.g. ${sag ? 80 : 112}) or "depth" (e.g. ${sag ? '"20%"' : '"12%"'})`);
      const range = sag ? SAG_PERCENT : SWELL_PERCENT;
      const ok = sag ? voltagePercent >= range.min && voltagePercent < range.max : voltagePercent > range.min && voltagePercent <= range.max;
      if (!ok) {
        fail(raw.depth === undefined ? 'voltagePercent' : 'depth', `a ${raw.kind} must leave the voltage ${sag ? 'at 0 % or more and below 100 %' : 'above 100 % and at most 200 %'} of normal (got ${voltagePercent} %)`);
      }
      return { kind: raw.kind, ...timing, voltagePercent };
    }
    case 'frequency':
      if (raw.hz < FREQUENCY_HZ.min || raw.hz > FREQUENCY_HZ.max) fail('hz', `must be between ${FREQUENCY_HZ.min} and ${FREQUENCY_HZ.max} Hz (got ${raw.hz})`);
      return { kind: 'frequency', ...timing, hz: raw.hz };
    case 'thd':
      if (raw.ratio < 0 || raw.ratio > 1) fail('ratio', `must be a ratio between 0 and 1 (got ${raw.ratio})`);
      return { kind: 'thd', ...timing, ratio: raw.ratio };
    case 'silence':
      return { kind: 'silence', ...timing };
  }
}

/**
 * The demonstration scenario: within the first 30 s, a voltage sag on two boxes, a swell, a
 * frequency excursion on the whole grid and a THD rise.
 *
 * | at   | for   | boxes              | what                  |
 * |------|-------|--------------------|-----------------------|
 * | 5 s  | 1 s   | ids[0], ids[1]     | sag to 80 % (≈ 96 V)  |
 * | 12 s | 500ms | ids[2] (or ids[0]) | swell to 112 % (≈ 134 V) |
 * | 18 s | 2 s   | all                | frequency 59.8 Hz     |
 * | 24 s | 1 s   | ids[0]             | THD 7 %               |
 *
 * @param boxIds The fleet's box ids (default `[1, 2, 3]`); the first two get the sag.
 */
export function defaultScenario(boxIds: readonly number[] = [1, 2, 3]): Scenario {
  const [first = 1, second = first, third = first] = boxIds;
  return {
    name: 'default',
    disturbances: [
      { kind: 'voltage-sag', atMs: 5_000, durationMs: 1_000, boxes: [...new Set([first, second])], voltagePercent: 80 },
      { kind: 'voltage-swell', atMs: 12_000, durationMs: 500, boxes: [third], voltagePercent: 112 },
      { kind: 'frequency', atMs: 18_000, durationMs: 2_000, boxes: 'all', hz: 59.8 },
      { kind: 'thd', atMs: 24_000, durationMs: 1_000, boxes: [first], ratio: 0.07 },
    ],
  };
}
