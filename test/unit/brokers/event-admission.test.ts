import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventAdmission, type EventAdmissionLimits } from '../../../src/brokers/event-admission.js';
import { TokenBuckets } from '../../../src/brokers/token-buckets.js';
import { eventRequest } from '../../helpers/messages.js';

const LIMITS: EventAdmissionLimits = {
  maxOutstandingReads: 3,
  maxOutstandingReadsPerRequester: 2,
  readTimeoutMs: 30_000,
  ratePerSecond: 1,
  burst: 2,
  maxKeys: 100,
};

/** Admits `request` at `now` and records its READ under `eventId`, as the broker does. */
function admitted(admission: EventAdmission, eventId: number, request = eventRequest(), now = 0): void {
  assert.deepEqual(admission.decide(request, now), { admit: true });
  admission.readSent(eventId, request, now);
}

describe('TokenBuckets', () => {
  it('should allow a burst, then one per refill interval, per key', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 2, maxKeys: 10 });
    assert.deepEqual([buckets.take('a', 0), buckets.take('a', 0), buckets.take('a', 0)], [true, true, false]);
    assert.equal(buckets.take('b', 0), true, 'another key has its own bucket');
    assert.equal(buckets.take('a', 999), false);
    assert.equal(buckets.take('a', 1000), true);
    assert.equal(buckets.take('a', 1000), false);
  });

  it('should make new keys share one bucket once maxKeys keys are known', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys: 2 });
    assert.equal(buckets.take('a', 0), true);
    assert.equal(buckets.take('b', 0), true);
    assert.equal(buckets.take('c', 0), true, 'the overflow bucket starts full');
    assert.equal(buckets.take('d', 0), false, 'a made-up key gets no fresh bucket');
    // Once a and b have refilled they are forgotten, and new keys get buckets of their own again.
    assert.equal(buckets.take('e', 5000), true);
    assert.equal(buckets.take('f', 5000), true);
  });
});

describe('EventAdmission', () => {
  it('should merge a request covered by an outstanding READ (same boxes or a subset, window inside)', () => {
    const admission = new EventAdmission(LIMITS);
    admitted(admission, 7, eventRequest({ boxIds: [1003, 1004], startTimestampMsUtc: 1000, endTimestampMsUtc: 5000 }));
    const same = admission.decide(eventRequest({ boxIds: [1003, 1004], startTimestampMsUtc: 1000, endTimestampMsUtc: 5000 }), 10);
    assert.equal(same.admit === false && same.reason === 'merged' && same.eventId, 7);
    const subset = admission.decide(eventRequest({ boxIds: [1004], startTimestampMsUtc: 2000, endTimestampMsUtc: 3000, requestData: false }), 10);
    assert.equal(subset.admit === false && subset.reason, 'merged');
  });

  it('should not merge a request that asks for time or boxes outside the outstanding READ', () => {
    const admission = new EventAdmission(LIMITS);
    admitted(admission, 7, eventRequest({ boxIds: [1003], startTimestampMsUtc: 1000, endTimestampMsUtc: 5000 }));
    assert.deepEqual(admission.decide(eventRequest({ boxIds: [1003], startTimestampMsUtc: 4000, endTimestampMsUtc: 6000, requestee: 'b' }), 10), { admit: true });
    assert.deepEqual(admission.decide(eventRequest({ boxIds: [1003, 1005], startTimestampMsUtc: 1000, endTimestampMsUtc: 5000, requestee: 'c' }), 10), { admit: true });
  });

  it('should stop merging once every named box answered, or the READ timed out', () => {
    const admission = new EventAdmission(LIMITS);
    admitted(admission, 7, eventRequest({ boxIds: [1003, 1004] }));
    admission.replied(7, '1003');
    assert.equal(admission.decide(eventRequest({ boxIds: [1003, 1004] }), 10).admit, false, 'box 1004 still owes its reply');
    admission.replied(7, '1004');
    assert.equal(admission.outstandingReads(10), 0);
    assert.deepEqual(admission.decide(eventRequest({ boxIds: [1003, 1004] }), 10), { admit: true });

    const timed = new EventAdmission(LIMITS);
    admitted(timed, 8, eventRequest({ boxIds: [] }));
    assert.equal(timed.outstandingReads(29_999), 1, 'a READ naming no box waits for its timeout');
    assert.equal(timed.outstandingReads(30_000), 0);
  });

  it('should refuse data requests beyond the outstanding bounds, per requester and in all, without taking a token', () => {
    const admission = new EventAdmission({ ...LIMITS, burst: 10 });
    const window = (i: number, requestee = 'a') => eventRequest({ requestee, startTimestampMsUtc: i * 10_000, endTimestampMsUtc: i * 10_000 + 2000 });
    admitted(admission, 1, window(1));
    admitted(admission, 2, window(2));
    const own = admission.decide(window(3), 0);
    assert.equal(own.admit === false && own.reason, 'too-many-outstanding');
    assert.deepEqual(admission.decide({ ...window(3), requestData: false }, 0), { admit: true }, 'a request without data needs no READ slot');
    admitted(admission, 3, window(4, 'b'));
    const all = admission.decide(window(5, 'c'), 0);
    assert.equal(all.admit === false && all.reason, 'too-many-outstanding');
    assert.match(all.admit === false ? all.detail : '', /max_outstanding_reads 3/);
  });

  it('should rate-limit each requester by its own token bucket', () => {
    const admission = new EventAdmission(LIMITS);
    const window = (i: number, requestee = 'a') => eventRequest({ requestee, requestData: false, startTimestampMsUtc: i * 10_000, endTimestampMsUtc: i * 10_000 + 2000 });
    assert.deepEqual([1, 2, 3].map((i) => admission.decide(window(i), 0).admit), [true, true, false]);
    const refused = admission.decide(window(4), 0);
    assert.equal(refused.admit === false && refused.reason, 'rate-limited');
    assert.equal(admission.decide(window(5, 'b'), 0).admit, true, 'another requester is unaffected');
    assert.equal(admission.decide(window(6), 1000).admit, true, 'a token back after a second');
  });
});
