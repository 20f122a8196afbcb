import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Observable, Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { describeError } from '../core/errors.js';
import type { Logger, LogLevel } from '../core/logger.js';
import { DEFAULT_PLUGIN_MAX_QUEUE } from './isolate-plugin.js';
import { LengthDelimitedFrames } from './length-delimited-frames.js';
import { PLUGIN_PROTOCOL_VERSION, decodePluginMessage, encodeHostFrame, type HostMessage, type PluginMessage } from './plugin-protocol-codec.js';
import type { EventRequest, Measurement, PluginFactory, PluginOperator, PluginSettings } from './plugin.js';

/** What to run: the program and where. */
export interface ProcessPluginSpec {
  /** argv: the program (looked up on `PATH` unless it contains a `/`) and its arguments. */
  readonly command: readonly string[];
  /** Working directory of the plugin: the config file's directory. */
  readonly cwd: string;
  /** Extra environment variables, on top of Makai's own. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Limits of {@link processPlugin}. Durations are scheduler milliseconds. */
export interface ProcessPluginTuning {
  /** How often the host pings the plugin. Default 1000. */
  readonly heartbeatIntervalMs?: number;
  /** A plugin that sent nothing (no pong, no result) for this long is hung, and fails. Default 10 000. */
  readonly heartbeatTimeoutMs?: number;
  /** How long the plugin may take from spawn to its handshake reply. Default 30 000. */
  readonly startTimeoutMs?: number;
  /** Most measurements in one batch. Default 256. */
  readonly maxBatch?: number;
  /** Batches sent that the plugin has not answered yet. Default 4. */
  readonly maxInFlight?: number;
  /** Most measurements waiting for the plugin; beyond it the oldest is dropped and counted. Default {@link DEFAULT_PLUGIN_MAX_QUEUE}. */
  readonly maxQueue?: number;
}

/** A failure of a plugin process: it exited, hung, broke the protocol, or reported an error. */
export class PluginProcessError extends Error {
  override readonly name = 'PluginProcessError';
  constructor(
    /** `exit`, `hang`, `protocol`, `start`, or the plugin's own Error.Kind (lower case). */
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Entry keys the host reads; the rest of the entry is the plugin's settings (`Handshake.settings_json`). */
export const PROCESS_PLUGIN_HOST_KEYS = ['command', 'path', 'name', 'plugin', 'isolation', 'process'] as const;

/** The settings a plugin process is sent: the entry without the keys the host reads. */
export function processPluginSettings(entry: PluginSettings): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry)) if (!(PROCESS_PLUGIN_HOST_KEYS as readonly string[]).includes(key)) settings[key] = value;
  return settings;
}

/**
 * A plugin that is a separate program (any language), spoken to over its stdin and stdout with
 * the length-delimited protobuf messages of `proto/plugin.proto` (docs/plugin-protocol.md), as
 * an ordinary {@link PluginFactory}: wrap its operator in `isolatePlugin` like any plugin.
 *
 * Informally: each subscription spawns the program, sends the handshake (name, settings as
 * JSON, protocol version) and waits for the reply; measurements then go out in batches of at
 * most `maxBatch`, at most `maxInFlight` unanswered, the rest waiting in a bounded queue
 * (`maxQueue`, oldest dropped and counted in `makai_plugin_dropped_total{plugin}`). Every batch
 * is answered by one result, whose requests are emitted in order. The host pings every
 * `heartbeatIntervalMs`; a plugin that sends nothing for `heartbeatTimeoutMs` is hung. Each line
 * the plugin writes to stderr is logged (`WARNING:` / `ERROR:` / `DEBUG:` prefixes, as Python's
 * logging writes them, pick the level). On input completion the host sends `finish`; the
 * plugin's `finished` (its last requests) completes the output.
 *
 * ```
 * measurements: -a-b-c-d-|
 * to the plugin: [handshake] -[a b]-[c d]-[finish]     (batches as the queue fills)
 * output:        requests of each result, in order, then complete on finished
 * ```
 *
 * The output errors ({@link PluginProcessError}) when the plugin exits, hangs, fails to start,
 * sends bytes that are not a message, answers out of order, or reports an error; what it had
 * in flight or queued is counted as dropped. Unsubscribing (a failure, a cut-off, the service
 * stopping) kills the process with SIGKILL; Node reaps it, so no zombie is left.
 *
 * Time: only `context.scheduler` (heartbeats, start timeout); the plugin's event time is the
 * box timestamps it is sent.
 *
 * @param spec The program to run.
 * @param tuning See {@link ProcessPluginTuning}.
 * @returns A factory: settings are the entry (the host keys are removed before they are sent).
 */
export function processPlugin(spec: ProcessPluginSpec, tuning: ProcessPluginTuning = {}): PluginFactory {
  const {
    heartbeatIntervalMs = 1000,
    heartbeatTimeoutMs = 10_000,
    startTimeoutMs = 30_000,
    maxBatch = 256,
    maxInFlight = 4,
    maxQueue = DEFAULT_PLUGIN_MAX_QUEUE,
  } = tuning;
  return (settings, context): PluginOperator => {
    const settingsJson = JSON.stringify(processPluginSettings(settings));
    const { name, scheduler } = context;
    const logger = context.logger;
    const labels = { plugin: name };
    const dropped = context.metrics?.counter('makai_plugin_dropped_total', 'Measurements a plugin never saw (queue full, or left over when it stopped)', ['plugin']);
    const countDropped = (n: number) => {
      if (n > 0) dropped?.inc(labels, n);
    };

    return (source: Observable<Measurement>): Observable<EventRequest> =>
      new Observable<EventRequest>((subscriber) => {
        // All state lives in this subscription: a restart is a new subscription and a new process.
        const queue: Measurement[] = [];
        /** Unanswered batches: [sequence, measurement count], oldest first. */
        const inFlight: [number, number][] = [];
        const timers = new Subscription();
        let ready = false;
        let done = false;
        let inputDone = false;
        let finishSent = false;
        let pumpPending = false;
        let sequence = 0;
        let pingId = 0;
        let lastHeard = scheduler.now();

        const child = startPluginProcess(spec, logger);
        const pid = child.pid;
        logger.info('plugin process started', { pid, command: spec.command });

        const later = (work: () => void, delay: number) => {
          timers.add(
            scheduler.schedule(function (this: SchedulerAction<unknown>) {
              try {
                work();
              } finally {
                this.unsubscribe(); // removes the finished action from `timers`
              }
            }, delay),
          );
        };

        const send = (message: HostMessage) => {
          if (!child.stdin.writable) return; // it is exiting: 'close' reports that
          child.stdin.write(encodeHostFrame(message));
        };

        const inFlightCount = () => inFlight.reduce((sum, [, count]) => sum + count, 0);

        const stop = () => {
          done = true;
          timers.unsubscribe();
          child.stdout.removeAllListeners('data');
          child.removeAllListeners('close');
          child.removeAllListeners('error');
          child.on('error', () => undefined); // a late EPIPE or kill failure is of no interest now
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        };

        const fail = (reason: string, message: string, cause?: unknown) => {
          if (done) return;
          countDropped(queue.length + inFlightCount());
          queue.length = 0;
          stop();
          subscriber.error(new PluginProcessError(reason, `plugin process ${name} (pid ${pid}): ${message}`, cause === undefined ? undefined : { cause }));
        };

        const pump = () => {
          pumpPending = false;
          if (done || !ready) return;
          while (inFlight.length < maxInFlight && queue.length > 0) {
            const measurements = queue.splice(0, maxBatch);
            sequence += 1;
            inFlight.push([sequence, measurements.length]);
            send({ batch: { sequence, measurements } });
          }
          if (inputDone && queue.length === 0 && !finishSent) {
            finishSent = true;
            send({ finish: {} });
          }
        };
        const schedulePump = () => {
          if (pumpPending || done) return;
          pumpPending = true;
          later(pump, 0);
        };

        const heartbeat = () => {
          if (done) return;
          const silentFor = scheduler.now() - lastHeard;
          if (silentFor >= heartbeatTimeoutMs) {
            fail('hang', `sent nothing for ${silentFor} ms (heartbeat timeout ${heartbeatTimeoutMs} ms): hung or blocked`);
            return;
          }
          pingId += 1;
          send({ ping: { id: pingId } });
          later(heartbeat, heartbeatIntervalMs);
        };

        const onMessage = (message: PluginMessage) => {
          lastHeard = scheduler.now();
          switch (message.kind) {
            case 'handshake':
              if (ready) return fail('protocol', 'sent a second handshake');
              if (message.protocolVersion !== PLUGIN_PROTOCOL_VERSION) {
                return fail('protocol', `speaks protocol version ${message.protocolVersion}; this Makai speaks ${PLUGIN_PROTOCOL_VERSION}`);
              }
              ready = true;
              logger.info('plugin process ready', { pid, sdk: message.sdk });
              later(heartbeat, heartbeatIntervalMs);
              schedulePump();
              return;
            case 'result': {
              const expected = inFlight[0];
              if (!ready || expected === undefined || expected[0] !== message.sequence) {
                return fail('protocol', `answered batch ${message.sequence}, expected ${expected ? `batch ${expected[0]}` : 'no answer'}`);
              }
              inFlight.shift();
              for (const request of message.requests) {
                if (done) return;
                subscriber.next(request);
              }
              schedulePump();
              return;
            }
            case 'pong':
              return;
            case 'finished':
              if (!finishSent) return fail('protocol', 'sent finished before it was asked to finish');
              for (const request of message.requests) {
                if (done) return;
                subscriber.next(request);
              }
              if (done) return;
              stop();
              subscriber.complete();
              return;
            case 'error': {
              const where = message.path ? ` (setting ${message.path})` : '';
              return fail(message.errorKind.toLowerCase(), `reported ${message.errorKind.toLowerCase()} error${where}: ${message.message}`);
            }
          }
        };

        const frames = new LengthDelimitedFrames();
        child.stdout.on('data', (chunk: Buffer) => {
          try {
            for (const frame of frames.push(chunk)) {
              onMessage(decodePluginMessage(frame));
              if (done) return;
            }
          } catch (error) {
            fail('protocol', `wrote something that is not a plugin message to stdout: ${describeError(error)}`, error);
          }
        });
        forwardStderr(child, logger);
        child.on('error', (error) => fail('start', `could not be run (${spec.command.join(' ')}): ${describeError(error)}`, error));
        child.on('close', (code, signal) => {
          const tail = frames.pending > 0 ? `, leaving ${frames.pending} bytes of an unfinished message` : '';
          fail('exit', `exited ${signal ? `on signal ${signal}` : `with code ${code}`}${finishSent ? ' before it finished' : ' before its input ended'}${tail}`);
        });
        later(() => {
          if (!ready) fail('start', `did not answer the handshake within ${startTimeoutMs} ms`);
        }, startTimeoutMs);

        send({ handshake: { protocolVersion: PLUGIN_PROTOCOL_VERSION, pluginName: name, settingsJson } });

        const sourceSubscription = source.subscribe({
          next: (measurement) => {
            if (done) return;
            if (queue.length >= maxQueue) {
              queue.shift(); // oldest first, as in isolatePlugin: the freshest data is the most useful
              countDropped(1);
            }
            queue.push(measurement);
            schedulePump();
          },
          error: (error: unknown) => {
            if (done) return;
            stop();
            subscriber.error(error);
          },
          complete: () => {
            inputDone = true;
            schedulePump();
          },
        });

        return () => {
          sourceSubscription.unsubscribe();
          if (done) return;
          // Cut off (drain timeout, service stop): what the plugin never answered is counted.
          countDropped(queue.length + inFlightCount());
          queue.length = 0;
          stop();
        };
      });
  };
}

/** Spawns the plugin program with its three pipes; a write to a dead child's stdin is reported by 'close', not thrown. */
export function startPluginProcess(spec: ProcessPluginSpec, logger: Logger): ChildProcessWithoutNullStreams {
  const [program, ...args] = spec.command;
  const child = spawn(program as string, args, {
    cwd: spec.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1', ...spec.env },
  });
  child.stdin.on('error', (error) => logger.debug('plugin process stdin closed', { error: describeError(error) }));
  return child;
}

const STDERR_LEVELS: Readonly<Record<string, Exclude<LogLevel, 'silent'>>> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  WARN: 'warn',
  ERROR: 'error',
  CRITICAL: 'error',
};

/** Logs each stderr line of the plugin; `LEVEL:` prefixes (Python logging's default format) pick the level, else `warn`. */
export function forwardStderr(child: ChildProcessWithoutNullStreams, logger: Logger): void {
  let partial = '';
  const emit = (line: string) => {
    if (line.trim() === '') return;
    const level = STDERR_LEVELS[/^([A-Z]+):/.exec(line)?.[1] ?? ''] ?? 'warn';
    logger[level]('plugin stderr', { line });
  };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    // A runaway line is cut rather than buffered without bound.
    if (partial.length > 64 * 1024) {
      emit(partial);
      partial = '';
    }
    for (const line of lines) emit(line);
  });
  child.stderr.on('end', () => emit(partial));
}
