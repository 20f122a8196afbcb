import { readFile } from 'node:fs/promises';
import { asyncScheduler } from 'rxjs';
import { ConfigError } from '../../core/errors.js';
import { checkDurationRange, durationRangeMs, MAX_TIMER_MS, parseDuration, type DurationRange } from '../../core/duration.js';
import { Metrics } from '../../core/metrics.js';
import { readCertificate } from '../../security/curve-certificate.js';
import { boxCertificateName, ensureBoxKeyPairs } from '../../simulator/box-key-pairs.js';
import { startNetworkedFleet, type NetworkedFleetStats } from '../../simulator/networked-fleet.js';
import { defaultScenario, parseCompactScenario, parseScenarioText, quietScenario, type Scenario } from '../../simulator/scenario.js';
import { SimulatedFleet } from '../../simulator/simulated-fleet.js';
import { createCliLogger } from '../cli-logger.js';
import { parseCommandArgs, UsageError, type CliCommand } from '../command.js';

const DEFAULTS = {
  boxes: 3,
  trigger: 'tcp://127.0.0.1:9880',
  boxPub: 'tcp://127.0.0.1:8194',
  boxPull: 'tcp://127.0.0.1:8196',
  seed: 1,
  rate: 6,
  statusEvery: '5s',
} as const;

const usage = `Usage: makai simulate --server-key <file> --keys-dir <dir> [options]

Runs simulated OPQ Boxes that connect to the brokers like real boxes (CURVE clients, one key
pair per box): each publishes [box id, TriggerMessage] to the triggering broker, answers the
acquisition broker's READ requests with raw waveform data and its PINGs with PONGs.

Required:
  --server-key FILE    the brokers' public certificate (e.g. public_keys/opqserver.key)
  --keys-dir DIR       box certificates: private_keys/opqbox<N>_secret is read, or generated
                       with public_keys/opqbox<N>.key (point a broker's client_certs there)

Options:
  --boxes N            number of boxes, ids 1..N (default ${DEFAULTS.boxes})
  --trigger URL        triggering broker interface (default ${DEFAULTS.trigger})
  --box-pub URL        acquisition broker box_pub (default ${DEFAULTS.boxPub})
  --box-pull URL       acquisition broker box_pull (default ${DEFAULTS.boxPull})
  --scenario FILE      disturbances from a JSON scenario file
  --inject SPEC        a disturbance, repeatable, e.g. 'sag@5s:boxes=1,2:depth=20%:for=1s',
                       'swell@12s:level=112%:for=500ms', 'freq@18s:hz=59.8:for=2s',
                       'thd@24s:boxes=1:ratio=7%:for=1s', 'silence@40s:boxes=3:for=10s'
  --quiet              no disturbances (without --scenario/--inject/--quiet: a demonstration
                       scenario with a sag, a swell, a frequency excursion and a THD rise)
  --seed N             seed of every value and waveform (default ${DEFAULTS.seed})
  --rate HZ            TriggerMessages per second per box (default ${DEFAULTS.rate})
  --duration D         stop after D (e.g. 40s, 5m); default: until Ctrl-C
  --status-every D     how often to print a status line (default ${DEFAULTS.statusEvery})
  --log-level LEVEL    debug | info | warn | error (default info; or MAKAI_LOG_LEVEL)

Times in a scenario count from the start of the simulation. Exits 0 after --duration or on
SIGINT/SIGTERM, once every socket is closed.`;

/** `makai simulate`: simulated boxes on the network (spec §1.3 S9–S11, §6.5). */
export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const options = parseOptions(argv);
    const logger = createCliLogger(options.logLevel);
    const log = logger.child({ component: 'cli.simulate' });
    const ids = Array.from({ length: options.boxes }, (_, i) => i + 1);
    // Everything is checked before anything is written or opened: a bad scenario leaves no new key files.
    const scenario = await loadScenario(options, ids);
    const serverPublicKey = (await readCertificate(options.serverKey)).publicKey;
    const { keys, generated } = await ensureBoxKeyPairs(options.keysDir, ids);
    if (generated.length > 0) {
      io.out(`generated key pairs for box(es) ${generated.join(', ')} in ${options.keysDir} (public certificates in public_keys/, e.g. ${boxCertificateName(generated[0]!)}.key)`);
    }
    const fleet = new SimulatedFleet({ boxes: ids, seed: options.seed, rateHz: options.rate, scenario, scheduler: asyncScheduler });
    const metrics = new Metrics();
    const running = await startNetworkedFleet({
      fleet,
      triggerEndpoint: options.trigger,
      boxPubEndpoint: options.boxPub,
      boxPullEndpoint: options.boxPull,
      serverPublicKey,
      keys,
      logger,
      metrics,
    });
    const startedMs = Date.now();
    io.out(
      `simulating ${ids.length} box(es) (ids 1..${ids.length}, seed ${options.seed}, ${options.rate}/s each, scenario "${scenario.name}" with ${scenario.disturbances.length} disturbance(s))` +
        ` → trigger ${options.trigger}, box_pub ${options.boxPub}, box_pull ${options.boxPull}`,
    );
    for (const d of scenario.disturbances) io.out(`  ${describeDisturbance(d)}`);

    const timers: NodeJS.Timeout[] = [];
    const status = setInterval(() => io.out(statusLine(running.stats, Date.now() - startedMs, ids.length)), options.statusEveryMs);
    timers.push(status);
    const finished = new Promise<string>((resolve) => {
      if (options.durationMs !== undefined) timers.push(setTimeout(() => resolve('duration reached'), options.durationMs));
      void io.stopRequested.then((signal) => resolve(`${signal} received`));
    });
    try {
      const why = await finished;
      log.info('stopping the simulation', { reason: why });
    } finally {
      for (const t of timers) clearTimeout(t);
      await running.stop();
    }
    io.out(`${statusLine(running.stats, Date.now() - startedMs, ids.length)} (stopped)`);
    return 0;
  },
};

interface SimulateOptions {
  readonly boxes: number;
  readonly serverKey: string;
  readonly keysDir: string;
  readonly trigger: string;
  readonly boxPub: string;
  readonly boxPull: string;
  readonly scenarioFile: string | undefined;
  readonly inject: readonly string[];
  readonly quiet: boolean;
  readonly seed: number;
  readonly rate: number;
  readonly durationMs: number | undefined;
  readonly statusEveryMs: number;
  readonly logLevel: string | undefined;
}

function parseOptions(argv: readonly string[]): SimulateOptions {
  const parsed = parseCommandArgs({
    args: [...argv],
    allowPositionals: false,
    strict: true,
    options: {
      boxes: { type: 'string' },
      'server-key': { type: 'string' },
      'keys-dir': { type: 'string' },
      trigger: { type: 'string' },
      'box-pub': { type: 'string' },
      'box-pull': { type: 'string' },
      scenario: { type: 'string' },
      inject: { type: 'string', multiple: true },
      quiet: { type: 'boolean', default: false },
      seed: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      'status-every': { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  const v = parsed.values;
  const serverKey = v['server-key'];
  const keysDir = v['keys-dir'];
  if (!serverKey) throw new UsageError('--server-key <file> is required (the brokers\' public certificate)');
  if (!keysDir) throw new UsageError('--keys-dir <dir> is required (where the box certificates are kept)');
  const inject = v.inject ?? [];
  if (v.quiet && (v.scenario !== undefined || inject.length > 0)) throw new UsageError('--quiet cannot be combined with --scenario or --inject');
  const durationMs = v.duration === undefined ? undefined : duration(v.duration, '--duration', { min: '1ms', max: MAX_TIMER_MS });
  const statusEveryMs = duration(v['status-every'] ?? DEFAULTS.statusEvery, '--status-every', { min: '100ms', max: '1d' });
  return {
    boxes: integer(v.boxes, DEFAULTS.boxes, '--boxes', 1, 10_000),
    serverKey,
    keysDir,
    trigger: v.trigger ?? DEFAULTS.trigger,
    boxPub: v['box-pub'] ?? DEFAULTS.boxPub,
    boxPull: v['box-pull'] ?? DEFAULTS.boxPull,
    scenarioFile: v.scenario,
    inject,
    quiet: v.quiet === true,
    seed: integer(v.seed, DEFAULTS.seed, '--seed', -(2 ** 31), 2 ** 32),
    rate: number(v.rate, DEFAULTS.rate, '--rate'),
    durationMs,
    statusEveryMs,
    logLevel: v['log-level'],
  };
}

function integer(text: string | undefined, fallback: number, flag: string, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(/^-?\d+$/.test(text.trim()) && value >= min && value <= max)) throw new UsageError(`${flag} must be a whole number from ${min} to ${max} (got "${text}")`);
  return value;
}

function number(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(text.trim() !== '' && Number.isFinite(value) && value > 0 && value <= 1000)) throw new UsageError(`${flag} must be a number above 0 and at most 1000 (got "${text}")`);
  return value;
}

function duration(text: string, flag: string, range: DurationRange): number {
  const parsed = parseDuration(text);
  if ('error' in parsed) throw new UsageError(`${flag}: ${parsed.error}`);
  const outside = checkDurationRange(parsed.ms, durationRangeMs(range));
  if (outside) throw new UsageError(`${flag} ${outside}`);
  return parsed.ms;
}

async function loadScenario(options: SimulateOptions, ids: readonly number[]): Promise<Scenario> {
  if (options.quiet) return quietScenario;
  if (options.scenarioFile === undefined && options.inject.length === 0) return defaultScenario(ids);
  let fromFile: Scenario | undefined;
  if (options.scenarioFile !== undefined) {
    let text: string;
    try {
      text = await readFile(options.scenarioFile, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read scenario: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { file: options.scenarioFile }, { cause: error });
    }
    fromFile = parseScenarioText(text, options.scenarioFile);
  }
  const injected = options.inject.length > 0 ? parseCompactScenario(options.inject, '--inject') : undefined;
  if (fromFile && injected) return { name: `${fromFile.name} + --inject`, disturbances: [...fromFile.disturbances, ...injected.disturbances] };
  return fromFile ?? injected!;
}

function describeDisturbance(d: Scenario['disturbances'][number]): string {
  const boxes = d.boxes === 'all' ? 'all boxes' : `box(es) ${d.boxes.join(',')}`;
  const what =
    d.kind === 'voltage-sag' || d.kind === 'voltage-swell'
      ? `${d.kind} to ${d.voltagePercent} %`
      : d.kind === 'frequency'
        ? `frequency ${d.hz} Hz`
        : d.kind === 'thd'
          ? `THD ${(d.ratio * 100).toFixed(1)} %`
          : 'silence';
  return `at ${d.atMs / 1000}s for ${d.durationMs / 1000}s: ${what} on ${boxes}`;
}

/** One line of status; `elapsedMs` is wall time since start. */
export function statusLine(stats: NetworkedFleetStats, elapsedMs: number, boxes: number): string {
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const r = stats.requests;
  return (
    `simulate ${seconds.toFixed(1)}s: ${boxes} box(es), triggers ${stats.triggersSent} sent (${(stats.triggersSent / seconds).toFixed(1)}/s), ${stats.triggersDropped} dropped;` +
    ` requests READ ${r.READ}, PING ${r.PING}, other ${r.PONG + r.RESP + r.ERROR}; replies ${stats.repliesSent} sent (${stats.dataMessagesSent} data messages), ${stats.repliesDropped} dropped;` +
    ` ignored ${stats.ignored}`
  );
}
