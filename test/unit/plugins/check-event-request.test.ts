import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEventRequest } from '../../../src/plugins/check-event-request.js';
import type { EventRequest } from '../../../src/plugins/plugin.js';

const valid: EventRequest = {
  startTimestampMsUtc: 1_546_300_800_000,
  endTimestampMsUtc: 1_546_300_802_000,
  triggerType: 'VOLTAGE_SAG',
  percentMagnitude: 12.5,
  boxIds: [1001, 1002],
  requestee: 'me',
  description: 'dip',
  requestData: true,
};

describe('checkEventRequest', () => {
  it('should accept a complete request, with no boxes too', () => {
    assert.equal(checkEventRequest(valid), undefined);
    assert.equal(checkEventRequest({ ...valid, boxIds: [] }), undefined);
  });

  it('should name the first field that is unset or wrong', () => {
    const cases: [unknown, string][] = [
      [null, '(request)'],
      ['request', '(request)'],
      [{ ...valid, startTimestampMsUtc: undefined }, 'startTimestampMsUtc'],
      [{ ...valid, startTimestampMsUtc: -1 }, 'startTimestampMsUtc'],
      [{ ...valid, endTimestampMsUtc: 1.5 }, 'endTimestampMsUtc'],
      [{ ...valid, endTimestampMsUtc: 2 ** 60 }, 'endTimestampMsUtc'],
      [{ ...valid, endTimestampMsUtc: valid.startTimestampMsUtc - 1 }, 'endTimestampMsUtc'],
      [{ ...valid, triggerType: 'DIP' }, 'triggerType'],
      [{ ...valid, triggerType: 'toString' }, 'triggerType'],
      [{ ...valid, percentMagnitude: Number.NaN }, 'percentMagnitude'],
      [{ ...valid, boxIds: '1001' }, 'boxIds'],
      [{ ...valid, boxIds: [1001, 2 ** 31] }, 'boxIds'],
      [{ ...valid, requestee: undefined }, 'requestee'],
      [{ ...valid, description: 42 }, 'description'],
      [{ ...valid, requestData: 'yes' }, 'requestData'],
    ];
    for (const [request, field] of cases) assert.equal(checkEventRequest(request)?.field, field, JSON.stringify(request));
  });

  it('should say what is wrong', () => {
    assert.match(checkEventRequest({ ...valid, description: undefined })?.problem ?? '', /expected a string, got nothing \(unset\)/);
  });
});
