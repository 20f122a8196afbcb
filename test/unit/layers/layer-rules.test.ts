import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';

/**
 * The layer rules of `.dependency-cruiser.cjs` (run on `src/` by `npm test`) must be able to
 * fail: each case below is a tiny source tree with one kind of violation, cruised with the real
 * rules, and must be reported under the rule that forbids it, and nothing else. A clean tree with
 * every allowed kind of import must pass, so the rules do not fire on everything either.
 */

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const config = createRequire(import.meta.url)(join(repo, '.dependency-cruiser.cjs')) as IConfiguration;

/** Source files by path (relative to the tree's root); an empty body gets `export {};`. */
type Tree = Record<string, string>;

/** Writes `tree` into a fresh folder under `root`, with the repo's node_modules linked in so packages resolve. */
async function writeTree(root: TempDir, name: string, tree: Tree): Promise<string> {
  const base = root.file(name);
  await mkdir(base, { recursive: true });
  await symlink(join(repo, 'node_modules'), join(base, 'node_modules'), 'dir');
  for (const [path, body] of Object.entries(tree)) {
    await mkdir(dirname(join(base, path)), { recursive: true });
    await writeFile(join(base, path), `${body}\nexport {};\n`);
  }
  return base;
}

/** Cruises `src` of `base` with the project's rules; returns the result and its violations as `rule: from → to` lines. */
async function check(base: string): Promise<{ result: ICruiseResult; violations: string[] }> {
  const { forbidden, options } = config;
  const output = await cruise(['src'], { ...options, ruleSet: { forbidden }, validate: true, baseDir: base, outputType: 'json' });
  const result = (typeof output.output === 'string' ? JSON.parse(output.output) : output.output) as ICruiseResult;
  // A package is named by its folder, wherever node_modules resolved to.
  const name = (path: string) => /(?:^|\/)node_modules\/([^/]+)\//.exec(path)?.[1] ?? path;
  const violations = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${name(v.to)}`);
  return { result, violations: [...new Set(violations)].sort() };
}

/** One forbidden import per case, and the exact violations it must produce. */
const cases: { title: string; tree: Tree; expected: string[] }[] = [
  {
    title: 'core importing protocol (upward)',
    tree: { 'src/core/errors.ts': "import '../protocol/codec.js';", 'src/protocol/codec.ts': '' },
    expected: ['layer-core: src/core/errors.ts → src/protocol/codec.ts'],
  },
  {
    title: 'protocol importing a store type (type-only imports count)',
    tree: { 'src/protocol/documents.ts': "import type { Store } from '../stores/store.js';\nexport type S = Store;", 'src/stores/store.ts': 'export interface Store { readonly x: number }' },
    expected: ['layer-protocol: src/protocol/documents.ts → src/stores/store.ts'],
  },
  {
    title: 'an operator importing a store',
    tree: { 'src/operators/to-trend-doc.ts': "import '../stores/sqlite-store.js';", 'src/stores/sqlite-store.ts': '' },
    expected: ['layer-operators: src/operators/to-trend-doc.ts → src/stores/sqlite-store.ts'],
  },
  {
    title: 'a store importing the simulator (the waveform-bytes case this lint was made for)',
    tree: { 'src/stores/waveform-bytes.ts': "import '../simulator/waveform.js';", 'src/simulator/waveform.ts': '' },
    expected: ['layer-stores: src/stores/waveform-bytes.ts → src/simulator/waveform.ts', 'production-not-to-simulator: src/stores/waveform-bytes.ts → src/simulator/waveform.ts'],
  },
  {
    title: 'a broker importing the simulator (a peer layer, still production code)',
    tree: { 'src/brokers/trigger-broker.ts': "import '../simulator/scenario.js';", 'src/simulator/scenario.ts': '' },
    expected: ['production-not-to-simulator: src/brokers/trigger-broker.ts → src/simulator/scenario.ts'],
  },
  {
    title: 'a plugin importing the CLI',
    tree: { 'src/plugins/plugin-loader.ts': "import '../cli/main.js';", 'src/cli/main.ts': '' },
    expected: ['layer-plugins: src/plugins/plugin-loader.ts → src/cli/main.ts'],
  },
  {
    title: 'a node (a new file in src/nodes/) importing the composition layer',
    tree: { 'src/nodes/threshold.ts': "import '../runtime.js';", 'src/runtime.ts': '' },
    expected: ['layer-nodes: src/nodes/threshold.ts → src/runtime.ts'],
  },
  {
    title: 'the runtime importing the CLI',
    tree: { 'src/runtime.ts': "import './cli/main.js';", 'src/cli/main.ts': '' },
    expected: ['layer-composition: src/runtime.ts → src/cli/main.ts'],
  },
  {
    title: 'the public entry point importing the CLI',
    tree: { 'src/index.ts': "export * from './cli/main.js';", 'src/cli/main.ts': 'export const main = 1;' },
    expected: ['layer-entry: src/index.ts → src/cli/main.ts'],
  },
  {
    title: 'a store importing a sink (edges of one rank, wrong direction)',
    tree: { 'src/stores/sqlite-store.ts': "import '../sinks/store-writer.js';", 'src/sinks/store-writer.ts': '' },
    expected: ['stores-not-to-sources-or-sinks: src/stores/sqlite-store.ts → src/sinks/store-writer.ts'],
  },
  {
    title: 'a source importing a sink',
    tree: { 'src/sources/zmq-puller.ts': "import '../sinks/zmq-pusher.js';", 'src/sinks/zmq-pusher.ts': '' },
    expected: ['sources-not-to-sinks: src/sources/zmq-puller.ts → src/sinks/zmq-pusher.ts'],
  },
  {
    title: 'zeromq outside the transport files',
    tree: { 'src/observability/health.ts': "import type { Socket } from 'zeromq';\nexport type S = Socket;" },
    expected: ['zeromq-only-in-transport-files: src/observability/health.ts → zeromq'],
  },
  {
    title: 'zeromq in a broker file that is not on the allow-list',
    tree: { 'src/brokers/box-reply.ts': "import 'zeromq';" },
    expected: ['zeromq-only-in-transport-files: src/brokers/box-reply.ts → zeromq'],
  },
  {
    title: 'better-sqlite3 outside the SQLite store',
    tree: { 'src/stores/store.ts': "import 'better-sqlite3';" },
    expected: ['better-sqlite3-only-in-sqlite-store: src/stores/store.ts → better-sqlite3'],
  },
  {
    title: 'mongodb outside the MongoDB store',
    tree: { 'src/cli/commands/events.ts': "import 'mongodb';" },
    expected: ['mongodb-only-in-mongodb-store: src/cli/commands/events.ts → mongodb'],
  },
  {
    title: 'an operator reading files and the wall clock',
    tree: { 'src/operators/trend-window.ts': "import 'node:fs';\nimport 'node:timers/promises';" },
    // Built-ins are reported by their name without `node:`.
    expected: ['operators-no-io: src/operators/trend-window.ts → fs', 'operators-no-io: src/operators/trend-window.ts → timers/promises'],
  },
  {
    title: 'src importing a test helper',
    tree: { 'src/core/logger.ts': "import '../../test/helpers/test-scheduler.js';", 'test/helpers/test-scheduler.ts': '' },
    expected: ['src-not-to-test-or-bench: src/core/logger.ts → test/helpers/test-scheduler.ts'],
  },
  {
    title: 'a cycle inside one layer',
    tree: { 'src/operators/a.ts': "import './b.js';", 'src/operators/b.ts': "import './a.js';" },
    // A cycle is reported once, at the first module of it that the cruiser meets.
    expected: ['no-circular: src/operators/a.ts → src/operators/b.ts'],
  },
  {
    title: 'an import that does not resolve',
    tree: { 'src/core/metrics.ts': "import './missing.js';" },
    expected: ['no-unresolvable: src/core/metrics.ts → ./missing.js'],
  },
  {
    title: 'a folder that is not in the layer map, and an import of it',
    tree: { 'src/widgets/gauge.ts': "import '../core/errors.js';", 'src/core/errors.ts': '', 'src/cli/main.ts': "import '../widgets/gauge.js';" },
    expected: ['layer-cli: src/cli/main.ts → src/widgets/gauge.ts', 'module-outside-layer-map: src/widgets/gauge.ts → src/core/errors.ts'],
  },
];

/** Every kind of import the layer map allows, once. */
const allowed: Tree = {
  'src/core/errors.ts': "import 'node:worker_threads';",
  'src/protocol/codec.ts': "import '../core/errors.js';",
  'src/security/zap-authenticator.ts': "import 'zeromq';\nimport '../protocol/codec.js';",
  'src/security/curve-key-pair.ts': "import 'zeromq';",
  'src/config/makai-settings.ts': "import '../security/zap-authenticator.js';",
  'src/operators/trend-window.ts': "import '../protocol/codec.js';\nimport '../config/makai-settings.js';",
  'src/plugins/plugin-loader.ts': "import 'node:fs/promises';\nimport '../operators/trend-window.js';",
  'src/stores/sqlite-store.ts': "import 'better-sqlite3';\nimport '../plugins/plugin-loader.js';",
  'src/stores/mongodb-store.ts': "import 'mongodb';",
  'src/sources/zmq-subscriber.ts': "import 'zeromq';\nimport '../stores/sqlite-store.js';",
  'src/sinks/zmq-pusher.ts': "import 'zeromq';\nimport '../sources/zmq-subscriber.js';\nimport '../stores/mongodb-store.js';",
  'src/brokers/trigger-broker.ts': "import 'zeromq';\nimport '../sinks/zmq-pusher.js';\nimport '../observability/health.js';",
  'src/observability/health.ts': "import 'node:http';",
  'src/simulator/simulated-box.ts': "import '../sinks/zmq-pusher.js';\nimport '../brokers/trigger-broker.js';",
  'src/nodes/threshold.ts': "import '../brokers/trigger-broker.js';\nimport '../plugins/plugin-loader.js';",
  'src/topology.ts': "import './nodes/threshold.js';",
  'src/registry.ts': "import './topology.js';",
  'src/topologies/opq-triggering.ts': "import '../registry.js';",
  'src/index.ts': "export * from './topologies/opq-triggering.js';",
  'src/testing/index.ts': "import '../index.js';",
  'src/cli/main.ts': "import '../index.js';\nimport '../simulator/simulated-box.js';\nimport '../testing/index.js';",
};

describe('layer rules (.dependency-cruiser.cjs)', () => {
  let root: TempDir;
  before(async () => {
    root = await createTempDir('makai-layers-');
  });
  after(async () => {
    await root.remove();
  });

  it('should pass a tree that uses every allowed kind of import', async () => {
    const { result, violations } = await check(await writeTree(root, 'allowed', allowed));
    assert.deepEqual(violations, []);
    // Proof that the imports were seen and resolved (seeing none would also give no violations).
    const written = Object.values(allowed).flatMap((body) => body.match(/'\.\.?\/[^']+'/g) ?? []).length;
    const resolved = result.modules.flatMap((m) => m.dependencies.filter((d) => d.resolved.startsWith('src/')));
    assert.equal(resolved.length, written);
  });

  cases.forEach(({ title, tree, expected }, i) => {
    it(`should refuse ${title}`, async () => {
      const { violations } = await check(await writeTree(root, `case-${i}`, tree));
      assert.deepEqual(violations, [...expected].sort());
    });
  });
});
