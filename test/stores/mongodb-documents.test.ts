import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSON, Double, Int32, Long } from 'mongodb';
import { StoreError } from '../../src/core/errors.js';
import type { BoxEventDoc, EventDoc, MeasurementDoc, TrendDoc } from '../../src/protocol/documents.js';
import {
  boxEventFromBson,
  boxEventToBson,
  eventFromBson,
  eventToBson,
  measurementFromBson,
  measurementToBson,
  trendFromBson,
  trendToBson,
} from '../../src/stores/mongodb-documents.js';

const T = 1_700_000_000_123;

/** Serialises and parses like the wire does, without promoting values, so BSON types show. */
function viaWire(doc: Record<string, unknown>): Record<string, unknown> {
  return BSON.deserialize(BSON.serialize(doc), { promoteValues: false });
}

function refusal(build: () => unknown): StoreError {
  try {
    build();
  } catch (error) {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.retryable, false);
    return error;
  }
  assert.fail('accepted an invalid document');
}

describe('mongodb documents', () => {
  it('should write whole numbers with the original BSON types and read them back as numbers', () => {
    const doc: MeasurementDoc = { box_id: '3', timestamp_ms: T, voltage: 120, frequency: 60, thd: 0, expireAt: new Date(T) };
    const wire = viaWire(measurementToBson(doc));
    assert.ok(wire['timestamp_ms'] instanceof Long);
    assert.ok(wire['voltage'] instanceof Double && wire['frequency'] instanceof Double && wire['thd'] instanceof Double);
    assert.ok(wire['expireAt'] instanceof Date);
    assert.deepStrictEqual(measurementFromBson(BSON.deserialize(BSON.serialize(measurementToBson(doc)))), doc);
  });

  it('should round-trip events, box events and trends, leaving absent fields absent', () => {
    const event: EventDoc = {
      event_id: 12,
      type: 'VOLTAGE_SWELL',
      description: '',
      boxes_triggered: ['1'],
      boxes_received: ['1'],
      latencies_ms: [T],
      target_event_start_timestamp_ms: T - 1,
      target_event_end_timestamp_ms: T + 1,
    };
    const eventWire = viaWire(eventToBson(event));
    assert.ok(eventWire['event_id'] instanceof Int32);
    assert.ok((eventWire['latencies_ms'] as unknown[])[0] instanceof Long);
    assert.ok(!('reply_latencies_ms' in eventWire));
    assert.deepStrictEqual(eventFromBson(eventWire), event);

    const boxEvent: BoxEventDoc = {
      event_id: 12,
      box_id: '1',
      event_start_timestamp_ms: T,
      event_end_timestamp_ms: T + 16,
      window_timestamps_ms: [T],
      data_fs_filename: 'event_12_1',
    };
    const boxWire = viaWire(boxEventToBson(boxEvent));
    assert.ok(!('location' in boxWire), 'no location key for an unregistered box');
    assert.deepStrictEqual(boxEventFromBson(boxWire), boxEvent);

    const trend: TrendDoc = { box_id: '1', timestamp_ms: T, window_start_ms: T - 60_000, count: 1, thd: { min: 1, max: 1, average: 1 }, location: null };
    const trendWire = viaWire(trendToBson(trend));
    assert.ok((trendWire['thd'] as Record<string, unknown>)['min'] instanceof Double);
    assert.ok(trendWire['count'] instanceof Int32);
    assert.deepStrictEqual(trendFromBson(trendWire), trend);
  });

  it('should refuse values the BSON types would change', () => {
    const ok: MeasurementDoc = { box_id: '1', timestamp_ms: T, voltage: 1, frequency: 1, expireAt: new Date(T) };
    assert.match(refusal(() => measurementToBson({ ...ok, timestamp_ms: T + 0.5 })).message, /timestamp_ms must be a safe integer/);
    assert.match(refusal(() => measurementToBson({ ...ok, timestamp_ms: 2 ** 53 })).message, /timestamp_ms/);
    assert.match(refusal(() => measurementToBson({ ...ok, voltage: Number.POSITIVE_INFINITY })).message, /voltage must be a finite number/);
    assert.match(refusal(() => measurementToBson({ ...ok, expireAt: new Date('nope') })).message, /expireAt must be a valid Date/);
    assert.match(refusal(() => measurementToBson({ ...ok, box_id: 7 as unknown as string })).message, /box_id must be a string/);
    const event = eventToBson;
    const base: EventDoc = {
      event_id: 1,
      type: 'OTHER',
      description: '',
      boxes_triggered: [],
      boxes_received: [],
      latencies_ms: [],
      target_event_start_timestamp_ms: T,
      target_event_end_timestamp_ms: T,
    };
    assert.match(refusal(() => event({ ...base, event_id: -(2 ** 31) - 1 })).message, /event_id must be an int32/);
    assert.match(refusal(() => event({ ...base, latencies_ms: [T, 1.5] })).message, /latencies_ms\[1\]/);
  });
});
