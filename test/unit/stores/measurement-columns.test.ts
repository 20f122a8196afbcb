import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MEASUREMENT_FIELDS, MEASUREMENT_STRIDE, toMeasurementColumns } from '../../../src/stores/measurement-columns.js';

describe('toMeasurementColumns', () => {
  it('packs box ids as given and the numbers in field order, NaN for an absent thd or an invalid expiry', () => {
    const columns = toMeasurementColumns([
      { box_id: '7', timestamp_ms: 1_700_000_000_001, voltage: 119.5, frequency: 59.98, thd: 0.031, expireAt: new Date(1_700_086_400_001) },
      { box_id: '12', timestamp_ms: 2 ** 41 + 5, voltage: Number.NaN, frequency: 60, expireAt: new Date(Number.NaN) },
    ]);
    assert.deepStrictEqual(MEASUREMENT_FIELDS, ['timestamp_ms', 'voltage', 'frequency', 'thd', 'expire_at_ms']);
    assert.equal(MEASUREMENT_STRIDE, 5);
    assert.deepStrictEqual(columns.boxIds, ['7', '12']);
    assert.deepStrictEqual([...columns.values], [1_700_000_000_001, 119.5, 59.98, 0.031, 1_700_086_400_001, 2 ** 41 + 5, Number.NaN, 60, Number.NaN, Number.NaN]);
  });

  it('packs into a given buffer when it is large enough, else into a new one', () => {
    const doc = { box_id: '1', timestamp_ms: 5, voltage: 120, frequency: 60, expireAt: new Date(9) };
    const large = new ArrayBuffer(8 * MEASUREMENT_STRIDE * 4);
    const reused = toMeasurementColumns([doc, doc], large);
    assert.equal(reused.values.buffer, large);
    assert.equal(reused.values.length, 2 * MEASUREMENT_STRIDE);
    assert.deepStrictEqual([...reused.values.subarray(0, MEASUREMENT_STRIDE)], [5, 120, 60, Number.NaN, 9]);
    const small = new ArrayBuffer(8);
    assert.notEqual(toMeasurementColumns([doc, doc], small).values.buffer, small);
  });

  it('gives empty columns for an empty batch', () => {
    const columns = toMeasurementColumns([]);
    assert.equal(columns.boxIds.length, 0);
    assert.equal(columns.values.length, 0);
  });
});
