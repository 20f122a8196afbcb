import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventMidTime, validateEventRequest } from '../../../src/brokers/event-request-validation.js';
import type { RequestEventMessage } from '../../../src/protocol/messages.js';

const TEN_MINUTES = 600_000;

function request(overrides: Partial<RequestEventMessage> = {}): RequestEventMessage {
  return {
    startTimestampMsUtc: 1_600_000_000_000,
    endTimestampMsUtc: 1_600_000_002_000,
    triggerType: 'VOLTAGE_SAG',
    percentMagnitude: 7.5,
    boxIds: [1000, 1001],
    requestee: 'test',
    description: 'sag',
    requestData: true,
    ...overrides,
  };
}

describe('validateEventRequest', () => {
  it('should accept a window within the maximum, including a zero-length one and one exactly at it', () => {
    assert.equal(validateEventRequest(request(), TEN_MINUTES), undefined);
    assert.equal(validateEventRequest(request({ endTimestampMsUtc: 1_600_000_000_000 }), TEN_MINUTES), undefined);
    assert.equal(validateEventRequest(request({ endTimestampMsUtc: 1_600_000_000_000 + TEN_MINUTES }), TEN_MINUTES), undefined);
  });

  it('should refuse an end before the start', () => {
    const problem = validateEventRequest(request({ endTimestampMsUtc: 1_599_999_999_999 }), TEN_MINUTES);
    assert.equal(problem?.reason, 'end-before-start');
  });

  it('should refuse a window one ms longer than the maximum', () => {
    const problem = validateEventRequest(request({ endTimestampMsUtc: 1_600_000_000_000 + TEN_MINUTES + 1 }), TEN_MINUTES);
    assert.equal(problem?.reason, 'window-too-long');
    assert.match(problem?.detail ?? '', /600001 ms/);
  });

  it('should refuse timestamps that are not whole non-negative ms', () => {
    assert.equal(validateEventRequest(request({ startTimestampMsUtc: -1 }), TEN_MINUTES)?.reason, 'invalid-timestamp');
    assert.equal(validateEventRequest(request({ endTimestampMsUtc: 1.5 }), TEN_MINUTES)?.reason, 'invalid-timestamp');
    assert.equal(validateEventRequest(request({ endTimestampMsUtc: Number.MAX_SAFE_INTEGER + 2 }), TEN_MINUTES)?.reason, 'invalid-timestamp');
  });

  it('should refuse box ids outside int32', () => {
    assert.equal(validateEventRequest(request({ boxIds: [1, 2 ** 31] }), TEN_MINUTES)?.reason, 'invalid-box-id');
  });

  it('should refuse negative box ids, which name no box', () => {
    const problem = validateEventRequest(request({ boxIds: [1003, -5] }), TEN_MINUTES);
    assert.equal(problem?.reason, 'invalid-box-id');
    assert.match(problem?.detail ?? '', /box id -5 is not a whole number from 0 to 2147483647/);
    assert.equal(validateEventRequest(request({ boxIds: [0, 2 ** 31 - 1] }), TEN_MINUTES), undefined);
  });
});

describe('eventMidTime', () => {
  it('should use integer division like the original', () => {
    assert.equal(eventMidTime({ startTimestampMsUtc: 1000, endTimestampMsUtc: 2001 }), 1500);
    assert.equal(eventMidTime({ startTimestampMsUtc: 1_600_000_000_000, endTimestampMsUtc: 1_600_000_002_000 }), 1_600_000_001_000);
  });
});
