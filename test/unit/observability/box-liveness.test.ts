import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from '../../../src/core/metrics.js';
import { BoxLiveness, compareBoxIds } from '../../../src/observability/box-liveness.js';

const T = 1_700_000_000_000;

describe('BoxLiveness', () => {
  it('keeps the last measurement (receipt and box time) and the last PONG per box', async () => {
    const metrics = new Metrics();
    const liveness = new BoxLiveness({ metrics });
    liveness.recordMeasurement('2', T - 5, T);
    liveness.recordMeasurement('10', T - 3, T + 100);
    liveness.recordMeasurement('2', T + 995, T + 1500);
    liveness.recordPong('1', T + 2000);

    assert.deepStrictEqual(liveness.snapshot(), [
      { box_id: '1', last_pong_ms: T + 2000, measurements: 0 },
      { box_id: '2', last_measurement_ms: T + 1500, last_measurement_box_time_ms: T + 995, measurements: 2 },
      { box_id: '10', last_measurement_ms: T + 100, last_measurement_box_time_ms: T - 3, measurements: 1 },
    ]);
    assert.equal(await metrics.value('makai_box_measurements_total'), 3);
    assert.equal(await metrics.value('makai_box_pongs_total'), 1);
    // Unix seconds of the later of the two, whole seconds.
    assert.equal(await metrics.value('makai_box_last_seen_seconds', { box: '2' }), Math.floor((T + 1500) / 1000));
    assert.equal(await metrics.value('makai_box_last_seen_seconds', { box: '1' }), Math.floor((T + 2000) / 1000));
  });

  it('forgets the box heard from least recently when full, with its gauge series', async () => {
    const metrics = new Metrics();
    const liveness = new BoxLiveness({ metrics, maxBoxes: 3 });
    for (const [i, box] of ['1', '2', '3'].entries()) liveness.recordMeasurement(box, T, T + i * 1000);
    liveness.recordPong('1', T + 5000); // box 1 is now the most recent; box 2 the least
    liveness.recordMeasurement('4', T, T + 6000);

    assert.equal(liveness.size, 3);
    assert.deepStrictEqual(liveness.snapshot().map((b) => b.box_id), ['1', '3', '4']);
    assert.equal(liveness.get('2'), undefined);
    assert.equal(await metrics.value('makai_box_liveness_evicted_total'), 1);
    const series = (await metrics.registry.getSingleMetric('makai_box_last_seen_seconds')!.get()).values.map((v) => v.labels['box']);
    assert.deepStrictEqual(series.sort(), ['1', '3', '4']);

    // A flood of made-up ids stays bounded.
    for (let i = 0; i < 1000; i++) liveness.recordMeasurement(`x${i}`, T, T + 7000 + i);
    assert.equal(liveness.size, 3);
    assert.equal((await metrics.registry.getSingleMetric('makai_box_last_seen_seconds')!.get()).values.length, 3);
  });

  it('hands out the status of boxes changed since the last call, once', () => {
    const liveness = new BoxLiveness();
    liveness.recordMeasurement('1', T, T + 10);
    liveness.recordPong('1', T + 20);
    liveness.recordPong('2', T + 30);
    assert.deepStrictEqual(
      liveness.takeChanges().sort((a, b) => compareBoxIds(a.box_id, b.box_id)),
      [
        { box_id: '1', last_measurement_ms: T + 10, last_pong_ms: T + 20 },
        { box_id: '2', last_pong_ms: T + 30 },
      ],
    );
    assert.deepStrictEqual(liveness.takeChanges(), []);
    liveness.recordMeasurement('2', T, T + 40);
    assert.deepStrictEqual(liveness.takeChanges(), [{ box_id: '2', last_measurement_ms: T + 40, last_pong_ms: T + 30 }]);
  });

  it('refuses a capacity below 1', () => {
    assert.throws(() => new BoxLiveness({ maxBoxes: 0 }), { name: 'ConfigError' });
  });

  it('orders numeric box ids as numbers, before other ids', () => {
    assert.deepStrictEqual(['10', 'b', '2', 'a', '1', '01'].sort(compareBoxIds), ['01', '1', '2', '10', 'a', 'b']);
  });
});
