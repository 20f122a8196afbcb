import { readFile } from 'node:fs/promises';
import { checkDurationRange, durationRangeMs, MAX_TIMER_MS, parseDuration, type DurationRange } from '../../core/duration.js';
import { defaultScenario, parseCompactScenario, parseScenarioText, type Scenario } from '../../simulator/scenario.js';
import { createCliLogger } from '../cli-logger.js';
import { parseCommandArgs, UsageError, userMessage, type CliCommand, type CliIo } from '../command.js';
import { startLocalDeployment, type LocalDeployment } from '../local-deployment.js';
import { parseListenAddress } from '../../config/listen-address.js';
import { ensureStoreDirectory } from '../store-directory.js';

/** Where `makai up` serves /metrics and /health unless told otherwise: what `makai status` asks. */
export const DEFAULT_UP_METRICS_ADDRESS = '127.0.0.1:8080';

const usage = `Usage: makai up [options]        (npm start -- [options])

Runs the whole loop on one machine: the triggering broker, the acquisition broker, the
triggering service (default topology with the threshold plugin) and a simulated fleet of boxes
whose default scenario has a voltage sag and a swell within the first 30 s. Keys are generated
under the data directory on first run, in the original layout.

Options:
  --data-dir DIR      keys and the embedded store (default ./data)
  --store URI         sqlite:<file> or mongodb://host:port (default sqlite:<data-dir>/makai.db)
  --boxes N           simulated boxes (default 5)
  --no-simulate       no simulated boxes: wait for real boxes on the original ports
  --listen ADDR       bind address (default 127.0.0.1; * for boxes on the network)
  --scenario FILE     scenario JSON instead of the default one
  --inject SPEC       add a disturbance, e.g. sag@5s:boxes=1,2:depth=20%:for=1s (repeatable)
  --seed N            simulator seed (default 1)
  --duration D        stop after D (e.g. 40s, 2m); default: until Ctrl-C
  --status-every D    status line interval (default 2s)
  --metrics-address HOST:PORT  serve the web console, /metrics (Prometheus) and /health
                      there (default ${DEFAULT_UP_METRICS_ADDRESS}, which \`makai status\` reads; port 0
                      picks a free one)
  --no-metrics        serve none of them
  --create-store-dir  create the directory of a --store sqlite: file that does not exist
  --log-level LEVEL   debug | info | warn | error (default warn)`;

export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const { values } = parseCommandArgs({
      args: [...argv],
      options: {
        'data-dir': { type: 'string', default: './data' },
        store: { type: 'string' },
        boxes: { type: 'string', default: '5' },
        'no-simulate': { type: 'boolean', default: false },
        listen: { type: 'string', default: '127.0.0.1' },
        scenario: { type: 'string' },
        inject: { type: 'string', multiple: true },
        seed: { type: 'string', default: '1' },
        duration: { type: 'string' },
        'status-every': { type: 'string', default: '2s' },
        'log-level': { type: 'string', default: 'warn' },
        'metrics-address': { type: 'string', default: DEFAULT_UP_METRICS_ADDRESS },
        'no-metrics': { type: 'boolean', default: false },
        'create-store-dir': { type: 'boolean', default: false },
      },
    });
    const boxes = values['no-simulate'] ? 0 : Number(values.boxes);
    // Bounded as in `makai simulate`: each box is a key pair and a few sockets.
    if (!Number.isInteger(boxes) || boxes < 0 || boxes > 10_000) throw new UsageError(`--boxes must be a whole number from 0 to 10 000 (got "${values.boxes}")`);
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < -(2 ** 31) || seed > 2 ** 32) throw new UsageError(`--seed must be a whole number from ${-(2 ** 31)} to ${2 ** 32} (got "${values.seed}")`);
    const durationMs = values.duration === undefined ? undefined : msOf(values.duration, '--duration', { min: '1ms', max: MAX_TIMER_MS });
    const statusEveryMs = msOf(values['status-every'], '--status-every', { min: '100ms', max: '1d' });
    const scenario = await scenarioOf(values.scenario, values.inject, boxes);
    const logger = createCliLogger(values['log-level']);
    const observabilityAddress = values['no-metrics'] ? undefined : metricsAddressOf(values['metrics-address']);
    if (values.store) await ensureStoreDirectory({ uri: values.store, origin: { configPath: '--store' } }, { create: values['create-store-dir'] });

    const deployment = await startLocalDeployment({
      dataDir: values['data-dir'],
      ...(values.store ? { storeUri: values.store } : {}),
      listen: values.listen,
      boxes,
      scenario,
      seed,
      logger,
      ...(observabilityAddress === undefined ? {} : { observabilityAddress }),
    });
    io.out(
      `makai up: store ${deployment.store.location}; boxes connect to ${deployment.endpoints.interface} (triggers), ` +
        `${deployment.endpoints.box_pub} and ${deployment.endpoints.box_pull} (acquisition). ` +
        (boxes > 0 ? `${boxes} simulated boxes, scenario "${scenario.name}".` : 'Waiting for real boxes.'),
    );
    const url = deployment.observabilityUrl;
    if (url) io.out(`makai up: web console ${url}/, health ${url}/health (makai status --url ${url}), metrics ${url}/metrics`);

    const startedAt = Date.now();
    let lastIn = 0;
    const printed = new Set<number>();
    const timer = setInterval(() => {
      void printStatus(deployment, io, startedAt, lastIn, printed, statusEveryMs).then(
        (messagesIn) => (lastIn = messagesIn),
        (error: unknown) => io.err(`makai up: status failed: ${userMessage(error)}`),
      );
    }, statusEveryMs);
    const finished = durationMs === undefined ? new Promise<never>(() => {}) : new Promise<string>((r) => setTimeout(r, durationMs, 'duration'));
    const reason = await Promise.race([io.stopRequested, finished]);
    clearInterval(timer);
    io.out(`makai up: stopping (${reason}); flushing trends and measurements, collecting waveforms in flight…`);
    await deployment.stop();
    // The store is closed now; the summary comes from what was counted while running.
    const status = await deployment.status();
    io.out(`makai up: done. ${status.measurementsWritten} measurements, ${status.trendsWritten} trends, ${eventSummary(status.events, boxes)}.`);
    return 0;
  },
};

/**
 * The events line of the final summary, from the replies the broker stored: with simulated
 * boxes every box answers every READ, so an event is complete when all of them did, and one
 * that is not is said to be so (the summary used to call an event with any reply "with
 * waveforms").
 *
 * ```
 * 3 events (2 with waveforms from all 5 boxes, 1 from some, 0 without)
 * ```
 */
export function eventSummary(events: readonly { readonly replies: readonly string[] }[], boxes: number): string {
  const withAny = events.filter((e) => e.replies.length > 0).length;
  if (boxes === 0) return `${events.length} events (${withAny} with waveforms)`;
  const complete = events.filter((e) => new Set(e.replies).size >= boxes).length;
  return `${events.length} events (${complete} with waveforms from all ${boxes} boxes, ${withAny - complete} from some, ${events.length - withAny} without)`;
}

async function printStatus(d: LocalDeployment, io: CliIo, startedAt: number, lastIn: number, printed: Set<number>, everyMs: number): Promise<number> {
  const s = await d.status();
  const rate = Math.round(((s.messagesIn - lastIn) * 1000) / everyMs);
  io.out(
    `[${Math.round((Date.now() - startedAt) / 1000)}s] boxes ${s.boxesConnected}  msg/s ${rate}  measurements ${s.measurementsWritten}  ` +
      `trends ${s.trendsWritten}  events ${s.events.length}`,
  );
  for (const event of s.events) {
    if (printed.has(event.eventId) || event.replies.length === 0) continue;
    const stored = await d.store.getEvent(event.eventId);
    if (!stored) continue;
    printed.add(event.eventId);
    io.out(
      `  event ${event.eventId}: ${stored.type} on boxes ${stored.boxes_triggered.join(', ')}; waveforms from ${event.replies.join(', ')} — ${stored.description}`,
    );
  }
  return s.messagesIn;
}

/** A listen address checked before anything starts, so a typo is a usage error, not a half-started deployment. */
function metricsAddressOf(text: string): string {
  try {
    parseListenAddress(text);
  } catch (error) {
    throw new UsageError(`--metrics-address: ${error instanceof Error ? error.message.replace(/^metrics_address: /, '') : String(error)}`);
  }
  return text;
}

/** A duration flag in ms, refused (a usage error) outside `range`: a timer would turn "25d" into 1 ms. */
function msOf(text: string, flag: string, range: DurationRange): number {
  const parsed = parseDuration(text);
  if ('error' in parsed) throw new UsageError(`${flag}: ${parsed.error}`);
  const outside = checkDurationRange(parsed.ms, durationRangeMs(range));
  if (outside) throw new UsageError(`${flag} ${outside}`);
  return parsed.ms;
}

async function scenarioOf(file: string | undefined, inject: string[] | undefined, boxes: number): Promise<Scenario> {
  const base = file ? parseScenarioText(await readFile(file, 'utf8'), file) : inject ? { name: 'injected', disturbances: [] } : defaultScenario(Array.from({ length: Math.max(boxes, 1) }, (_, i) => i + 1));
  if (!inject) return base;
  const extra = parseCompactScenario(inject, '--inject');
  return { ...base, disturbances: [...base.disturbances, ...extra.disturbances] };
}
