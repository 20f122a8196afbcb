import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root (the tests run from it, but say so explicitly). */
const ROOT = join(import.meta.dirname, '..', '..');

/**
 * The Python interpreter the tests run plugins with: `MAKAI_PYTHON` when set, else the
 * repository's `.venv/bin/python` (made by `.ci/run`: `python3 -m venv .venv && .venv/bin/pip
 * install -e sdk/python[test]`), which has the SDK installed. Undefined when there is neither.
 */
export function testPython(): string | undefined {
  const fromEnv = process.env['MAKAI_PYTHON'];
  if (fromEnv) return fromEnv;
  const venv = join(ROOT, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : undefined;
}

/**
 * `{ skip }` for `describe`/`it` when there is no Python with the SDK: skipped on a developer's
 * machine without the venv, never under CI (there the missing venv is a failure of `.ci/run`).
 */
export function skipWithoutPython(): { skip?: string } {
  if (testPython() !== undefined) return {};
  if (process.env['CI']) throw new Error('CI=true but no Python for the plugin tests: .ci/run must create .venv (see README)');
  return { skip: 'no .venv/bin/python and no MAKAI_PYTHON: run `python3 -m venv .venv && .venv/bin/pip install -e "sdk/python[test]"`' };
}

/** The Python SDK's reference plugin: the sag-swell rule of the contract suite (test/plugins/contract.ts). */
export const REFERENCE_PYTHON_PLUGIN = join(ROOT, 'sdk', 'python', 'examples', 'sag_swell.py');
