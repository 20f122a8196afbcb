import { asyncScheduler } from 'rxjs';
import { silentLogger } from '../../src/core/logger.js';
import type { Metrics } from '../../src/core/metrics.js';
import { isolatePlugin } from '../../src/plugins/isolate-plugin.js';
import { loadPlugin } from '../../src/plugins/plugin-loader.js';
import { emptyBoxDirectory, type PluginOperator } from '../../src/plugins/plugin.js';
import { REFERENCE_PYTHON_PLUGIN, testPython } from '../../test/helpers/python.js';

/**
 * The Python row of `npm run bench -- plugins` (`bench/scenarios/plugins.ts`, one more entry in
 * its kinds list): the SDK's reference plugin (`sdk/python/examples/sag_swell.py`, the same
 * sag-swell rule as the other kinds) run out of process as `makai run` runs it: loader,
 * `processPlugin` (batches of 256, 4 in flight), `isolatePlugin`. The figure includes the
 * protobuf encoding on the host, the pipe, the SDK's decoding into Python objects and the
 * plugin's own Python loop.
 *
 * @param metrics Where the isolation counts (the scenario fails on any drop).
 */
export function pythonPluginKind(metrics: Metrics) {
  return {
    kind: 'python',
    note: 'Python (makai_plugin SDK), out of process over stdin/stdout',
    unavailable: () => (testPython() === undefined ? 'no .venv/bin/python and no MAKAI_PYTHON (see README: the Python SDK)' : undefined),
    async operator(count: number): Promise<PluginOperator> {
      // The whole stream is queued at once: the process's own queue must hold it too.
      const entry = { command: [testPython() ?? 'python3', REFERENCE_PYTHON_PLUGIN], name: 'sag-swell-python', process: { maxQueue: Math.min(count, 1_000_000) } };
      const loaded = await loadPlugin(entry, { baseDir: process.cwd() });
      const operator = loaded.create({ logger: silentLogger, scheduler: asyncScheduler, boxes: emptyBoxDirectory, metrics });
      return isolatePlugin(operator, { name: loaded.name, logger: silentLogger, metrics, scheduler: asyncScheduler, maxQueue: count, drainTimeoutMs: 600_000 });
    },
  };
}
