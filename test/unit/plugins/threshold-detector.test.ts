import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ThresholdDetector } from '../../../src/plugins/builtin/threshold-detector.js';
import { parseThresholdSettings } from '../../../src/plugins/builtin/threshold-settings.js';
import type { Measurement } from '../../../src/plugins/plugin.js';

const m = (time: number, rms = 120, id = 1001): Measurement => ({ id, time, rms, frequency: 60 });

describe('ThresholdDetector', () => {
  it('should ignore a message older than the newest one of its box', () => {
    const detector = new ThresholdDetector(parseThresholdSettings({ groupGapMs: 0, padBeforeMs: 0, padAfterMs: 0 }));
    for (const t of [0, 100, 200]) assert.deepEqual(detector.onMeasurement(m(t), t), []);
    // A late 96 V message from the past: no excursion, nothing to wait for.
    assert.deepEqual(detector.onMeasurement(m(50, 96), 250), []);
    assert.equal(detector.nextDeadline(), undefined);
    // The same value in order does start one.
    detector.onMeasurement(m(300, 96), 300);
    assert.equal(detector.nextDeadline(), 300 + 5000);
    assert.deepEqual(detector.onMeasurement(m(400), 400).map((r) => [r.startTimestampMsUtc, r.endTimestampMsUtc]), [[300, 400]]);
  });

  it('should ask for a timer only while something can go silent', () => {
    const detector = new ThresholdDetector(parseThresholdSettings({ silenceTimeoutMs: '2s' }));
    detector.onMeasurement(m(0), 10);
    assert.equal(detector.nextDeadline(), undefined);
    detector.onMeasurement(m(100, 96), 110);
    assert.equal(detector.nextDeadline(), 2110);
    detector.onMeasurement(m(200), 210); // recovered; the group waits for the gap
    assert.equal(detector.nextDeadline(), 2210);
    assert.deepEqual(detector.onTimer(1000), []);
    assert.equal(detector.onTimer(2210).length, 1);
    assert.equal(detector.nextDeadline(), undefined);
  });

  it('should count per-box overrides of the nominal values', () => {
    const detector = new ThresholdDetector(parseThresholdSettings({ overrides: { '2001': { nominalVoltage: 230 } }, groupGapMs: 0 }));
    assert.deepEqual(detector.onMeasurement(m(0, 230, 2001), 0), []);
    detector.onMeasurement(m(100, 200, 2001), 100);
    const [request] = detector.onMeasurement(m(200, 230, 2001), 200);
    assert.equal(request?.percentMagnitude, 13.043);
    assert.equal(request?.description, 'Voltage sag to 200.0 V (-13.0 %) on box 2001 for 0.1 s');
  });
});

describe('ThresholdDetector with several clocks', () => {
  it('should not let a box with a clock an hour ahead close or cut another box group', () => {
    const detector = new ThresholdDetector(parseThresholdSettings({ maxWindowMs: '1m' }));
    const hour = 3_600_000;
    detector.onMeasurement(m(1000, 96), 1000);
    // Box 1003 is an hour ahead and normal: without per-member time this would end the group at once.
    assert.deepEqual(detector.onMeasurement(m(hour + 1050, 120, 1003), 1050), []);
    detector.onMeasurement(m(1100, 120), 1100);
    assert.deepEqual(detector.onMeasurement(m(hour + 2050, 120, 1003), 2050), []);
    const [request] = detector.onMeasurement(m(2100, 120), 2100);
    assert.deepEqual([request?.startTimestampMsUtc, request?.endTimestampMsUtc, request?.boxIds], [0, 2100, [1001]]);
  });

  it('should open a new group for an excursion that starts after the gap by its own clock', () => {
    const detector = new ThresholdDetector(parseThresholdSettings({ groupGapMs: 500 }));
    detector.onMeasurement(m(1000, 96), 1000);
    detector.onMeasurement(m(1100, 120), 1100); // 1001 recovered at 1100, and then goes quiet
    // 1002 dips at 1700 (≥ 1100 + 500) while no member of the first group has sent since.
    const closed = detector.onMeasurement(m(1700, 96, 1002), 1700);
    assert.deepEqual(closed.map((r) => r.boxIds), [[1001]]);
    const [second] = detector.flush();
    assert.deepEqual(second?.boxIds, [1002]);
  });
});
