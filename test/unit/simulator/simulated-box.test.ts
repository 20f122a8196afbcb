import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import type { DataMessage, TriggerMessage } from '../../../src/protocol/messages.js';
import type { Scenario } from '../../../src/simulator/scenario.js';
import { SimulatedBox, type SimulatedBoxOptions } from '../../../src/simulator/simulated-box.js';
import { DEFAULT_CALIBRATION } from '../../../src/protocol/box-adc.js';
import { cycleRms } from '../../../src/protocol/cycle-rms.js';
import { harmonicThd, zeroCrossingFrequency } from '../../../src/simulator/waveform.js';

const START = 1_700_000_000_000;
const scenario: Scenario = {
  name: 'test',
  disturbances: [
    // 5.1 s is not a window boundary: the window at 5.0 s is half sagged.
    { kind: 'voltage-sag', atMs: 5_100, durationMs: 1_000, boxes: [1], voltagePercent: 80 },
    { kind: 'thd', atMs: 7_000, durationMs: 1_000, boxes: 'all', ratio: 0.08 },
    { kind: 'frequency', atMs: 9_000, durationMs: 1_000, boxes: 'all', hz: 59.6 },
    { kind: 'silence', atMs: 11_000, durationMs: 1_000, boxes: [1] },
  ],
};
const box = (options: Partial<SimulatedBoxOptions> = {}) => new SimulatedBox({ id: 1, seed: 7, startMs: START, scenario, ...options });

/** All 2000 samples of a window. */
function samples(message: DataMessage): Int32Array {
  const out = new Int32Array(message.cycles.length * 200);
  message.cycles.forEach((cycle, i) => out.set(cycle.data, i * 200));
  return out;
}

/** The trigger a box would compute from these cycles: mean of per-cycle RMS. */
const windowRms = (message: DataMessage) => message.cycles.reduce((sum, c) => sum + cycleRms(c.data, DEFAULT_CALIBRATION), 0) / message.cycles.length;

/** A box run to `untilMs` after START, with its triggers by time. */
function run(untilMs: number, options: Partial<SimulatedBoxOptions> = {}): { box: SimulatedBox; triggers: Map<number, TriggerMessage> } {
  const b = box(options);
  const triggers = new Map(b.tick(START + untilMs).map((m) => [m.time, m]));
  return { box: b, triggers };
}

describe('SimulatedBox.tick', () => {
  it('should emit one TriggerMessage per completed 10-cycle window, 6 per second, stamped with the first cycle', () => {
    const b = box();
    assert.deepEqual(b.tick(START + 165), []);
    assert.deepEqual(b.tick(START + 999).map((m) => m.time - START), [0, 166, 333, 500, 666]);
    assert.deepEqual(b.tick(START + 1_000).map((m) => m.time - START), [833]);
    assert.deepEqual(b.tick(START + 1_000), []);
    assert.deepEqual(b.tick(START + 500), [], 'time going backwards emits nothing');
    assert.equal(b.nextWindowEndMs, START + 1_166);
    const m = b.tick(START + 1_166)[0]!;
    assert.deepEqual(Object.keys(m).sort(), ['frequency', 'id', 'rms', 'thd', 'time']);
    assert.equal(m.id, 1);
  });

  it('should follow rateHz', () => {
    const b = box({ rateHz: 3 });
    assert.deepEqual(b.tick(START + 1_000).map((m) => m.time - START), [0, 333, 666]);
  });

  it('should show a mid-window sag in proportion to the sagged cycles', () => {
    const { triggers } = run(7_000);
    const at = (ms: number) => triggers.get(START + ms)!.rms;
    assert.ok(Math.abs(at(4_833) - 120) < 1);
    // Cycles at +0..+83 ms are before 5.1 s, +100..+150 ms after: 6 of 10 cycles at 120 V, 4 at 96 V.
    assert.ok(Math.abs(at(5_000) - (0.6 * 120 + 0.4 * 96)) < 1, `half-sagged window ${at(5_000)}`);
    assert.ok(Math.abs(at(5_500) - 96) < 1);
    assert.ok(Math.abs(at(6_166) - 120) < 1);
  });

  it('should neither send nor record windows while silent', () => {
    const { box: b, triggers } = run(13_000);
    const silent = [...triggers.keys()].filter((t) => t >= START + 10_800 && t < START + 12_000);
    assert.deepEqual(silent.map((t) => t - START), [10_833], 'the window that ends at the start of the silence is still sent');
    assert.deepEqual(b.read(START + 10_900, START + 12_000), []);
    assert.equal(b.handleRequest({ type: 'PING', sequenceNumber: 1 }, START + 11_500), undefined);
    assert.notEqual(b.handleRequest({ type: 'PING', sequenceNumber: 1 }, START + 12_500), undefined);
  });

  it('should be deterministic: same seed, same messages and samples; another seed, others', () => {
    const a = run(3_000);
    const b = run(3_000);
    const c = run(3_000, { seed: 8 });
    assert.deepEqual([...a.triggers.values()], [...b.triggers.values()]);
    assert.notDeepEqual([...a.triggers.values()], [...c.triggers.values()]);
    assert.deepEqual(a.box.read(START, START + 1_000), b.box.read(START, START + 1_000));
    assert.notDeepEqual(a.box.read(START, START + 1_000), c.box.read(START, START + 1_000));
  });

  it('should refuse bad options with a ConfigError naming the option', () => {
    for (const [options, path] of [
      [{ id: 1.5 }, 'id'],
      [{ rateHz: 0 }, 'rateHz'],
      [{ calibration: -1 }, 'calibration'],
      [{ capacity: 0 }, 'capacity'],
      [{ startMs: Number.NaN }, 'startMs'],
    ] as const) {
      assert.throws(() => box(options), (e: unknown) => e instanceof ConfigError && e.path === path, path);
    }
  });
});

describe('SimulatedBox.read', () => {
  it('should return 10 cycles of 200 samples per window, keyed and timed like a box', () => {
    const { box: b } = run(2_000);
    const data = b.read(START + 500, START + 1_000);
    assert.deepEqual(data.map((d) => d.cycles[0]!.time - START), [500, 666, 833]);
    for (const message of data) {
      assert.equal(message.id, 1);
      assert.equal(message.cycles.length, 10);
      const times = message.cycles.map((c) => c.time - message.cycles[0]!.time);
      assert.deepEqual(times, [0, 16, 33, 50, 66, 83, 100, 116, 133, 150]);
      for (const cycle of message.cycles) {
        assert.ok(cycle.data instanceof Int32Array && cycle.data.length === 200);
        assert.ok(cycle.data.every((s) => s >= -32_768 && s <= 32_767 && Number.isInteger(s)));
      }
    }
  });

  it('should return a waveform that agrees with the TriggerMessages sent for the same time', () => {
    const { box: b, triggers } = run(10_500);
    const data = b.read(START + 4_500, START + 10_200);
    assert.equal(data.length, Math.ceil((10_200 - 4_500) / (1000 / 6)) - 0);
    let sagged = 0;
    let nominal = 0;
    for (const message of data) {
      const time = message.cycles[0]!.time;
      const trigger = triggers.get(time);
      assert.ok(trigger, `a trigger for window ${time - START}`);
      const rms = windowRms(message);
      assert.ok(Math.abs(rms - trigger.rms) < (trigger.frequency === 60 ? 0.05 : 0.5), `window ${time - START}: samples ${rms} V, trigger ${trigger.rms} V`);
      if (Math.abs(trigger.rms - 96) < 1) sagged++;
      if (Math.abs(trigger.rms - 120) < 1) nominal++;
      const all = samples(message);
      assert.ok(Math.abs(zeroCrossingFrequency(all) - trigger.frequency) < 0.01, `window ${time - START}: frequency`);
      if (Math.abs(trigger.frequency - 60) < 0.05) {
        assert.ok(Math.abs(harmonicThd(all, trigger.frequency) - trigger.thd!) < 0.002, `window ${time - START}: thd`);
      }
    }
    assert.ok(sagged >= 5 && nominal >= 10, `sagged ${sagged}, nominal ${nominal}`);
    // And the sag is really in the samples: the sagged window's RMS is 80 % of the one before.
    const before = windowRms(b.read(START + 4_833, START + 4_834)[0]!);
    const during = windowRms(b.read(START + 5_500, START + 5_501)[0]!);
    assert.ok(Math.abs(during / before - 0.8) < 0.01, `ratio ${during / before}`);
    assert.ok(Math.abs(harmonicThd(samples(b.read(START + 7_500, START + 7_501)[0]!), 60) - 0.08) < 0.002);
  });

  it('should continue the waveform across windows without a seam', () => {
    // Without amplitude noise, so that only the phase can make a seam.
    const { box: b } = run(3_000, { noiseCounts: 0, signal: { voltsNoise: 0, thdJitter: 0 } });
    const [first, second] = b.read(START + 1_000, START + 1_200);
    const joined = new Int32Array(4_000);
    joined.set(samples(first!), 0);
    joined.set(samples(second!), 2_000);
    // Second differences of a smooth waveform are small; a phase jump at the seam would make a spike.
    const curvature = (n: number) => Math.abs(joined[n + 1]! - 2 * joined[n]! + joined[n - 1]!);
    let inside = 0;
    for (let n = 1; n < 1_999; n++) inside = Math.max(inside, curvature(n));
    const seam = Math.max(curvature(1_999), curvature(2_000));
    assert.ok(seam <= inside * 1.2 + 2, `seam ${seam} vs inside ${inside}`);
  });

  it('should keep 10 minutes of windows in 43,200 bytes and forget older ones', () => {
    const { box: b } = run(11 * 60_000);
    assert.equal(b.windowsHeld, 3_600);
    assert.equal(b.memoryBytes, 43_200);
    assert.deepEqual(b.read(START, START + 30_000), []);
    const windowTime = (w: number) => START + Math.floor((w * 1000) / 6);
    const newest = 11 * 60 * 6 - 1;
    const tail = b.read(windowTime(newest - 2), Number.MAX_SAFE_INTEGER);
    assert.deepEqual(tail.map((d) => d.cycles[0]!.time), [windowTime(newest - 2), windowTime(newest - 1), windowTime(newest)], 'forward beyond the newest window returns what exists');
  });
});

describe('SimulatedBox.handleRequest', () => {
  it('should answer READ with RESP echoing the request, plus the selected windows', () => {
    const { box: b } = run(2_000);
    const reply = b.handleRequest({ type: 'READ', sequenceNumber: 42, time: START + 750, back: START + 500, forward: START + 1_000 }, START + 2_000)!;
    assert.deepEqual(reply.header, { type: 'RESP', sequenceNumber: 42, boxId: 1, time: START + 2_000, back: START + 500, forward: START + 1_000 });
    assert.equal(reply.data.length, 3);
    assert.deepEqual(reply.data, b.read(START + 500, START + 1_000));
  });

  it('should answer a READ without a range with an empty RESP', () => {
    const { box: b } = run(1_000);
    assert.deepEqual(b.handleRequest({ type: 'READ', sequenceNumber: 3 }, START + 1_000), {
      header: { type: 'RESP', sequenceNumber: 3, boxId: 1, time: START + 1_000 },
      data: [],
    });
  });

  it('should answer PING with PONG and anything else with ERROR', () => {
    const b = box();
    assert.deepEqual(b.handleRequest({ type: 'PING', sequenceNumber: 9 }, START + 5), {
      header: { type: 'PONG', sequenceNumber: 9, boxId: 1, time: START + 5 },
      data: [],
    });
    for (const type of ['PONG', 'RESP', 'ERROR'] as const) {
      assert.deepEqual(b.handleRequest({ type, sequenceNumber: 1 }, START + 6), {
        header: { type: 'ERROR', sequenceNumber: 1, boxId: 1, time: START + 6 },
        data: [],
      });
    }
  });
});
