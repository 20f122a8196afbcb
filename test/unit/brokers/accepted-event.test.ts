import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptedEvent } from '../../../src/brokers/accepted-event.js';
import type { RequestEventMessage } from '../../../src/protocol/messages.js';

const request: RequestEventMessage = {
  startTimestampMsUtc: 1_000,
  endTimestampMsUtc: 3_001,
  triggerType: 'FREQUENCY_SWELL',
  percentMagnitude: 1.2,
  boxIds: [1000, 7],
  requestee: 'mauka',
  description: 'a swell',
  requestData: true,
};

describe('acceptedEvent', () => {
  it('should build the events document of spec §4.3 without the unstored fields', () => {
    const { doc } = acceptedEvent(42, request);
    assert.deepEqual(doc, {
      event_id: 42,
      type: 'FREQUENCY_SWELL',
      description: 'a swell',
      boxes_triggered: ['1000', '7'],
      boxes_received: [],
      latencies_ms: [],
      reply_latencies_ms: [],
      target_event_start_timestamp_ms: 1_000,
      target_event_end_timestamp_ms: 3_001,
    });
  });

  it('should build the READ request with the event id as sequence number and the integer mid-time', () => {
    assert.deepEqual(acceptedEvent(42, request).readRequest, { type: 'READ', sequenceNumber: 42, time: 2_000, back: 1_000, forward: 3_001 });
  });

  it('should not ask the boxes when request_data is false', () => {
    assert.equal(acceptedEvent(43, { ...request, requestData: false }).readRequest, undefined);
  });
});
