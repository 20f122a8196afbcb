import { parentPort, workerData } from 'node:worker_threads';
import { Subject, asyncScheduler, type Subscription } from 'rxjs';
import type { LogFields, Logger, LogLevel } from '../core/logger.js';
import type { BoxDirectory, Measurement, PluginOperator } from './plugin.js';
import { loadPlugin } from './plugin-loader.js';
import { serializeError, type BoxEntry, type HostMessage, type WorkerMessage, type WorkerPluginData } from './worker-plugin.js';

/**
 * The worker side of {@link workerPlugin}: loads the plugin entry with the ordinary loader,
 * creates its operator, and then runs it on measurements posted by the host, posting back
 * requests, acknowledgements, logs, errors and completion. Not imported by anything: the host
 * starts it as a worker.
 *
 * @internal
 */

const port = parentPort;
if (!port) throw new Error('worker-plugin-entry runs only as a worker thread (started by workerPlugin)');
const data = workerData as WorkerPluginData;
const send = (message: WorkerMessage) => port.postMessage(message);

/** Log fields as plain data: an Error becomes its message, anything not cloneable its text. */
function plain(fields: LogFields | undefined): LogFields {
  if (!fields) return {};
  try {
    return JSON.parse(JSON.stringify(fields, (_key, value: unknown) => (value instanceof Error ? value.message : value))) as LogFields;
  } catch {
    return { fields: String(fields) };
  }
}

function workerLogger(bindings: LogFields): Logger {
  const emit = (level: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: LogFields) =>
    send({ type: 'log', level, msg, fields: plain({ ...bindings, ...fields }) });
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), child: (more) => workerLogger({ ...bindings, ...more }) };
}

let registry = new Map<string, unknown>(data.boxes);
const boxes: BoxDirectory = {
  has: (boxId) => registry.has(boxId),
  location: (boxId) => registry.get(boxId),
};

async function main(): Promise<void> {
  let operator: PluginOperator;
  try {
    const loaded = await loadPlugin(data.entry, {
      baseDir: data.baseDir,
      field: data.field,
      ...(data.file === undefined ? {} : { file: data.file }),
      logger: workerLogger({}),
    });
    // The host's logger already carries the plugin binding.
    operator = loaded.create({ logger: workerLogger({}), scheduler: asyncScheduler, boxes });
  } catch (error) {
    send({ type: 'failed', error: serializeError(error) });
    return;
  }

  const input = new Subject<Measurement>();
  let subscription: Subscription | undefined;
  port!.on('message', (message: HostMessage) => {
    switch (message.type) {
      case 'start':
        subscription ??= operator(input.asObservable()).subscribe({
          next: (request) => send({ type: 'request', request }),
          error: (error: unknown) => send({ type: 'error', error: serializeError(error) }),
          complete: () => send({ type: 'complete' }),
        });
        break;
      case 'measurements':
        // Synchronous plugins have done their work when next() returns; the ack frees room on the host.
        for (const measurement of message.items) input.next(measurement);
        send({ type: 'ack', count: message.items.length });
        break;
      case 'complete':
        input.complete();
        break;
      case 'boxes':
        registry = new Map<string, unknown>(message.boxes as readonly BoxEntry[]);
        break;
    }
  });
  send({ type: 'ready' });
}

void main();
