import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestEventMessage } from '../../../src/protocol/messages.js';
import { decide } from '../../../src/operators/dedupe-requests.js';
import { OverlappingIntervals } from '../../../src/operators/overlapping-intervals.js';

function req(start: number, end: number, requestData = true): RequestEventMessage {
  return {
    startTimestampMsUtc: start,
    endTimestampMsUtc: end,
    triggerType: 'OTHER',
    percentMagnitude: 0,
    boxIds: [],
    requestee: 'Evan',
    description: 'Health check',
    requestData,
  };
}

describe('decide', () => {
  it('should classify fresh, covered, no-data and invalid requests', () => {
    const cache = new OverlappingIntervals();
    assert.equal(decide(cache, req(1000, 2000), 1_800_000), 'fresh');
    assert.equal(decide(cache, req(1200, 1800), 1_800_000), 'covered');
    assert.equal(decide(cache, req(5000, 6000, false), 1_800_000), 'no-data');
    assert.equal(decide(cache, req(6000, 5000), 1_800_000), 'invalid-interval');
    assert.equal(decide(cache, req(-1, 5), 1_800_000), 'invalid-interval');
    assert.equal(decide(cache, req(0, Infinity), 1_800_000), 'invalid-interval');
    assert.deepEqual(cache.toArray(), [{ start: 1000, end: 2000 }]);
  });

  it('should request a partly covered range in full and remember the union', () => {
    const cache = new OverlappingIntervals();
    decide(cache, req(1000, 2000), 1_800_000);
    assert.equal(decide(cache, req(1500, 2500), 1_800_000), 'fresh');
    assert.deepEqual(cache.toArray(), [{ start: 1000, end: 2500 }]);
  });

  it('should expire by event time before checking coverage', () => {
    const cache = new OverlappingIntervals();
    decide(cache, req(1000, 2000), 500);
    decide(cache, req(2600, 2700), 500); // horizon 2100: [1000,2000] forgotten
    assert.equal(decide(cache, req(1200, 1800), 500), 'fresh');
  });
});
