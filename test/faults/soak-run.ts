import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as zmq from 'zeromq';
import { encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { createTempDir } from '../helpers/temp-dir.js';

/**
 * A soak of the triggering service: `makai run` as a real process (default topology, threshold
 * plugin, embedded SQLite store) fed by a test-owned XPUB at a steady rate, with the child's
 * resident memory and open file descriptors sampled from /proc every second.
 *
 * Used by `soak.test.ts` (about a minute, in CI) and runnable on its own for longer:
 *
 *   node --import tsx test/faults/soak-run.ts --minutes 30 [--rate 3000] [--boxes 50] [--plugin leaks-memory.ts]
 *
 * which prints the samples as they come and a JSON report at the end.
 */

export interface SoakOptions {
  /** How long to feed, seconds. */
  readonly seconds: number;
  /** Messages per second, all boxes together. */
  readonly rate: number;
  /** Boxes sending (round robin); each box's clock advances 1/6 s per message. */
  readonly boxes: number;
  /** Plugin entries besides the threshold plugin (relative paths resolve against `test/fixtures/plugins`). */
  readonly plugins?: readonly Readonly<Record<string, unknown>>[];
  /** Called with every sample (the runner prints them). */
  readonly onSample?: (sample: SoakSample) => void;
}

export interface SoakSample {
  /** Seconds since feeding started. */
  readonly atS: number;
  /** Messages sent so far. */
  readonly sent: number;
  /** Resident set size of the `makai run` process, MiB (VmRSS). */
  readonly rssMiB: number;
  /** Open file descriptors of the process (/proc/<pid>/fd). */
  readonly fds: number;
}

export interface SoakReport {
  readonly options: Omit<SoakOptions, 'onSample'>;
  readonly sent: number;
  /** Measurements in the store after the last one was written. */
  readonly stored: number;
  /** Trend documents in the store after the stop (flushes the open windows). */
  readonly trends: number;
  /** One per started second of box time per box: what `trends` must be. */
  readonly expectedTrends: number;
  /** Sags every box went through (all boxes sag together, so one request each). */
  readonly sags: number;
  /** Event requests that reached the acquisition endpoint (one sag every `SAG_EVERY` messages per box). */
  readonly requests: number;
  /** Achieved feed rate, messages per second. */
  readonly achievedRate: number;
  readonly samples: readonly SoakSample[];
  /** Exit code of `makai run` after SIGTERM. */
  readonly exitCode: number | null;
  readonly stderr: string;
}

/** Every box sags for 6 messages (1 s of box time) every this many of its messages. */
const SAG_EVERY = 1200;
const MINUTE = 60_000;
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'plugins');

/** Median of the values (sorted copy). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function sampleProcess(pid: number): { rssMiB: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  return { rssMiB: rssKiB / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** Runs one soak and reports; throws when the service does not come up or dies. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const dir = await createTempDir('makai-soak-');
  const triggers = new zmq.XPublisher({ sendHighWaterMark: 0, linger: 0 });
  const acquisition = new zmq.Pull({ linger: 0 });
  let child: ReturnType<typeof spawn> | undefined;
  try {
    await triggers.bind('tcp://127.0.0.1:*');
    await acquisition.bind('tcp://127.0.0.1:*');
    let requests = 0;
    const counting = (async () => {
      for await (const _ of acquisition) requests += 1;
    })().catch(() => undefined);

    await writeFile(
      dir.file('makai.json'),
      JSON.stringify({
        zmq_trigger_endpoint: triggers.lastEndpoint,
        zmq_acquisition_endpoint: acquisition.lastEndpoint,
        mongo_trends_update_interval_seconds: 1,
        plugins: [{ plugin: 'threshold' }, ...(options.plugins ?? []).map((entry) => (typeof entry['path'] === 'string' ? { ...entry, path: join(FIXTURES, entry['path']) } : entry))],
        store: `sqlite:${dir.file('makai.db')}`,
      }),
    );
    const cli = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
    const makai = spawn(process.execPath, ['--import', 'tsx', cli, 'run', dir.file('makai.json'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = makai;
    let stderr = '';
    makai.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => makai.on('exit', (code) => resolve(code)));
    let dead = false;
    void exited.then(() => (dead = true));

    // makai's SUB subscribing reaches the XPUB as a frame [0x01]: it is connected.
    let giveUp: NodeJS.Timeout | undefined;
    const subscribed = await Promise.race([
      triggers.receive(),
      exited.then(() => undefined),
      new Promise<undefined>((resolve) => (giveUp = setTimeout(() => resolve(undefined), 60_000))),
    ]).finally(() => clearTimeout(giveUp));
    if (!subscribed) throw new Error(`makai run did not subscribe within 60 s, or exited: ${stderr}`);

    // Box clocks start an hour back, so that faster-than-real-time box time stays recent.
    const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
    const perBox = new Array<number>(options.boxes).fill(0);
    const message = (box: number): TriggerMessage => {
      const k = perBox[box]!++;
      const sagged = k % SAG_EVERY >= 600 && k % SAG_EVERY < 606;
      return { id: box + 1, time: t0 + Math.floor((k * 1000) / 6), frequency: 60, rms: sagged ? 95 : 120, thd: 0.02 };
    };

    const samples: SoakSample[] = [];
    let sent = 0;
    const started = Date.now();
    const sampler = setInterval(() => {
      if (dead) return;
      try {
        const sample = { atS: (Date.now() - started) / 1000, sent, ...sampleProcess(makai.pid!) };
        samples.push(sample);
        options.onSample?.(sample);
      } catch {
        // The process went away between the check and the read; `dead` reports it.
      }
    }, 1000);
    try {
      // Steady rate: each tick sends what the clock says is due, so a slow tick is caught up.
      const endAt = started + options.seconds * 1000;
      let box = 0;
      while (Date.now() < endAt && !dead) {
        const due = Math.min(Math.floor(((Date.now() - started) / 1000) * options.rate), Math.floor(options.seconds * options.rate));
        while (sent < due) {
          await triggers.send([String(box + 1), encodeTriggerMessage(message(box))]);
          sent += 1;
          box = (box + 1) % options.boxes;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const feedSeconds = (Date.now() - started) / 1000;
      if (dead) throw new Error(`makai run died during the soak: ${stderr}`);

      // Everything sent is stored: read the store beside the running service until it is.
      const reader = await openSqliteStore({ path: dir.file('makai.db') });
      let stored = 0;
      try {
        const deadline = Date.now() + 60_000;
        while ((stored = await reader.countMeasurements()) < sent && Date.now() < deadline && !dead) {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      } finally {
        await reader.close();
      }
      clearInterval(sampler);

      makai.kill('SIGTERM');
      const exitCode = await exited;
      const after = await openSqliteStore({ path: dir.file('makai.db') });
      let trends = 0;
      try {
        for (let id = 1; id <= options.boxes; id++) trends += (await after.queryTrends({ box_id: String(id) })).length;
      } finally {
        await after.close();
      }
      acquisition.close();
      await counting;
      const fewest = Math.min(...perBox);
      return {
        options: { seconds: options.seconds, rate: options.rate, boxes: options.boxes, ...(options.plugins ? { plugins: options.plugins } : {}) },
        sent,
        stored,
        trends,
        expectedTrends: perBox.reduce((sum, n) => sum + Math.ceil(n / 6), 0),
        sags: Math.floor(fewest / SAG_EVERY) + (fewest % SAG_EVERY >= 606 ? 1 : 0),
        requests,
        achievedRate: Math.round(sent / feedSeconds),
        samples,
        exitCode,
        stderr,
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    triggers.close();
    if (!acquisition.closed) acquisition.close();
    await dir.remove();
  }
}

/**
 * Growth of a sampled quantity after warm-up: the median of the last third of the samples
 * minus the median of the middle third (the first third is warm-up: heap, caches and SQLite
 * pages growing to their working size). A leak grows it with the run; noise does not.
 */
export function growthAfterWarmUp(values: readonly number[]): number {
  const third = Math.floor(values.length / 3);
  return median(values.slice(values.length - third)) - median(values.slice(third, 2 * third));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '30' },
      rate: { type: 'string', default: '3000' },
      boxes: { type: 'string', default: '50' },
      /** A plugin module under test/fixtures/plugins to run beside the threshold plugin (repeatable). */
      plugin: { type: 'string', multiple: true },
    },
  });
  const seconds = Number(values.minutes) * 60;
  const rate = Number(values.rate);
  const boxes = Number(values.boxes);
  if (!(seconds > 0 && rate > 0 && Number.isInteger(boxes) && boxes > 0)) throw new Error('--minutes, --rate and --boxes must be positive numbers');
  const report = await runSoak({
    seconds,
    rate,
    boxes,
    ...(values.plugin ? { plugins: values.plugin.map((path) => ({ path })) } : {}),
    onSample: (s) => process.stdout.write(`${s.atS.toFixed(0)} s  sent ${s.sent}  rss ${s.rssMiB.toFixed(1)} MiB  fds ${s.fds}\n`),
  });
  const { samples, stderr, ...summary } = report;
  process.stdout.write(
    JSON.stringify(
      {
        ...summary,
        rssMiB: { first: samples[0]?.rssMiB, max: Math.max(...samples.map((s) => s.rssMiB)), last: samples.at(-1)?.rssMiB, growthAfterWarmUp: growthAfterWarmUp(samples.map((s) => s.rssMiB)) },
        fds: { first: samples[0]?.fds, max: Math.max(...samples.map((s) => s.fds)), last: samples.at(-1)?.fds, growthAfterWarmUp: growthAfterWarmUp(samples.map((s) => s.fds)) },
        stderrLines: stderr.split('\n').filter(Boolean).length,
      },
      null,
      2,
    ) + '\n',
  );
  if (report.stored !== report.sent || report.exitCode !== 0) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}
