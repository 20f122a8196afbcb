import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_TOPOLOGY_FILE, loadTopology } from '../../../src/cli/load-topology.js';
import { describeTopology, type Topology } from '../../../src/topology.js';

// The two files of config/ are one topology: config/topology.ts is the default, and the
// original-format config/makai.json maps onto its options.

const CONFIG = resolve(import.meta.dirname, '../../../config');

/** Each node's id, kind(s) and checked options, without the loaded plugin module. */
function shape(topology: Topology) {
  return topology.nodes.map((node) => {
    if (node.type === 'merge') return [node.id, node.from];
    if (node.type === 'pipe') return [node.id, node.stages.map((stage) => [stage.spec.kind, optionsOf(stage.checked)])];
    return [node.id, node.spec.kind, optionsOf(node.checked)];
  });
}
function optionsOf(checked: unknown): unknown {
  if (typeof checked !== 'object' || checked === null || !('loaded' in checked)) return checked;
  const { settings, isolation, name } = checked as unknown as { settings: Record<string, unknown>; isolation: unknown; name: string };
  return { isolation, name, plugin: settings['plugin'] ?? settings['path'] };
}

describe('config/', () => {
  it('config/topology.ts is the default topology, with box liveness, dead letters and the threshold plugin', async () => {
    const loaded = await loadTopology(undefined);
    assert.equal(loaded.file, undefined);
    const fromFile = await loadTopology(resolve(CONFIG, 'topology.ts'));
    assert.equal(fromFile.file, DEFAULT_TOPOLOGY_FILE);
    assert.equal(describeTopology(loaded.topology), describeTopology(fromFile.topology));
    const diagram = describeTopology(loaded.topology);
    for (const line of ['decode -> [box-liveness] box-liveness', 'decode -> plugin => plugin-0', 'refused -> [dead-letters] dead-letters', 'decode.rejections + trends.late + dedupe.rejections => refused']) {
      assert.ok(diagram.includes(line), `${line}\n${diagram}`);
    }
  });

  it('config/makai.json maps onto the same topology: same nodes, same options (its .so plugin is the built-in threshold)', async () => {
    const json = await loadTopology(resolve(CONFIG, 'makai.json'));
    const ts = await loadTopology(resolve(CONFIG, 'topology.ts'));
    assert.equal(describeTopology(json.topology), describeTopology(ts.topology));
    const [jsonShape, tsShape] = [shape(json.topology), shape(ts.topology)];
    // The only difference is how the plugin was named: the original .so path, or the built-in.
    const plugin = (s: unknown[]) => s.find((node) => (node as unknown[])[0] === 'plugin-0');
    assert.deepEqual(
      plugin(jsonShape),
      ['plugin-0', [['plugin', { isolation: { mode: 'in-process' }, name: 'libthreshold_plugin', plugin: '/usr/local/lib/opq/plugins/libthreshold_plugin.so' }]]],
    );
    assert.deepEqual(plugin(tsShape), ['plugin-0', [['plugin', { isolation: { mode: 'in-process' }, name: 'threshold', plugin: 'threshold' }]]]);
    const others = (s: unknown[]) => s.filter((node) => (node as unknown[])[0] !== 'plugin-0');
    assert.deepEqual(others(jsonShape), others(tsShape));
    assert.deepEqual(
      others(tsShape).find((node) => (node as unknown[])[0] === 'measurement-store'),
      ['measurement-store', 'measurement-store', { ttl: 86_400_000, batchSize: 1000, flush: 1000, maxQueued: 1_000_000, expirySweep: 60_000 }],
    );
  });
});
