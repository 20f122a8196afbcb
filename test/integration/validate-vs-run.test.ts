import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';

// `makai validate` refuses exactly what `makai run` refuses, with the same message naming the
// file and field: every bad config or topology below is given to both, as real processes.

const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES = resolve(ROOT, 'test/fixtures/plugins');

/** The head of a topology module written in the temp dir, importing Makai by name. */
const TS_HEAD = `import { acquisitionPush, boxLiveness, deadLetters, decodeTriggers, dedupe, defineTopology, measurementStore, plugin, trendStore, trends, triggerSubscription } from 'makai';\n`;
/** A topology module whose body is `declare` (given source, pipe, merge, sink), otherwise the usual trunk. */
const topology = (body: string) =>
  `${TS_HEAD}export default defineTopology('t', ({ source, pipe, merge, sink }) => {\n` +
  `  const m = pipe('decode', source('trigger', triggerSubscription({ endpoint: 'tcp://127.0.0.1:1' })), decodeTriggers());\n${body}\n});\n`;
const withDeadLetters = (body: string) => topology(`${body}\n  sink('dead-letters', m.rejections, deadLetters());`);

interface BadCase {
  readonly name: string;
  readonly file: string;
  readonly content: string;
  /** Extra arguments, given to both commands. */
  readonly args?: readonly string[];
  /** The error, after `<file>: ` (or the flag), as both commands must print it. */
  readonly error: RegExp;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

const CASES: readonly BadCase[] = [
  { name: 'misspelt field', file: 'makai.json', content: json({ zmq_trigger_endpoit: 'tcp://127.0.0.1:1' }), error: /^zmq_trigger_endpoit: unknown field \(did you mean "zmq_trigger_endpoint"\?\)/ },
  { name: 'endpoint without scheme', file: 'makai.json', content: json({ zmq_trigger_endpoint: '127.0.0.1:9881' }), error: /^zmq_trigger_endpoint: expected a ZeroMQ endpoint/ },
  { name: 'missing plugin module', file: 'makai.json', content: json({ plugins: [{ path: './nope.ts' }] }), error: /^plugins\[0\]\.path: plugin module .*nope\.ts does not exist/ },
  { name: 'native library that is no original plugin', file: 'makai.json', content: json({ plugins: [{ path: '/usr/lib/opq/libfft_plugin.so' }] }), error: /^plugins\[0\]\.path: ".*libfft_plugin\.so" is a native library/ },
  { name: 'misspelt threshold setting', file: 'makai.json', content: json({ plugins: [{ plugin: 'threshold', voltagePercen: 5 }] }), error: /^plugins\[0\]\.voltagePercen: unknown setting "voltagePercen" \(did you mean "voltagePercent"\?\)/ },
  { name: 'threshold setting out of range', file: 'makai.json', content: json({ plugins: [{}, { plugin: 'threshold', voltagePercent: 150 }].slice(1) }), error: /^plugins\[0\]\.voltagePercent: Number must be less than 100/ },
  { name: 'misspelt napali setting', file: 'makai.json', content: json({ plugins: [{ plugin: 'napali', sigma: 4 }] }), error: /^plugins\[0\]\.sigma: unknown setting "sigma" \(did you mean "sigmas"\?\)/ },
  { name: 'napali limits the wrong way round', file: 'makai.json', content: json({ plugins: [{ path: './libnapali_plugin.so', rms_min: 130 }] }), error: /^plugins\[0\]\.rms_min: must be below the upper limit \(125 V\)/ },
  { name: 'unknown built-in plugin', file: 'makai.json', content: json({ plugins: [{ plugin: 'threshold' }, { plugin: 'tresholdd' }] }), error: /^plugins\[1\]\.plugin: unknown built-in plugin "tresholdd"/ },
  { name: 'plugin whose module has no default export', file: 'makai.json', content: json({ plugins: [{ path: `${FIXTURES}/no-default-export.ts` }] }), error: /^plugins\[0\]\.path: plugin module .* has no default export/ },
  { name: 'unknown isolation mode', file: 'makai.json', content: json({ plugins: [{ plugin: 'threshold', isolation: 'thread' }] }), error: /^plugins\[0\]\.isolation/ },
  { name: 'unsupported store URI', file: 'makai.json', content: json({ store: 'redis://127.0.0.1:6379' }), args: [], error: /^store: unsupported store URI "redis:\/\/127\.0\.0\.1:6379"/ },
  { name: 'bad metrics address', file: 'makai.json', content: json({ metrics_address: 'localhost' }), error: /^metrics_address: "localhost" is not host:port/ },
  { name: 'zero-length trend window', file: 'topology.ts', content: withDeadLetters(`  sink('trend-store', pipe('trends', m, trends({ window: 0 })), trendStore());`), error: /^nodes\.trends\.window: must be from 1 second to 1 day, got 0 ms/ },
  { name: 'misspelt node option', file: 'topology.ts', content: withDeadLetters(`  sink('measurement-store', m, measurementStore({ tll: '24h' }));`), error: /^nodes\.measurement-store\.tll: unknown field \(did you mean "ttl"\?\)/ },
  { name: 'side output nobody reads', file: 'topology.ts', content: topology(`  sink('measurement-store', m, measurementStore());`), error: /^topology t: side outputs nobody reads: decode\.rejections/ },
  { name: 'missing plugin module in a topology', file: 'topology.ts', content: withDeadLetters(`  sink('acquisition', pipe('mine', m, plugin({ path: './mine.ts' })), acquisitionPush({ endpoint: 'tcp://127.0.0.1:2' }));`), error: /^nodes\.mine\.path: plugin module .*mine\.ts does not exist/ },
  { name: 'plugin setting refused in a topology', file: 'topology.ts', content: withDeadLetters(`  sink('acquisition', pipe('threshold', m, plugin({ plugin: 'threshold', hysteresisFraction: 1.5 })), acquisitionPush({ endpoint: 'tcp://127.0.0.1:2' }));`), error: /^nodes\.threshold\.hysteresisFraction: Number must be less than 1/ },
  { name: 'default export that is no topology', file: 'topology.ts', content: `${TS_HEAD}export default { nodes: 'none' };\n`, error: /^default: the default export must be a topology made with defineTopology/ },
  { name: 'store flag refused', file: 'makai.json', content: json({}), args: ['--store', 'postgres://x'], error: /^--store: unsupported store URI "postgres:\/\/x"/ },
];

// Two cases at a time (each starts two processes): the cases are independent files and stores.
describe('makai validate refuses exactly what makai run refuses', { concurrency: 2 }, () => {
  let dir: TempDir;
  before(async () => {
    dir = await createTempDir('makai-validate-vs-run-');
  });
  after(async () => dir.remove());

  for (const [index, bad] of CASES.entries()) {
    it(`${bad.name}`, async () => {
      const file = dir.file(`case-${index}-${bad.file}`);
      await writeFile(file, bad.content);
      const store = dir.file(`case-${index}.db`);
      const storeArgs = bad.args ?? ['--store', `sqlite:${store}`];
      const [validate, run] = await Promise.all([makai('validate', file, ...storeArgs), makai('run', file, ...storeArgs)]);
      assert.equal(validate.code, 1, `validate exits 1 (stderr: ${validate.stderr})`);
      assert.equal(run.code, 1, `run exits 1 (stderr: ${run.stderr})`);
      const validateError = errorOf('validate', validate.stderr);
      const runError = errorOf('run', run.stderr);
      assert.equal(validateError, runError, 'the same message from both');
      const origin = bad.args?.length ? '' : `${file}: `;
      assert.ok(validateError.startsWith(origin), `names the file: ${validateError}`);
      assert.match(validateError.slice(origin.length), bad.error);
      assert.equal(existsSync(store), false, 'run opened nothing: no store file was created');
    });
  }

  it('has at least 12 cases', () => assert.ok(CASES.length >= 12));
});

/** Runs the CLI as a process; resolves with its exit code and stderr. */
function makai(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, timeout: 60_000 }, (error, _stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr }),
    );
  });
}

/** The error line a command printed, without its `makai <command>: ` prefix. */
function errorOf(command: string, stderr: string): string {
  const line = stderr.split('\n').find((l) => l.startsWith(`makai ${command}: `));
  assert.ok(line, `makai ${command} printed an error line: ${stderr}`);
  return line.slice(`makai ${command}: `.length);
}
