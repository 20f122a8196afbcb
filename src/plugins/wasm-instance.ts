import type { Measurement } from './plugin.js';
import {
  MEASUREMENT_RECORD_F64,
  REQUEST_HEADER_F64,
  SETTING_RECORD_BYTES,
  WASM_PLUGIN_ABI_VERSION,
  WASM_PLUGIN_FUNCTIONS,
  readRequestRecords,
  type WasmRequestRecord,
  type WasmSetting,
} from './wasm-abi.js';

/** A compiled WebAssembly module (`WebAssembly.Module`). */
export interface WasmModule {
  readonly [moduleBrand]: true;
}
declare const moduleBrand: unique symbol;

/**
 * The part of the WebAssembly JavaScript API used here. Node has had it forever, but
 * `@types/node` 20 does not declare it (nor does lib ES2023), so it is typed here rather than
 * with a global declaration that a newer `@types/node` would clash with.
 */
interface WebAssemblyApi {
  readonly Module: {
    new (bytes: Uint8Array): WasmModule;
    imports(module: WasmModule): { readonly module: string; readonly name: string; readonly kind: string }[];
    exports(module: WasmModule): { readonly name: string; readonly kind: string }[];
  };
  readonly Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

type Exports = { readonly memory: { readonly buffer: ArrayBuffer } } & { readonly [F in (typeof WASM_PLUGIN_FUNCTIONS)[number]]: (...args: number[]) => number };

/**
 * Compiles a WebAssembly plugin and checks it against the ABI (`docs/wasm-plugins.md`): no
 * imports at all (so it can reach nothing but its own memory: no WASI, no clock, no files),
 * a `memory` and every function of {@link WASM_PLUGIN_FUNCTIONS}, the ABI version, and
 * buffers that are aligned, big enough and inside the memory.
 *
 * @param bytes The `.wasm` file.
 * @returns The compiled module; instantiate it with {@link WasmPluginInstance}.
 * @throws Error saying what is wrong, for the loader to turn into a ConfigError at `path`.
 */
export function compileWasmPlugin(bytes: Uint8Array): WasmModule {
  let module: WasmModule;
  try {
    module = new WebAssembly.Module(bytes);
  } catch (error) {
    throw new Error(`is not a valid WebAssembly module (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  const imports = WebAssembly.Module.imports(module);
  if (imports.length > 0) {
    const names = imports.slice(0, 5).map((i) => `${i.module}.${i.name}`).join(', ');
    throw new Error(`imports ${names}${imports.length > 5 ? ', …' : ''}; a Makai WebAssembly plugin may import nothing (no WASI, no host functions: build with -nostdlib, or Rust's wasm32-unknown-unknown)`);
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  const missing = [
    ...(exports.get('memory') === 'memory' ? [] : ['memory']),
    ...WASM_PLUGIN_FUNCTIONS.filter((name) => exports.get(name) !== 'function'),
  ];
  if (missing.length > 0) throw new Error(`does not export ${missing.join(', ')} of the Makai WebAssembly plugin ABI version ${WASM_PLUGIN_ABI_VERSION} (docs/wasm-plugins.md)`);
  new WasmPluginInstance(module);
  return module;
}

/**
 * One instance of a WebAssembly plugin: its memory, its buffers and its calls, with the
 * measurements and settings written and the requests read in the ABI's layout. A trap in the
 * module surfaces as the `WebAssembly.RuntimeError` its call throws; an instance that trapped
 * is not used again (its state may be half-updated), a new one is made from the module.
 */
export class WasmPluginInstance {
  /** Measurement records the input buffer holds: the most one `push` takes. */
  readonly inputCapacity: number;
  private readonly exports: Exports;
  private readonly inputOffset: number;
  private readonly outputOffset: number;
  private readonly outputCapacity: number;
  private buffer: ArrayBuffer;
  private input: Float64Array;
  private output: Float64Array;

  /** @throws Error when the ABI version or the buffers are not what the ABI requires. */
  constructor(module: WasmModule) {
    this.exports = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
    const version = this.exports.makai_abi_version();
    if (version !== WASM_PLUGIN_ABI_VERSION) throw new Error(`speaks ABI version ${version}; this Makai speaks version ${WASM_PLUGIN_ABI_VERSION} (docs/wasm-plugins.md)`);
    this.inputOffset = this.exports.makai_input() >>> 0;
    this.inputCapacity = this.exports.makai_input_capacity();
    this.outputOffset = this.exports.makai_output() >>> 0;
    this.outputCapacity = this.exports.makai_output_capacity();
    const size = this.exports.memory.buffer.byteLength;
    const check = (what: string, offset: number, capacity: number, unit: number, least: number) => {
      if (offset % 8 !== 0) throw new Error(`its ${what} buffer is at byte ${offset}, not 8-aligned`);
      if (!Number.isInteger(capacity) || capacity < least) throw new Error(`makai_${what}_capacity is ${capacity}; it must be at least ${least}`);
      if (offset + capacity * unit > size) throw new Error(`its ${what} buffer (byte ${offset}, ${capacity * unit} bytes) ends beyond its memory (${size} bytes)`);
    };
    check('input', this.inputOffset, this.inputCapacity, SETTING_RECORD_BYTES, 1);
    check('output', this.outputOffset, this.outputCapacity, 8, REQUEST_HEADER_F64 + 1);
    this.buffer = this.exports.memory.buffer;
    this.input = new Float64Array(this.buffer, this.inputOffset, this.inputCapacity * MEASUREMENT_RECORD_F64);
    this.output = new Float64Array(this.buffer, this.outputOffset, this.outputCapacity);
  }

  /**
   * Passes the settings (at most `inputCapacity` of them) to `makai_init`.
   *
   * @returns undefined when the module accepts them, else its message (`field: reason`).
   */
  init(settings: readonly WasmSetting[]): string | undefined {
    if (settings.length > this.inputCapacity) return `takes at most ${this.inputCapacity} settings, got ${settings.length}`;
    const bytes = new Uint8Array(this.buffer, this.inputOffset, settings.length * SETTING_RECORD_BYTES);
    bytes.fill(0);
    settings.forEach((setting, i) => {
      bytes.set(setting.bytes, i * SETTING_RECORD_BYTES);
      this.input[i * MEASUREMENT_RECORD_F64 + 4] = setting.value;
    });
    const length = this.exports.makai_init(settings.length);
    this.refresh();
    if (length === 0) return undefined;
    const bounded = Math.max(0, Math.min(length, this.outputCapacity * 8));
    return new TextDecoder().decode(new Uint8Array(this.buffer, this.outputOffset, bounded)) || `makai_init refused the settings (returned ${length})`;
  }

  /** Writes measurement `m` as input record `index` (< `inputCapacity`). */
  write(index: number, m: Measurement): void {
    const at = index * MEASUREMENT_RECORD_F64;
    const input = this.input;
    input[at] = m.id;
    input[at + 1] = m.time;
    input[at + 2] = m.frequency;
    input[at + 3] = m.rms;
    input[at + 4] = m.thd ?? Number.NaN;
  }

  /** Runs `makai_push` over the first `count` input records and reads the requests it wrote. */
  push(count: number): readonly WasmRequestRecord[] {
    return this.requests(this.exports.makai_push(count));
  }

  /** Runs `makai_finish` and reads the requests it wrote. */
  finish(): readonly WasmRequestRecord[] {
    return this.requests(this.exports.makai_finish());
  }

  private requests(count: number): readonly WasmRequestRecord[] {
    this.refresh();
    if (count === 0) return [];
    if (!Number.isInteger(count) || count < 0) throw new Error(`returned ${count} request records`);
    return readRequestRecords(this.output, count);
  }

  /** A module that grew its memory has a new buffer: the views must follow it. */
  private refresh(): void {
    const buffer = this.exports.memory.buffer;
    if (buffer === this.buffer) return;
    this.buffer = buffer;
    this.input = new Float64Array(buffer, this.inputOffset, this.inputCapacity * MEASUREMENT_RECORD_F64);
    this.output = new Float64Array(buffer, this.outputOffset, this.outputCapacity);
  }
}
