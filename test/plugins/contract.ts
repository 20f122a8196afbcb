/**
 * The behavioural contract of the `sag-swell` rule, run against every kind of plugin that
 * implements it (TypeScript in-process, WebAssembly from C and from Rust, …): the same inputs,
 * the same requests expected. `contract.test.ts` has one row per kind; a new kind is one more
 * `pluginContract({ … })` call there.
 *
 * The rule (reference: `test/fixtures/plugins/sag-swell.ts`; ABI examples in `plugins/wasm/`):
 * a measurement is out of band when |rms − nominalVoltage| > nominalVoltage × thresholdPercent / 100.
 * The first out-of-band measurement opens an episode; every box that goes out of band while it
 * is open joins it; the episode closes when every box that went out of band has sent an
 * in-band measurement again. It is reported as one request (boxes ascending, requestData
 * true) when it lasted at least `minDurationMs`: from its first out-of-band measurement to the
 * latest measurement of its boxes, of the worst deviation's type (VOLTAGE_SAG below nominal,
 * VOLTAGE_SWELL above; the first of equal ones), `percentMagnitude` = |worst rms − nominal| /
 * nominal × 100 computed in f64 exactly so. An episode still open on completion is reported
 * then. `requestee` is the instance name; `description` any non-empty text. Settings
 * (numbers): `nominalVoltage` 120, `thresholdPercent` 10, `minDurationMs` 0; an invalid or
 * unknown one is a ConfigError whose `path` is the setting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asyncScheduler, from, lastValueFrom, toArray, type SchedulerLike } from 'rxjs';
import { ConfigError } from '../../src/core/errors.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { loadPlugin } from '../../src/plugins/plugin-loader.js';
import { emptyBoxDirectory, type EventRequest, type Measurement, type PluginOperator, type PluginSettings } from '../../src/plugins/plugin.js';
import { createTestScheduler } from '../helpers/test-scheduler.js';

/** One kind of plugin under the contract. */
export interface ContractSubject {
  /** The row's title, e.g. `WebAssembly (C)`. */
  readonly kind: string;
  /**
   * The plugin entry as in a makai.json (`path`, and a `name`, which is the expected
   * `requestee`); each case adds its settings to it.
   */
  readonly entry: PluginSettings & { readonly name: string };
  /** What a relative `path` is resolved against. */
  readonly baseDir: string;
  /**
   * Why this subject cannot run here (e.g. its build output is missing), or undefined. Locally
   * the row is skipped with that message; under `CI=true` it fails with it instead.
   */
  readonly unavailable?: string | undefined;
  /**
   * True when the plugin runs in virtual time (an in-process plugin whose only timer source is
   * the context's scheduler): the marble case runs too. An out-of-process plugin leaves it unset.
   */
  readonly virtualTime?: boolean;
  /**
   * Makes the operator from the entry; defaults to the loader (`loadPlugin(entry).create(…)`),
   * as `makai run` does. A kind that needs more (a process to spawn) supplies its own.
   */
  readonly create?: (entry: PluginSettings, baseDir: string, scheduler: SchedulerLike) => Promise<PluginOperator>;
}

/** The request fields the contract fixes (`requestee` is the instance name; `description` is free). */
export type ExpectedRequest = Omit<EventRequest, 'requestee' | 'description' | 'requestData'>;

/** One case: settings, input, the requests expected (in order). */
export interface ContractCase {
  readonly name: string;
  readonly settings?: Readonly<Record<string, number>>;
  readonly input: readonly Measurement[];
  readonly expected: readonly ExpectedRequest[];
}

const NOMINAL = 120;
const STEP = 167; // ms between one box's measurements (6 per second)
const m = (id: number, time: number, rms: number): Measurement => ({ id, time, frequency: 60, rms, thd: 0.02 });
const percent = (rms: number, nominal = NOMINAL) => (Math.abs(rms - nominal) / nominal) * 100;

/** `boxes` boxes in turn, `count` rounds from `t0`, with `rms(box, round)`. */
function rounds(boxes: readonly number[], count: number, rms: (box: number, round: number) => number, t0 = 1_000_000): Measurement[] {
  const out: Measurement[] = [];
  for (let k = 0; k < count; k++) for (const box of boxes) out.push(m(box, t0 + k * STEP, rms(box, k)));
  return out;
}
const at = (k: number, t0 = 1_000_000) => t0 + k * STEP;

/** The cases, also usable by a plugin's own tests in another language (plain data). */
export const CONTRACT_CASES: readonly ContractCase[] = [
  {
    name: 'reports a sag on two boxes as one request for both, once both recovered',
    input: rounds([1, 2], 30, (box, k) => (k >= 12 && k <= 17 ? (box === 1 ? 96 : 95) : 120)),
    expected: [{ startTimestampMsUtc: at(12), endTimestampMsUtc: at(18), triggerType: 'VOLTAGE_SAG', percentMagnitude: percent(95), boxIds: [1, 2] }],
  },
  {
    name: 'reports nothing for a stream inside the band (limit exclusive)',
    input: rounds([1, 2, 3], 20, (box, k) => (k % 2 === 0 ? 108 : 132)),
    expected: [],
  },
  {
    name: 'reports a swell, and the worst deviation decides the type',
    // A sag of 20 V, a swell of 25 V (worse: the type becomes a swell), a sag of 25 V (a tie: it stays).
    input: [m(7, 1000, 100), m(7, 1167, 145), m(7, 1333, 95), m(7, 1500, 120)],
    expected: [{ startTimestampMsUtc: 1000, endTimestampMsUtc: 1500, triggerType: 'VOLTAGE_SWELL', percentMagnitude: percent(145), boxIds: [7] }],
  },
  {
    name: 'keeps the episode open while any box is still out of band, and lists boxes ascending',
    input: [m(30, 0, 100), m(10, 50, 120), m(20, 100, 100), m(30, 167, 120), m(10, 217, 99), m(20, 267, 100), m(10, 384, 120), m(20, 434, 120), m(30, 500, 100)],
    expected: [
      { startTimestampMsUtc: 0, endTimestampMsUtc: 434, triggerType: 'VOLTAGE_SAG', percentMagnitude: percent(99), boxIds: [10, 20, 30] },
      { startTimestampMsUtc: 500, endTimestampMsUtc: 500, triggerType: 'VOLTAGE_SAG', percentMagnitude: percent(100), boxIds: [30] },
    ],
  },
  {
    name: 'ignores an episode shorter than minDurationMs and reports a long enough one',
    settings: { minDurationMs: 300 },
    input: [m(1, 0, 100), m(1, 167, 120), m(1, 333, 100), m(1, 500, 100), m(1, 667, 120)],
    expected: [{ startTimestampMsUtc: 333, endTimestampMsUtc: 667, triggerType: 'VOLTAGE_SAG', percentMagnitude: percent(100), boxIds: [1] }],
  },
  {
    name: 'takes nominalVoltage and thresholdPercent from the settings',
    settings: { nominalVoltage: 230, thresholdPercent: 5 },
    // The band is ±11.5 V: 219 V is inside, 242 V beyond (and inside the default ±23 V).
    input: [m(1, 0, 230), m(1, 167, 219), m(1, 333, 242), m(1, 500, 243), m(1, 667, 230)],
    expected: [{ startTimestampMsUtc: 333, endTimestampMsUtc: 667, triggerType: 'VOLTAGE_SWELL', percentMagnitude: percent(243, 230), boxIds: [1] }],
  },
  {
    name: 'reports an episode still open when the input completes, up to the last measurement of its boxes',
    input: [m(1, 0, 120), m(1, 167, 80), m(2, 200, 120), m(1, 333, 80)],
    expected: [{ startTimestampMsUtc: 167, endTimestampMsUtc: 333, triggerType: 'VOLTAGE_SAG', percentMagnitude: percent(80), boxIds: [1] }],
  },
  {
    // 40 boxes × 50 rounds = 2000 measurements: episodes straddle any input buffer's boundaries.
    name: 'keeps order and state across a long stream of many boxes',
    input: rounds(
      Array.from({ length: 40 }, (_, i) => 1001 + i),
      50,
      // Every 10 rounds, the boxes divisible by 7 sag by 30 V, then swell by up to 31 V, then recover.
      (box, k) => (k % 10 === 3 && box % 7 === 0 ? 90 : k % 10 === 4 && box % 7 === 0 ? 151 - (box % 3) : 120),
    ),
    expected: [0, 1, 2, 3, 4].map((r) => ({
      startTimestampMsUtc: at(r * 10 + 3),
      endTimestampMsUtc: at(r * 10 + 5),
      triggerType: 'VOLTAGE_SWELL' as const,
      percentMagnitude: percent(151),
      boxIds: [1001, 1008, 1015, 1022, 1029, 1036],
    })),
  },
];

/** Settings a case refuses at start-up, and the field its ConfigError must name. */
const REFUSED_SETTINGS: readonly (readonly [Readonly<Record<string, number>>, string])[] = [
  [{ thresholdPercent: 150 }, 'thresholdPercent'],
  [{ nominalVoltage: -1 }, 'nominalVoltage'],
  [{ minDurationMs: -5 }, 'minDurationMs'],
  [{ thresholdPercnt: 10 }, 'thresholdPercnt'],
];

const defaultCreate = async (entry: PluginSettings, baseDir: string, scheduler: SchedulerLike): Promise<PluginOperator> => {
  const loaded = await loadPlugin(entry, { baseDir });
  return loaded.create({ logger: new RecordingLogger(), scheduler, boxes: emptyBoxDirectory });
};

/**
 * Registers the contract's tests for one subject (a `describe` of its own).
 *
 * @param subject The plugin kind, its entry and how to make its operator.
 */
export function pluginContract(subject: ContractSubject): void {
  const create = subject.create ?? defaultCreate;
  const ci = process.env['CI'] === 'true';
  const skip = subject.unavailable !== undefined && !ci ? subject.unavailable : false;
  const available = () => {
    if (subject.unavailable !== undefined) assert.fail(`${subject.kind}: ${subject.unavailable}`);
  };
  const run = async (settings: Readonly<Record<string, number>> | undefined, input: readonly Measurement[]) => {
    const operator = await create({ ...subject.entry, ...settings }, subject.baseDir, asyncScheduler);
    return lastValueFrom(from(input).pipe(operator, toArray()));
  };
  const fixed = (request: EventRequest): ExpectedRequest => {
    const { requestee, description, requestData, ...rest } = request;
    assert.equal(requestee, subject.entry.name, 'requestee is the instance name');
    assert.ok(typeof description === 'string' && description.length > 0, 'a description');
    assert.equal(requestData, true);
    return rest;
  };

  describe(`plugin contract: sag-swell as ${subject.kind}`, { skip }, () => {
    for (const contractCase of CONTRACT_CASES) {
      it(`${contractCase.name}`, async () => {
        available();
        const requests = await run(contractCase.settings, contractCase.input);
        assert.deepEqual(requests.map(fixed), contractCase.expected);
      });
    }

    it('starts afresh on every subscription (a restart), with no state from the one before', async () => {
      available();
      const [first] = CONTRACT_CASES;
      const operator = await create({ ...subject.entry }, subject.baseDir, asyncScheduler);
      // The first subscription stops in the middle of an episode; the second sees the whole input.
      const half = first!.input.slice(0, 30);
      const stopped = await lastValueFrom(from(half).pipe(operator, toArray()));
      assert.equal(stopped.length, 1, 'the open episode is reported on completion');
      const again = await lastValueFrom(from(first!.input).pipe(operator, toArray()));
      assert.deepEqual(again.map(fixed), first!.expected);
    });

    for (const [settings, field] of REFUSED_SETTINGS) {
      it(`refuses ${JSON.stringify(settings)} at start-up, naming ${field}`, async () => {
        available();
        await assert.rejects(create({ ...subject.entry, ...settings }, subject.baseDir, asyncScheduler), (error: unknown) => {
          assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
          assert.ok(error.path === field || error.path?.endsWith(`.${field}`), `path ${error.path} names ${field}`);
          return true;
        });
      });
    }

    if (subject.virtualTime) {
      it('emits in virtual time, in the frame of the measurement that closes the episode', async () => {
        available();
        const ts = createTestScheduler();
        const operator = await create({ ...subject.entry }, subject.baseDir, ts);
        ts.run(({ hot, expectObservable }) => {
          const values = { a: m(1, 0, 120), b: m(1, 167, 100), c: m(2, 170, 100), d: m(1, 333, 120), e: m(2, 337, 120), f: m(1, 500, 120) };
          const output = hot('-abcdef|', values).pipe(operator);
          expectObservable(output).toBe('-----q-|', {
            q: {
              startTimestampMsUtc: 167,
              endTimestampMsUtc: 337,
              triggerType: 'VOLTAGE_SAG',
              percentMagnitude: percent(100),
              boxIds: [1, 2],
              requestee: subject.entry.name,
              description: expectedDescription(subject),
              requestData: true,
            },
          });
        });
      });
    }
  });
}

/** The description the in-process kinds build (`toEventRequest`): the marble case compares whole values. */
function expectedDescription(subject: ContractSubject): string {
  return `${subject.entry.name}: voltage sag of ${percent(100).toFixed(1)} % on boxes 1, 2`;
}
