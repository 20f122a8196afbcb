import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../../src/cli/command-index.js';
import { main } from '../../../src/cli/main.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

/** Commands whose first argument is a subcommand: each subcommand parses options of its own. */
const SUBCOMMANDS: Readonly<Record<string, readonly string[]>> = {
  keys: ['generate', 'show'],
  events: ['list', 'show', 'export', 'plot'],
  boxes: ['add', 'list', 'remove'],
  plugin: ['new'],
  shadow: ['list'],
};

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `makai <args>` as a user runs it: a process of its own. */
function makai(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: { ...process.env, MAKAI_DEBUG: '' } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** What no user should read: a class name in front of the message, or a stack frame. */
function assertNoInternals(text: string, what: string): void {
  assert.doesNotMatch(text, /\b[A-Z][A-Za-z]*Error: /, `${what}: no error class names`);
  assert.doesNotMatch(text, /^\s+at .+:\d+:\d+\)?$/m, `${what}: no stack trace`);
}

const invocations: string[][] = Object.keys(COMMANDS).flatMap((name) => {
  const subs = SUBCOMMANDS[name];
  return subs ? subs.map((sub) => [name, sub]) : [[name]];
});

describe('makai: every command, one table', () => {
  it('should list every module of src/cli/commands in the command index, and nothing else', async () => {
    const files = (await readdir(join(ROOT, 'src', 'cli', 'commands'))).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
    assert.deepStrictEqual(Object.keys(COMMANDS).sort(), files.sort());
  });

  for (const words of invocations) {
    const label = `makai ${words.join(' ')}`;
    it(`${label} --bogus: exit 2, the message, then the usage`, async () => {
      const { code, stdout, stderr } = await makai([...words, '--bogus']);
      assert.equal(code, 2, `${label} --bogus exit code (stderr: ${stderr})`);
      assert.equal(stdout, '');
      assert.match(stderr, new RegExp(`^makai ${words[0]}: Unknown option '--bogus'\\n`));
      assert.match(stderr, /\n\nUsage:/, 'the usage follows the message');
      assertNoInternals(stderr, label);
    });

    it(`${label} --help: exit 0 and the usage on stdout`, async () => {
      // In this process (the spawned case above covers the process edge): one load of every module.
      const out: string[] = [];
      const err: string[] = [];
      const code = await main([...words, '--help'], { out: (t) => out.push(t), err: (t) => err.push(t), stopRequested: new Promise<never>(() => {}) });
      assert.equal(code, 0, `${label} --help exit code`);
      assert.match(out.join('\n'), /^Usage:/);
      assert.deepStrictEqual(err, []);
    });
  }

  for (const name of Object.keys(SUBCOMMANDS)) {
    it(`makai ${name} --bogus (an option where the subcommand goes): exit 2 with the usage`, async () => {
      const { code, stderr } = await makai([name, '--bogus']);
      assert.equal(code, 2);
      assert.match(stderr, new RegExp(`^makai ${name}: unknown subcommand "--bogus" .*\\n\\nUsage:`));
      assertNoInternals(stderr, `${name} --bogus`);
    });
  }

  it('makai <command> with a flag that needs a value but got none: exit 2 with the usage', async () => {
    const { code, stderr } = await makai(['trends', '--box']);
    assert.equal(code, 2);
    assert.match(stderr, /^makai trends: Option '--box <value>' argument missing\n\nUsage: makai trends/);
    assertNoInternals(stderr, 'trends --box');
  });

  it('makai --version prints the version of package.json', async () => {
    const { version } = (await import('../../../package.json', { with: { type: 'json' } })).default as { version: string };
    const { code, stdout } = await makai(['--version']);
    assert.equal(code, 0);
    assert.equal(stdout, `makai ${version}\n`);
  });

  it('makai --help lists every command of the index with its summary, and exits 0', async () => {
    const { code, stdout } = await makai(['--help']);
    assert.equal(code, 0);
    for (const [name, entry] of Object.entries(COMMANDS)) assert.ok(stdout.includes(`  ${name.padEnd(18)}  ${entry.summary}\n`), name);
  });

  it('a run-time failure exits 1 with one line that names the problem, no class name or stack trace', async () => {
    const { code, stdout, stderr } = await makai(['validate', join(ROOT, 'no-such-config.json')]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /^makai validate: .*no-such-config\.json/);
    assertNoInternals(stderr, 'validate of a missing file');
  });
});
