import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import { spawnChild } from './child-process.js';
import type { SenderReport, SenderRequest } from './sender.js';

/**
 * One measured stream into a *built* receiver process, measured from the outside: the sender
 * child publishes a paced stream; the receiver is either the daemon as users run it
 * (`node <the makai bin's flags> dist/cli/main.js run makai.json`)
 * or the bare receiver (`bench/bare-receiver.mjs`, receive + decode), both on plain `node`.
 * CPU is user + system of every thread of the process, from `/proc/<pid>/stat`; RSS from
 * `/proc/<pid>/status`. Nothing is measured inside the process but its event-loop delay
 * (`bench/event-loop-probe.mjs`, preloaded into both alike).
 */

export interface DaemonRunOptions {
  readonly receiver: 'bare' | 'service';
  readonly boxes: number;
  /** Messages per second, held for `seconds`. */
  readonly rate: number;
  readonly seconds: number;
  /** Not measured: start-up, JIT warm-up, the first windows opening. */
  readonly warmUpSeconds: number;
  /** The service's store; default a fresh SQLite file in `dir`. */
  readonly storeUri?: string;
  /** A fresh directory for this run's config and store. */
  readonly dir: string;
  /** Where a failed receiver's whole stderr is written. */
  readonly failureLogDir: string;
}

export interface DaemonRunResult {
  readonly sent: number;
  /** Stored (service: rows in the store after a graceful stop) or decoded (bare). */
  readonly received: number;
  /** CPU of the process over the measured window, as a share of one core. */
  readonly cores: number;
  /** CPU µs per message sent in the measured window. */
  readonly cpuUsPerMessage: number;
  /** Median RSS over the measured window, MB. */
  readonly rssMb: number;
  /** Median anonymous RSS (`RssAnon`) over the same window, MB. */
  readonly rssAnonMb: number;
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/**
 * The built CLI to measure: this checkout's, or `MAKAI_BENCH_DAEMON` (another build's
 * `dist/cli/main.js`, for a before/after comparison on the same machine).
 */
const CLI = process.env['MAKAI_BENCH_DAEMON'] ?? join(ROOT, 'dist', 'cli', 'main.js');

/** The Node flags of the `makai` bin, read from its shebang (`#!/usr/bin/env -S node --flag`): what users run. */
function daemonNodeFlags(): string[] {
  const shebang = readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '';
  const words = shebang.replace(/^#!/, '').trim().split(/\s+/);
  return words.slice(words.indexOf('node') + 1);
}
const CLOCK_TICKS_PER_SECOND = 100;

/** Builds `dist/` when it is missing or older than a source file: the runs measure the built daemon. */
export function ensureBuilt(log: (message: string) => void): void {
  if (process.env['MAKAI_BENCH_DAEMON'] !== undefined) return;
  const built = existsSync(CLI) ? statSync(CLI).mtimeMs : 0;
  if (built > 0 && newestSourceMs() <= built) return;
  log('building dist/ (npm run build) for the daemon runs');
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`npm run build failed with exit code ${result.status}`);
}

function newestSourceMs(): number {
  let newest = statSync(join(ROOT, 'config', 'topology.ts')).mtimeMs;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(join(ROOT, 'src'));
  return newest;
}

/** utime + stime of every thread of `pid`, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * RSS, and its anonymous part (heaps, stacks: what the process alone holds; the rest are pages of
 * files, the `node` binary's first, shared with every Node process on the machine).
 */
function rssBytes(pid: number): { readonly rss: number; readonly anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kB('VmRSS'), anon: kB('RssAnon') };
}

/** Runs one stream and tears every process down, whatever happens. */
export async function daemonRun(options: DaemonRunOptions): Promise<DaemonRunResult> {
  await mkdir(options.dir, { recursive: true });
  const sender = spawnChild<SenderRequest | { type: 'exit' }, SenderReport>('sender.ts');
  const pull = new zmq.Pull({ linger: 0 });
  let receiver: ChildProcess | undefined;
  try {
    await pull.bind('tcp://127.0.0.1:*');
    void (async () => {
      for await (const _ of pull);
    })().catch(() => undefined);
    const durationMs = (options.warmUpSeconds + options.seconds) * 1000;
    sender.send({ type: 'start', config: { endpoint: 'tcp://127.0.0.1:*', bind: true, boxes: options.boxes, durationMs, rate: options.rate } });
    const { endpoint } = await sender.next('ready', 30_000);

    const storeUri = options.storeUri ?? `sqlite:${join(options.dir, 'makai.db')}`;
    const config = join(options.dir, 'makai.json');
    await writeFile(config, JSON.stringify({ zmq_trigger_endpoint: endpoint, zmq_acquisition_endpoint: pull.lastEndpoint, store: storeUri, plugins: [{ plugin: 'threshold' }] }));
    const probe = ['--import', join(ROOT, 'bench', 'event-loop-probe.mjs')];
    const args =
      options.receiver === 'service'
        ? [...daemonNodeFlags(), ...probe, CLI, 'run', config, '--create-store-dir']
        : [...probe, join(ROOT, 'bench', 'bare-receiver.mjs'), endpoint];
    receiver = spawn(process.execPath, args, { cwd: options.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = receiver.pid!;
    let stdout = '';
    let stderr = '';
    receiver.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    receiver.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => receiver!.once('exit', (code) => resolve(code)));
    const failed = async (why: string): Promise<never> => {
      // The whole log outlives the run's temporary directory: a failure's first lines are the telling ones.
      const log = join(options.failureLogDir, `${options.receiver}-failed.stderr.log`);
      await writeFile(log, stderr);
      throw new Error(`the ${options.receiver} receiver ${why} (its stderr: ${log}): ${stderr.slice(-1500)}`);
    };
    let stopping = false;
    // Rejects when the receiver exits before it is stopped; never settles otherwise.
    const exitedEarly = exited.then((code) => (stopping ? new Promise<never>(() => {}) : failed(`exited with ${code} before it was stopped`)));
    exitedEarly.catch(() => undefined);

    // The sender waits for the receiver's subscription, so the stream starts when it is up.
    await Promise.race([sleep(options.warmUpSeconds * 1000), exitedEarly]);
    const startTicks = cpuTicks(pid);
    const startedAt = performance.now();
    const rss: { rss: number; anon: number }[] = [];
    const sampler = setInterval(() => receiver!.exitCode === null && rss.push(rssBytes(pid)), 1000);
    const done = await Promise.race([sender.next('done', durationMs + 120_000), exitedEarly]).finally(() => clearInterval(sampler));
    const ticks = cpuTicks(pid) - startTicks;
    const seconds = (performance.now() - startedAt) / 1000;
    // Messages of the measured window: the paced stream's, unless the sender fell behind.
    const measured = Math.max(1, Math.min(done.sent, Math.round(options.rate * seconds)));

    // Let the last messages arrive and be stored, then stop gracefully.
    await Promise.race([sleep(2000), exitedEarly]);
    stopping = true;
    receiver.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(60_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') throw new Error(`the ${options.receiver} receiver did not stop within 60 s`);
    if (code !== 0) await failed(`exited with ${code} after SIGTERM`);

    const eventLoop = lastJsonLine<{ eventLoop: { p99Ms: number; maxMs: number } }>(stderr, 'eventLoop')?.eventLoop;
    const received =
      options.receiver === 'bare' ? (lastJsonLine<{ decoded: number }>(stdout, 'decoded')?.decoded ?? 0) : await storedMeasurements(storeUri);
    const median = (values: number[]) => (values.sort((a, b) => a - b)[values.length >> 1] ?? 0) / 2 ** 20;
    return {
      sent: done.sent,
      received,
      cores: ticks / CLOCK_TICKS_PER_SECOND / seconds,
      cpuUsPerMessage: ((ticks / CLOCK_TICKS_PER_SECOND) * 1e6) / measured,
      rssMb: median(rss.map((r) => r.rss)),
      rssAnonMb: median(rss.map((r) => r.anon)),
      eventLoopP99Ms: eventLoop?.p99Ms ?? Number.NaN,
      eventLoopMaxMs: eventLoop?.maxMs ?? Number.NaN,
    };
  } finally {
    receiver?.kill('SIGKILL');
    pull.close();
    sender.kill();
    await sender.exit(5_000);
  }
}

function lastJsonLine<T>(text: string, key: string): T | undefined {
  const line = text
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{') && l.includes(`"${key}"`));
  return line === undefined ? undefined : (JSON.parse(line) as T);
}

/** Rows in the store's `measurements` after the service stopped. */
async function storedMeasurements(storeUri: string): Promise<number> {
  const { openStore } = await import('../src/stores/open-store.js');
  const store = await openStore(storeUri);
  try {
    return await store.countMeasurements();
  } finally {
    await store.close();
  }
}
