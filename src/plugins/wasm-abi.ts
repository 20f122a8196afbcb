import { ConfigError } from '../core/errors.js';
import { TRIGGER_TYPE, type TriggerType } from '../protocol/messages.js';
import { PLUGIN_ENTRY_KEYS, type PluginSettings } from './plugin.js';

/**
 * The WebAssembly plugin ABI, version 1 (`docs/wasm-plugins.md` is its reference): the layout
 * of the records the host and a module exchange through the module's own linear memory, and
 * the exports a module must have. Everything is plain numbers, little-endian f64, so a plugin
 * needs no allocator, no strings library and no imports.
 */
export const WASM_PLUGIN_ABI_VERSION = 1;

/** The functions every module exports (besides its `memory`), with their wasm signatures. */
export const WASM_PLUGIN_FUNCTIONS = [
  'makai_abi_version', // () -> i32: WASM_PLUGIN_ABI_VERSION
  'makai_input', // () -> i32: byte offset of the input buffer, 8-aligned
  'makai_input_capacity', // () -> i32: records of 40 bytes the input buffer holds (>= 1)
  'makai_output', // () -> i32: byte offset of the output buffer, 8-aligned
  'makai_output_capacity', // () -> i32: f64 the output buffer holds (>= REQUEST_HEADER_F64 + 1)
  'makai_init', // (settings: i32) -> i32: 0, or the byte length of a UTF-8 error at the output
  'makai_push', // (measurements: i32) -> i32: request records written at the output
  'makai_finish', // () -> i32: request records written at the output (the input completed)
] as const;

/** f64 per measurement record: box id, box time ms, frequency Hz, rms V, thd ratio (NaN when unset). */
export const MEASUREMENT_RECORD_F64 = 5;

/** Bytes per setting record: a NUL-padded UTF-8 name, then the value as an f64. Same size as a measurement. */
export const SETTING_RECORD_BYTES = MEASUREMENT_RECORD_F64 * 8;
/** Longest setting name in UTF-8 bytes: the name field is 32 bytes and always ends in a NUL. */
export const SETTING_NAME_MAX_BYTES = 31;

/**
 * f64 in a request record before its box ids: start ms, end ms, trigger type code
 * ({@link TRIGGER_TYPE}), percent magnitude, requestData (0 or 1), box count.
 */
export const REQUEST_HEADER_F64 = 6;

/** One setting as the module receives it. */
export interface WasmSetting {
  readonly name: string;
  /** The UTF-8 bytes of `name`. */
  readonly bytes: Uint8Array;
  readonly value: number;
}

/** A request record as the module wrote it, before the host adds the strings. */
export interface WasmRequestRecord {
  readonly startMs: number;
  readonly endMs: number;
  readonly triggerCode: number;
  readonly percentMagnitude: number;
  readonly requestData: boolean;
  readonly boxIds: readonly number[];
}

/** Trigger type names by wire code. */
const TRIGGER_TYPE_BY_CODE: ReadonlyMap<number, TriggerType> = new Map(
  Object.entries(TRIGGER_TYPE).map(([name, code]) => [code, name as TriggerType]),
);

/** The trigger type of a code, or undefined for a code the protocol does not have. */
export function triggerTypeOfCode(code: number): TriggerType | undefined {
  return TRIGGER_TYPE_BY_CODE.get(code);
}

/**
 * The plugin's own settings (the entry without `path`, `name`, `plugin`, `isolation`) as the
 * numbers the ABI passes: a number as itself, a boolean as 1 or 0.
 *
 * @throws ConfigError at the setting for any other value or a name too long for the record.
 */
export function wasmSettings(settings: PluginSettings): WasmSetting[] {
  const skip = new Set<string>([...PLUGIN_ENTRY_KEYS, 'isolation']);
  const out: WasmSetting[] = [];
  for (const [name, raw] of Object.entries(settings)) {
    if (skip.has(name)) continue;
    const bytes = new TextEncoder().encode(name);
    if (bytes.length > SETTING_NAME_MAX_BYTES || bytes.includes(0)) {
      throw new ConfigError(`a WebAssembly plugin's setting names are at most ${SETTING_NAME_MAX_BYTES} UTF-8 bytes without NUL`, { path: name });
    }
    let value: number;
    if (typeof raw === 'number' && Number.isFinite(raw)) value = raw;
    else if (typeof raw === 'boolean') value = raw ? 1 : 0;
    else {
      const got = raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw;
      throw new ConfigError(`a WebAssembly plugin takes numbers and booleans only (the ABI passes an f64), got ${got}`, { path: name });
    }
    out.push({ name, bytes, value });
  }
  return out;
}

/**
 * Reads `count` request records from `output` (the module's output buffer).
 *
 * @throws Error when the records do not fit the buffer or a box count or box id is not an
 *   integer: the module's output is broken, which the host treats as a failure of the plugin.
 */
export function readRequestRecords(output: Float64Array, count: number): WasmRequestRecord[] {
  const records: WasmRequestRecord[] = [];
  let at = 0;
  for (let r = 0; r < count; r++) {
    if (at + REQUEST_HEADER_F64 > output.length) throw new Error(`request record ${r} of ${count} starts beyond the output buffer (${output.length} f64)`);
    const boxes = output[at + 5]!;
    if (!Number.isInteger(boxes) || boxes < 0 || at + REQUEST_HEADER_F64 + boxes > output.length) {
      throw new Error(`request record ${r} has a box count of ${boxes}, which does not fit the output buffer`);
    }
    const boxIds = Array.from(output.subarray(at + REQUEST_HEADER_F64, at + REQUEST_HEADER_F64 + boxes));
    records.push({
      startMs: output[at]!,
      endMs: output[at + 1]!,
      triggerCode: output[at + 2]!,
      percentMagnitude: output[at + 3]!,
      requestData: output[at + 4]! !== 0,
      boxIds,
    });
    at += REQUEST_HEADER_F64 + boxes;
  }
  return records;
}
