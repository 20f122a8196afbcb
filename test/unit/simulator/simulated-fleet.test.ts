import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map, take } from 'rxjs';
import { ConfigError } from '../../../src/core/errors.js';
import type { TriggerMessage } from '../../../src/protocol/messages.js';
import { defaultScenario, type Scenario } from '../../../src/simulator/scenario.js';
import { SimulatedFleet, simulateFleet, type SimulatedFleetOptions } from '../../../src/simulator/simulated-fleet.js';
import { DEFAULT_CALIBRATION } from '../../../src/protocol/box-adc.js';
import { cycleRms } from '../../../src/protocol/cycle-rms.js';
import { createTestScheduler } from '../../helpers/test-scheduler.js';

/** Window w's first-cycle time at 6 Hz from 0. */
const windowTime = (w: number) => Math.floor((w * 1000) / 6);

/** Runs a fleet for `untilMs` of virtual time; returns what it emitted, each with its emission time. */
function runFor(untilMs: number, options: Omit<SimulatedFleetOptions, 'scheduler'>): { at: number; message: TriggerMessage }[] {
  const ts = createTestScheduler();
  const seen: { at: number; message: TriggerMessage }[] = [];
  ts.run(() => {
    const subscription = simulateFleet({ ...options, scheduler: ts }).subscribe((message) => seen.push({ at: ts.now(), message }));
    // At the same frame this would run before the fleet's tick (it was scheduled first): stop 1 ms later.
    ts.schedule(() => subscription.unsubscribe(), untilMs + 1);
  });
  return seen;
}

describe('simulateFleet', () => {
  it('should emit every box’s window at each window boundary, in box order', () => {
    const ts = createTestScheduler();
    ts.run(({ expectObservable }) => {
      const source = simulateFleet({ boxes: [1, 2], seed: 1, scheduler: ts }).pipe(
        map((m) => `${m.id}@${m.time}`),
        take(6),
      );
      const expected = '166ms (ab) 163ms (cd) 163ms (ef|)';
      expectObservable(source).toBe(expected, { a: '1@0', b: '2@0', c: '1@166', d: '2@166', e: '1@333', f: '2@333' });
    });
  });

  it('should send 6 messages per box per second over a virtual minute, each when its window completes', () => {
    const seen = runFor(60_000, { boxes: 3, seed: 1 });
    assert.equal(seen.length, 3 * 360);
    seen.forEach(({ at, message }, i) => {
      const w = Math.floor(i / 3);
      assert.equal(message.id, (i % 3) + 1);
      assert.equal(message.time, windowTime(w));
      assert.equal(at, windowTime(w + 1), `message ${i} emitted when its window completed`);
    });
  });

  it('should show the scenario sag in the rms of the sagged boxes at the right times only', () => {
    const seen = runFor(30_000, { boxes: [1, 2, 3], seed: 5, scenario: defaultScenario([1, 2, 3]) });
    const rms = (id: number, from: number, to: number) => seen.filter(({ message: m }) => m.id === id && m.time >= from && m.time < to).map(({ message: m }) => m.rms);
    for (const id of [1, 2]) {
      const during = rms(id, 5_000, 6_000);
      assert.equal(during.length, 6);
      assert.ok(during.every((v) => Math.abs(v - 96) < 1.2), `box ${id} during the sag: ${during.join(', ')}`);
      assert.ok(rms(id, 0, 5_000).every((v) => Math.abs(v - 120) < 1.2), `box ${id} before the sag`);
      assert.ok(rms(id, 6_000, 12_000).every((v) => Math.abs(v - 120) < 1.2), `box ${id} after the sag`);
    }
    assert.ok(rms(3, 5_000, 6_000).every((v) => Math.abs(v - 120) < 1.2), 'box 3 sees no sag');
    assert.ok(rms(3, 12_000, 12_500).every((v) => Math.abs(v - 134.4) < 1.5), 'box 3 sees the swell');
    const hz = seen.filter(({ message: m }) => m.time >= 18_000 && m.time < 20_000).map(({ message: m }) => m.frequency);
    assert.ok(hz.length === 36 && hz.every((f) => Math.abs(f - 59.8) < 0.02), 'every box sees the frequency excursion');
  });

  it('should be deterministic: the same seed gives identical output, another seed another', () => {
    const options = { boxes: [1, 2], scenario: defaultScenario([1, 2]) };
    const a = runFor(10_000, { ...options, seed: 7 });
    const b = runFor(10_000, { ...options, seed: 7 });
    const c = runFor(10_000, { ...options, seed: 8 });
    assert.deepEqual(a, b);
    assert.equal(c.length, a.length);
    assert.notDeepEqual(c, a);
  });

  it('should stop its clock when unsubscribed', () => {
    const ts = createTestScheduler();
    ts.run(({ expectObservable }) => {
      expectObservable(simulateFleet({ boxes: 1, scheduler: ts }).pipe(map((m) => m.time)), '^ 400ms !').toBe('166ms a 166ms b', { a: 0, b: 166 });
    });
    assert.equal(ts.actions.length, 0, 'no action left scheduled');
  });

  it('should catch up at once on windows that completed before it was subscribed', () => {
    const seen = runFor(0, { boxes: 1, startMs: -1_000 });
    assert.deepEqual(
      seen.map(({ at, message }) => [at, message.time]),
      [0, 1, 2, 3, 4, 5].map((w) => [0, -1_000 + windowTime(w)]),
    );
  });

  it('should refuse an empty fleet, duplicate ids and non-int32 ids', () => {
    for (const [boxes, path] of [
      [0, 'boxes'],
      [[], 'boxes'],
      [[1, 1], 'boxes'],
      [[1, 2 ** 40], 'boxes[1]'],
    ] as const) {
      assert.throws(() => new SimulatedFleet({ boxes }), (e: unknown) => e instanceof ConfigError && e.path === path);
    }
  });
});

describe('SimulatedFleet', () => {
  const scenario: Scenario = { name: 't', disturbances: [{ kind: 'silence', atMs: 0, durationMs: 60_000, boxes: [3] }] };

  it('should share one clock between subscribers and answer READ from every box that is on', () => {
    const ts = createTestScheduler();
    const fleet = new SimulatedFleet({ boxes: [1, 2, 3], seed: 3, scenario, scheduler: ts });
    const first: TriggerMessage[] = [];
    const second: TriggerMessage[] = [];
    ts.run(() => {
      const a = fleet.triggers$.subscribe((m) => first.push(m));
      const b = fleet.triggers$.subscribe((m) => second.push(m));
      ts.schedule(() => {
        a.unsubscribe();
        b.unsubscribe();
      }, 3_001);
    });
    assert.equal(first.length, 2 * 18, 'box 3 is silent');
    assert.deepEqual(second, first);
    const replies = fleet.handleRequest({ type: 'READ', sequenceNumber: 5, back: 1_000, forward: 2_000 }, 3_001);
    assert.deepEqual(replies.map((r) => [r.boxId, r.header.type, r.header.sequenceNumber, r.data.length]), [
      [1, 'RESP', 5, 6],
      [2, 'RESP', 5, 6],
    ]);
    // The samples agree with what box 1 sent for those windows.
    for (const data of replies[0]!.data) {
      const sent = first.find((m) => m.id === 1 && m.time === data.cycles[0]!.time)!;
      const rms = data.cycles.reduce((s, c) => s + cycleRms(c.data, DEFAULT_CALIBRATION), 0) / 10;
      assert.ok(Math.abs(rms - sent.rms) < 0.05);
    }
    assert.equal(fleet.box(2)?.id, 2);
    assert.equal(fleet.box(9), undefined);
  });
});
