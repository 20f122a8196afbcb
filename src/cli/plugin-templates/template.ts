/**
 * A skeleton `makai plugin new NAME --lang <lang>` writes: a working plugin in that language
 * with its own test. Every template implements the same small rule (a sustained voltage sag per
 * box, reported once when the box recovers) and ships the same test, so a new language is
 * one more template file and one entry in `index.ts`.
 */
export interface PluginTemplate {
  /** One line for `makai plugin --help`. */
  readonly summary: string;
  /** The files, relative to the plugin's folder. */
  files(name: string): readonly TemplateFile[];
  /** What the plugin's `path` in a makai.json is, relative to its folder (`NAME.wasm`). */
  entryFile(name: string): string;
  /** What to do next, one command per line, run in the plugin's folder. */
  nextSteps(name: string): readonly string[];
}

export interface TemplateFile {
  readonly path: string;
  readonly content: string;
  /** Make it executable (a build script). */
  readonly executable?: boolean;
}

/** Settings every template takes, with the defaults its test relies on. */
export const TEMPLATE_RULE = `A box whose RMS voltage stays below nominalVoltage × (1 − sagPercent/100) (defaults 120 V and
10 %) for at least minMessages consecutive measurements (default 3; 6 arrive per second) is
reported once, when it recovers, with the whole sag as the interval.`;

/**
 * The test every template ships: the plugin loaded as \`makai run\` loads it (\`runPlugin\`), the
 * same cases for every language.
 */
export function templateTest(name: string, entryFile: string, build: string | undefined): TemplateFile {
  return {
    path: `${name}.test.ts`,
    content: `/**
 * The test of ${name}: it is loaded from ${entryFile} as \`makai run\` loads it.${build ? `\n * Build it first: ${build}` : ''}
 * Run: node --import tsx --test ${name}.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runPlugin, triggerMessage } from 'makai/testing';

const entry = { path: '${entryFile}', name: '${name}' };
const baseDir = import.meta.dirname;
/** One box's measurements, 1/6 s apart from box time 1000 ms, with these RMS voltages. */
const box = (rms: readonly number[], id = 1001) => rms.map((v, k) => triggerMessage({ id, time: 1000 + k * 167, rms: v }));

describe('${name}', () => {
  it('reports a sag of three measurements once, when the box recovers', async () => {
    const requests = await runPlugin(entry, box([120, 100, 96, 104, 120]), { baseDir });
    assert.deepEqual(
      requests.map((r) => [r.startTimestampMsUtc, r.endTimestampMsUtc, r.triggerType, r.boxIds, r.percentMagnitude, r.requestee]),
      [[1167, 1668, 'VOLTAGE_SAG', [1001], ((120 - 96) / 120) * 100, '${name}']],
    );
  });

  it('ignores a dip shorter than minMessages, and keeps boxes apart', async () => {
    const input = [...box([120, 100, 96, 120], 1), ...box([100, 100, 100, 100, 120], 2)];
    const requests = await runPlugin({ ...entry, minMessages: 4 }, input, { baseDir });
    assert.deepEqual(requests.map((r) => r.boxIds), [[2]]);
  });

  it('refuses an out-of-range setting, naming it', async () => {
    await assert.rejects(runPlugin({ ...entry, sagPercent: 150 }, [], { baseDir }), /sagPercent/);
  });
});
`,
  };
}
