import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lastValueFrom, of } from 'rxjs';
import { defaultTopology } from '../../src/cli/load-topology.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { plugin } from '../../src/nodes/plugin.js';
import { shadowLog } from '../../src/nodes/shadow-log.js';
import type { RequestEventMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { describeTopology } from '../../src/topology.js';
import { createTestScheduler } from '../helpers/test-scheduler.js';

const request = (boxIds: number[], start: number): RequestEventMessage => ({
  startTimestampMsUtc: start,
  endTimestampMsUtc: start + 2000,
  triggerType: 'VOLTAGE_SAG',
  percentMagnitude: 12.5,
  boxIds,
  requestee: 'Makai: threshold plugin',
  description: 'sag',
  requestData: true,
});

describe('shadow plugins', () => {
  it('the default topology routes a shadow plugin to a shadow log of its own, not to dedupe and the broker', async () => {
    const topology = await defaultTopology({
      plugins: [{ plugin: 'threshold' }, { plugin: 'threshold', name: 'strict', shadow: true, voltagePercent: 2 }, { plugin: 'print' }],
    });
    const diagram = describeTopology(topology);
    assert.match(diagram, /\n {2}plugin-1 -> \[shadow-log\] shadow-log-1\n/);
    assert.match(diagram, /\n {2}plugin-0 \+ plugin-2 => plugins\n/, 'only the live plugins feed dedupe');
    assert.match(diagram, /\n {2}dedupe -> \[acquisition-push\] acquisition\n/);
    const sink = topology.nodes.find((node) => node.id === 'shadow-log-1');
    assert.deepStrictEqual(sink?.type === 'sink' ? sink.checked : undefined, { plugin: 'strict' });
  });

  it('with only shadow plugins, nothing goes to the broker', async () => {
    const topology = await defaultTopology({ plugins: [{ plugin: 'threshold', shadow: true }] });
    assert.ok(!topology.nodes.some((node) => node.id === 'acquisition' || node.id === 'dedupe'));
    assert.ok(topology.nodes.some((node) => node.id === 'shadow-log-0'));
  });

  it('the plugin never sees "shadow" among its settings (threshold refuses unknown fields)', () => {
    const checked = plugin.component.validate({ plugin: 'threshold', shadow: true, voltagePercent: 2 }) as { settings: object; shadow: boolean };
    assert.equal(checked.shadow, true);
    assert.deepStrictEqual(checked.settings, { plugin: 'threshold', voltagePercent: 2 });
    assert.throws(() => plugin.component.validate({ plugin: 'threshold', shadow: 'yes' }), /shadow/);
  });

  it('the shadow log counts, stores and never forwards the requests', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    try {
      const metrics = new Metrics();
      const scheduler = createTestScheduler();
      const component = shadowLog.component;
      if (component.role !== 'sink') throw new Error('shadow-log is a sink');
      const checked = component.validate({ plugin: 'strict' });
      const written = component.create(checked, { id: 'shadow-log-1', logger: silentLogger, scheduler, metrics, store } as never)(of(request([1, 2], 1000), request([3], 5000)));
      await lastValueFrom(written, { defaultValue: undefined });
      assert.equal(await metrics.value('makai_shadow_requests_total', { plugin: 'strict' }), 2);
      const logged = await store.listShadowRequests();
      assert.deepStrictEqual(
        logged.map((doc) => [doc.plugin, doc.boxes, doc.start_ms, doc.end_ms, doc.type, doc.percent_magnitude, doc.request_data]),
        [
          ['strict', ['3'], 5000, 7000, 'VOLTAGE_SAG', 12.5, true],
          ['strict', ['1', '2'], 1000, 3000, 'VOLTAGE_SAG', 12.5, true],
        ],
      );
    } finally {
      await store.close();
    }
  });

  it('refuses a shadow log without a plugin name', () => {
    assert.throws(() => shadowLog.component.validate({ plugin: ' ' }), /plugin: must be a non-empty string/);
  });
});
