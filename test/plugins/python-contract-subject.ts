import { join } from 'node:path';
import { REFERENCE_PYTHON_PLUGIN, testPython } from '../helpers/python.js';

/**
 * The Python row of the plugin contract suite (`test/plugins/contract.ts`, `pluginContract`):
 * the SDK's reference plugin (`sdk/python/examples/sag_swell.py`) run out of process through
 * the loader, as `makai run` runs it. Register it with `pluginContract(pythonContractSubject)`
 * in `contract.test.ts`.
 *
 * Not in virtual time (a separate process answers when it answers), so the marble case is not
 * run; every other case is, including the refused settings (the loader's handshake probe turns
 * the plugin's SettingsError into a ConfigError at the setting) and the restart (each
 * subscription is a new process).
 */
export const pythonContractSubject = {
  kind: 'Python (out-of-process)',
  entry: { command: [testPython() ?? 'python3', REFERENCE_PYTHON_PLUGIN], name: 'sag-swell-python' },
  baseDir: join(import.meta.dirname, '..', '..'),
  unavailable:
    testPython() === undefined ? 'no .venv/bin/python and no MAKAI_PYTHON: python3 -m venv .venv && .venv/bin/pip install -e "sdk/python[test]"' : undefined,
} as const;
