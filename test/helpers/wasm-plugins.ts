import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The example WebAssembly plugins, built by `.ci/build-wasm-plugins.sh` (outputs, not in git). */
export const WASM_BUILD_DIR = fileURLToPath(new URL('../../plugins/wasm/build/', import.meta.url));

/** The examples by source language: the file's path relative to {@link WASM_BUILD_DIR}. */
export const WASM_EXAMPLES = { c: 'sag-swell-c.wasm', rust: 'sag-swell-rust.wasm' } as const;

/**
 * Why the example in `lang` cannot be used here (not built), or undefined. Tests that need it
 * skip with this message locally and fail with it under `CI=true` (CI builds them first).
 */
export function wasmExampleMissing(lang: keyof typeof WASM_EXAMPLES): string | undefined {
  const file = `${WASM_BUILD_DIR}${WASM_EXAMPLES[lang]}`;
  return existsSync(file) ? undefined : `${file} is not built; run .ci/build-wasm-plugins.sh (needs Debian clang, lld, rustc, libstd-rust-dev-wasm32)`;
}

/** `{ skip }` for a test that needs the example: a reason locally, never under `CI=true`. */
export function skipUnlessBuilt(lang: keyof typeof WASM_EXAMPLES): { skip: string | false } {
  const missing = wasmExampleMissing(lang);
  return { skip: missing !== undefined && process.env['CI'] !== 'true' ? missing : false };
}

/** The test fixtures in C (`test/fixtures/plugins/wasm/*.c`), built by the same script. */
export const WASM_FIXTURES_DIR = `${WASM_BUILD_DIR}fixtures/`;

/** `{ skip }` for a test that needs the fixture `name` (e.g. `traps.wasm`), as {@link skipUnlessBuilt}. */
export function skipUnlessFixtureBuilt(name: string): { skip: string | false } {
  const file = `${WASM_FIXTURES_DIR}${name}`;
  const missing = existsSync(file) ? undefined : `${file} is not built; run .ci/build-wasm-plugins.sh`;
  return { skip: missing !== undefined && process.env['CI'] !== 'true' ? missing : false };
}
