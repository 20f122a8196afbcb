import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toTrendDoc, UNKNOWN_LOCATION } from '../../../src/operators/to-trend-doc.js';
import type { TrendWindow } from '../../../src/operators/trend-window.js';

const window: TrendWindow = {
  boxId: '1001',
  windowStartMs: 1_546_300_800_000,
  windowEndMs: 1_546_300_860_000,
  count: 360,
  voltage: { min: 118.5, max: 121.25, average: 120.01 },
  frequency: { min: 59.98, max: 60.02, average: 60 },
  thd: { min: 0.01, max: 0.03, average: 0.02 },
};

describe('toTrendDoc', () => {
  it('should stamp the window end and copy stats, box id and location', () => {
    assert.deepEqual(toTrendDoc(window, 'kailua-house'), {
      voltage: window.voltage,
      frequency: window.frequency,
      thd: window.thd,
      box_id: '1001',
      timestamp_ms: 1_546_300_860_000,
      location: 'kailua-house',
      window_start_ms: 1_546_300_800_000,
      count: 360,
    });
  });

  it('should keep the original field order (voltage, frequency, thd, box_id, timestamp_ms, location)', () => {
    assert.deepEqual(Object.keys(toTrendDoc(window, 'x')), [
      'voltage',
      'frequency',
      'thd',
      'box_id',
      'timestamp_ms',
      'location',
      'window_start_ms',
      'count',
    ]);
  });

  it('should write "unknown" when the registry has no location', () => {
    assert.equal(toTrendDoc(window).location, UNKNOWN_LOCATION);
    assert.equal(toTrendDoc(window, undefined).location, 'unknown');
  });

  it('should copy any location value as is, including structured ones', () => {
    const location = { slug: 'uh-manoa', lat: 21.3 };
    assert.equal(toTrendDoc(window, location).location, location);
  });

  it('should leave out metrics the window does not have', () => {
    const { thd: _thd, ...withoutThd } = window;
    const doc = toTrendDoc(withoutThd, 'x');
    assert.equal('thd' in doc, false);
    assert.deepEqual(doc.voltage, window.voltage);
  });
});
