import { fileURLToPath } from 'node:url';
import { pluginContract } from './contract.js';
import { WASM_BUILD_DIR, WASM_EXAMPLES, wasmExampleMissing } from '../helpers/wasm-plugins.js';
import { pythonContractSubject } from './python-contract-subject.js';

// One row per kind of plugin, all held to the same cases (see contract.ts for the rule).
const fixtures = fileURLToPath(new URL('../fixtures/plugins/', import.meta.url));

pluginContract({ kind: 'TypeScript (in-process)', entry: { path: 'sag-swell.ts', name: 'sag-swell-ts' }, baseDir: fixtures, virtualTime: true });

pluginContract({
  kind: 'WebAssembly (C)',
  entry: { path: WASM_EXAMPLES.c, name: 'sag-swell-c' },
  baseDir: WASM_BUILD_DIR,
  unavailable: wasmExampleMissing('c'),
  virtualTime: true,
});

pluginContract({
  kind: 'WebAssembly (Rust)',
  entry: { path: WASM_EXAMPLES.rust, name: 'sag-swell-rust' },
  baseDir: WASM_BUILD_DIR,
  unavailable: wasmExampleMissing('rust'),
  virtualTime: true,
});

pluginContract(pythonContractSubject);
