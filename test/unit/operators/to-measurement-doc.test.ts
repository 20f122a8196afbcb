import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { DEFAULT_MEASUREMENT_TTL_MS, toMeasurementDoc, toMeasurementDocs } from '../../../src/operators/to-measurement-doc.js';

describe('toMeasurementDoc', () => {
  it('should map a trigger message to the spec §4.1 document', () => {
    const doc = toMeasurementDoc({ id: 1001, time: 1_546_300_800_123, rms: 119.875, frequency: 60.0125, thd: 0.021 }, 5_000, 86_400_000);
    assert.deepEqual(doc, {
      box_id: '1001',
      timestamp_ms: 1_546_300_800_123,
      voltage: 119.875,
      frequency: 60.0125,
      expireAt: new Date(86_405_000),
      thd: 0.021,
    });
    assert.deepEqual(Object.keys(doc), ['box_id', 'timestamp_ms', 'voltage', 'frequency', 'expireAt', 'thd']);
  });

  it('should leave thd out (not undefined) when the message has none', () => {
    const doc = toMeasurementDoc({ id: 0, time: 10, rms: 120, frequency: 60 }, 0, 1);
    assert.equal('thd' in doc, false);
    assert.equal(doc.box_id, '0');
  });

  it('should count the TTL from receipt, not from the box timestamp', () => {
    const doc = toMeasurementDoc({ id: 2, time: 1_000, rms: 120, frequency: 60 }, 50_000, 100);
    assert.equal(doc.expireAt.getTime(), 50_100);
    assert.equal(doc.timestamp_ms, 1_000);
  });

  it('should keep a thd of 0', () => {
    assert.equal(toMeasurementDoc({ id: 2, time: 1, rms: 120, frequency: 60, thd: 0 }, 0, 0).thd, 0);
  });
});

describe('toMeasurementDocs options', () => {
  it('should default the TTL to one day', () => {
    assert.equal(DEFAULT_MEASUREMENT_TTL_MS, 86_400 * 1000);
  });

  it('should refuse a negative or non-finite TTL with the field path', () => {
    for (const ttlMs of [-1, Number.NaN, Infinity]) {
      assert.throws(() => toMeasurementDocs({ ttlMs }), (e: unknown) => e instanceof ConfigError && e.path === 'ttlMs');
    }
  });
});
