import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultTopology } from '../../src/cli/load-topology.js';
import { ReplayClock } from '../../src/core/replay-clock.js';
import { decodeTriggers, deadLetters, plugin, trendStore, trends, triggerSubscription } from '../../src/nodes/index.js';
import type { PreparedTopology } from '../../src/prepare-topology.js';
import { defineTopology, describeTopology } from '../../src/topology.js';
import { replayTopology } from '../../src/topologies/replay-topology.js';

const prepared = (topology: ReturnType<typeof defineTopology>): PreparedTopology => ({ ...topology, prepared: true });
const range = { from: 1000, to: 2000 };

describe('ReplayClock', () => {
  it('runs what is due up to the time it is moved to, each at its due time, and never goes back', () => {
    const clock = new ReplayClock(1000);
    const seen: string[] = [];
    clock.schedule(() => seen.push(`a@${clock.now()}`), 50);
    clock.schedule(() => seen.push(`b@${clock.now()}`), 10);
    clock.schedule(() => seen.push(`c@${clock.now()}`), 500);
    assert.equal(clock.now(), 1000);
    clock.advanceTo(1100);
    assert.deepStrictEqual(seen, ['b@1010', 'a@1050']);
    assert.equal(clock.now(), 1100);
    assert.equal(clock.nextDue(), 1500);
    clock.advanceTo(900);
    assert.equal(clock.now(), 1100, 'time never goes back');
    clock.schedule(() => seen.push(`now@${clock.now()}`));
    clock.advanceTo(1100);
    assert.deepStrictEqual(seen.at(-1), 'now@1100', 'an action due now runs at the same time');
    clock.advanceTo(1500);
    assert.deepStrictEqual(seen.at(-1), 'c@1500');
    assert.equal(clock.nextDue(), undefined);
  });
});

describe('replayTopology', () => {
  it('keeps only the plugins, merges and dedupe, fed from stored measurements and ending in collectors', async () => {
    const live = prepared(await defaultTopology({ plugins: [{ plugin: 'threshold' }, { plugin: 'threshold', name: 'strict', shadow: true }] }));
    const replay = replayTopology(live, range, () => undefined);
    assert.equal(
      describeTopology(replay),
      [
        'topology opq-triggering (replay)',
        '  [stored-measurements] decode',
        '  decode -> plugin => plugin-1',
        '  plugin-1 -> [replay-collector] shadow-log-1',
        '  decode -> plugin => plugin-0',
        '  plugin-0 => plugins',
        '  plugins -> dedupe => dedupe  (+ dedupe.rejections)',
        '  dedupe -> [replay-collector] acquisition',
      ].join('\n'),
    );
  });

  it('runs worker plugins in-process (a worker keeps wall-clock time)', async () => {
    const live = prepared(await defaultTopology({ plugins: [{ plugin: 'threshold', isolation: { mode: 'worker', maxQueue: 10 } }] }));
    const node = replayTopology(live, range, () => undefined).nodes.find((n) => n.id === 'plugin-0');
    assert.ok(node?.type === 'pipe');
    assert.deepStrictEqual((node.stages[0]!.checked as { isolation: unknown }).isolation, { mode: 'in-process', maxQueue: 10 });
  });

  it('refuses a topology that sends no requests', () => {
    const live = prepared(
      defineTopology('trends-only', ({ source, pipe, merge, sink }) => {
        const measurements = pipe('decode', source('trigger', triggerSubscription({ endpoint: 'tcp://127.0.0.1:9881' })), decodeTriggers());
        const windows = pipe('trends', measurements, trends());
        sink('trend-store', windows, trendStore());
        sink('dead-letters', merge('refused', [measurements.rejections, windows.late]), deadLetters());
      }),
    );
    assert.throws(() => replayTopology(live, range, () => undefined), /topology trends-only sends no event requests \(no acquisition-push or shadow-log sink\)/);
  });

  it('refuses plugins that read different streams', async () => {
    const base = await defaultTopology({});
    const extra = plugin({ plugin: 'print' });
    // A second plugin reading the raw frames instead of the decoded measurements.
    const nodes = [...base.nodes];
    nodes.splice(2, 0, { type: 'pipe', id: 'odd', from: 'trigger', stages: [{ spec: extra, checked: extra.component.validate(extra.options) }] });
    assert.throws(() => replayTopology({ name: 'odd', nodes, prepared: true }, range, () => undefined), /the plugins read different streams \(trigger, decode\)/);
  });
});
