import { Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { ConfigError } from '../core/errors.js';
import type { TriggerType } from '../protocol/messages.js';
import { definePlugin, type EventRequest, type Measurement, type PluginFactory, type PluginOperator } from './plugin.js';
import { triggerTypeOfCode, wasmSettings, type WasmRequestRecord, type WasmSetting } from './wasm-abi.js';
import { compileWasmPlugin, WasmPluginInstance, type WasmModule } from './wasm-instance.js';

/**
 * Compiles a `.wasm` plugin and checks it against the ABI (`docs/wasm-plugins.md`). The loader
 * reads the file (files are its business, not this layer's).
 *
 * @param bytes The module file's contents.
 * @returns Its factory: an ordinary {@link PluginFactory}, isolated by `isolatePlugin` like a
 *   TypeScript plugin (a trap is a failure: counted, and the plugin restarted with back-off).
 * @throws Error saying what is wrong with the module, for the loader to anchor at the entry's `path`.
 */
export function loadWasmPlugin(bytes: Uint8Array): PluginFactory {
  return wasmPluginFactory(compileWasmPlugin(bytes));
}

/**
 * The plugin factory of a compiled WebAssembly plugin. The factory passes the entry's own
 * settings (numbers and booleans) to a first instance's `makai_init`, so `makai validate`
 * refuses what the module refuses, at the field it names (`thresholdPercent: …`).
 *
 * @param module A module {@link compileWasmPlugin} accepted.
 */
export function wasmPluginFactory(module: WasmModule): PluginFactory {
  return definePlugin((settings, context) => {
    const records = wasmSettings(settings);
    const problem = new WasmPluginInstance(module).init(records);
    if (problem !== undefined) throw settingsError(problem, records);
    return wasmOperator(module, records, context.name, context.scheduler);
  });
}

/**
 * The operator of a WebAssembly plugin. Each subscription gets a fresh instance (so a restart
 * after a trap starts from a clean memory), initialised with `settings`.
 *
 * Measurements are written into the module's input buffer as they come and handed to
 * `makai_push` when the buffer is full or, at the latest, in the scheduler turn after the first
 * of them arrived (a 0 ms action: no clock is read, and in a marble test it is the same frame).
 * The requests come out in the order the module wrote them, after every measurement before
 * them; on completion the rest is pushed and `makai_finish` reports what is still open. A trap,
 * or output that breaks the ABI, errors the output (for `isolatePlugin` to count and restart).
 *
 * @param module The compiled plugin.
 * @param settings Its settings as the ABI passes them.
 * @param name The instance name: `requestee` of every request and the start of its `description`.
 * @param scheduler Where the end-of-turn hand-over is scheduled.
 */
export function wasmOperator(module: WasmModule, settings: readonly WasmSetting[], name: string, scheduler: SchedulerLike): PluginOperator {
  return (source: Observable<Measurement>) =>
    new Observable<EventRequest>((subscriber) => {
      const instance = new WasmPluginInstance(module);
      const problem = instance.init(settings);
      if (problem !== undefined) throw new Error(`makai_init refused the settings it accepted before: ${problem}`);
      const capacity = instance.inputCapacity;
      let pending = 0;
      let handOver: Subscription | undefined;

      const emit = (records: readonly WasmRequestRecord[]) => {
        for (const record of records) subscriber.next(toEventRequest(record, name));
      };
      const pushPending = () => {
        handOver?.unsubscribe();
        handOver = undefined;
        if (pending === 0) return;
        const count = pending;
        pending = 0;
        emit(instance.push(count));
      };
      // A trap (or broken output) becomes an error notification, never an exception thrown
      // into the source or the scheduler.
      const fail = (error: unknown) => {
        subscriber.error(new Error(`WebAssembly plugin ${name} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
      };
      const pushLater = () => {
        if (subscriber.closed) return;
        try {
          pushPending();
        } catch (error) {
          fail(error);
        }
      };

      const subscription = source.subscribe({
        // The hot path: no closure per measurement.
        next: (measurement) => {
          if (subscriber.closed) return;
          try {
            instance.write(pending, measurement);
            pending += 1;
            if (pending === capacity) pushPending();
            else handOver ??= scheduler.schedule(pushLater);
          } catch (error) {
            fail(error);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          if (subscriber.closed) return;
          try {
            pushPending();
            emit(instance.finish());
            subscriber.complete();
          } catch (error) {
            fail(error);
          }
        },
      });
      return () => {
        subscription.unsubscribe();
        handOver?.unsubscribe();
      };
    });
}

const TRIGGER_WORDS: Readonly<Record<TriggerType, string>> = {
  FREQUENCY_SAG: 'frequency sag',
  FREQUENCY_SWELL: 'frequency swell',
  VOLTAGE_SAG: 'voltage sag',
  VOLTAGE_SWELL: 'voltage swell',
  OTHER: 'anomaly',
};

/**
 * A request record with the strings the host adds: `requestee` is the plugin's instance name,
 * `description` says what and where (`sag-swell: voltage sag of 20.8 % on boxes 1, 2`). An
 * unknown trigger code is passed through as its number, so `checkEventRequest` refuses the
 * request and counts it as `invalid-request` (a bad value, not a broken module).
 */
export function toEventRequest(record: WasmRequestRecord, name: string): EventRequest {
  const triggerType = triggerTypeOfCode(record.triggerCode);
  const what = triggerType === undefined ? `trigger type ${record.triggerCode}` : TRIGGER_WORDS[triggerType];
  const boxes = `${record.boxIds.length === 1 ? 'box' : 'boxes'} ${record.boxIds.join(', ')}`;
  return {
    startTimestampMsUtc: record.startMs,
    endTimestampMsUtc: record.endMs,
    triggerType: triggerType ?? (String(record.triggerCode) as TriggerType),
    percentMagnitude: record.percentMagnitude,
    boxIds: record.boxIds,
    requestee: name,
    description: `${name}: ${what} of ${record.percentMagnitude.toFixed(1)} % on ${boxes}`,
    requestData: record.requestData,
  };
}

/** The module's `field: reason` message as a ConfigError at that field (when it is one of the settings). */
function settingsError(message: string, settings: readonly WasmSetting[]): ConfigError {
  const colon = message.indexOf(': ');
  const field = colon > 0 ? message.slice(0, colon) : '';
  return settings.some((s) => s.name === field) ? new ConfigError(message.slice(colon + 2), { path: field }) : new ConfigError(message);
}
