import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertBoxReply } from '../../../src/brokers/box-reply.js';
import type { Cycle, DataMessage, RequestDataMessage } from '../../../src/protocol/messages.js';

function cycle(time: number, samples: readonly number[]): Cycle {
  return { time, data: Int32Array.from(samples) };
}

const header: RequestDataMessage = { type: 'RESP', sequenceNumber: 17, boxId: 1003, time: 5_000, back: 900, forward: 1_100 };

describe('convertBoxReply', () => {
  it('should write every sample as int16 little-endian in frame, cycle and sample order', () => {
    const data: DataMessage[] = [
      { id: 1003, cycles: [cycle(1_000, [1, -1]), cycle(1_017, [32_767, -32_768])] },
      { id: 1003, cycles: [cycle(1_033, [256, -2])] },
    ];
    const result = convertBoxReply(header, data, 'campus');
    assert.ok(result.ok);
    assert.deepEqual([...result.waveform], [1, 0, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x80, 0x00, 0x01, 0xfe, 0xff]);
    assert.equal(result.cycles, 3);
    // Read back the way Mauka does (numpy.frombuffer(data, int16)).
    const view = new DataView(result.waveform.buffer);
    const samples = Array.from({ length: result.waveform.length / 2 }, (_, i) => view.getInt16(i * 2, true));
    assert.deepEqual(samples, [1, -1, 32_767, -32_768, 256, -2]);
  });

  it('should build the box_events document of spec §4.4', () => {
    const twoHundred = Array.from({ length: 200 }, (_, i) => i - 100);
    const data: DataMessage[] = [
      { id: 1003, cycles: [cycle(1_000, twoHundred), cycle(1_017, twoHundred)] },
      { id: 1003, cycles: [cycle(1_033, twoHundred)] },
    ];
    const result = convertBoxReply(header, data, { name: 'POST' });
    assert.ok(result.ok);
    assert.deepEqual(result.boxEvent, {
      event_id: 17,
      box_id: '1003',
      event_start_timestamp_ms: 1_000,
      // 1033 + 1000/12000 × 200 = 1049.67, truncated.
      event_end_timestamp_ms: 1_049,
      window_timestamps_ms: [1_000, 1_017, 1_033],
      data_fs_filename: 'event_17_1003',
      location: { name: 'POST' },
    });
    assert.equal(result.waveform.length, 3 * 200 * 2);
  });

  it('should omit location for a box not in the registry and skip DataMessages without cycles', () => {
    const data: DataMessage[] = [{ id: 1003, cycles: [] }, { id: 1003, cycles: [cycle(2_000, [5])] }];
    const result = convertBoxReply(header, data);
    assert.ok(result.ok);
    assert.equal('location' in result.boxEvent, false);
    assert.equal(result.boxEvent.event_start_timestamp_ms, 2_000);
  });

  it('should refuse a DataMessage whose id differs from the header boxId', () => {
    const data: DataMessage[] = [{ id: 1003, cycles: [cycle(1, [1])] }, { id: 1004, cycles: [cycle(2, [1])] }];
    const result = convertBoxReply(header, data);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, 'box-id-mismatch');
  });

  it('should take the DataMessages common id without a header boxId, and refuse disagreeing ones', () => {
    const { boxId: _, ...anonymous } = header;
    const same = convertBoxReply(anonymous, [{ id: 9, cycles: [cycle(1, [1])] }]);
    assert.ok(same.ok);
    assert.equal(same.boxEvent.box_id, '9');
    const mixed = convertBoxReply(anonymous, [{ id: 9, cycles: [cycle(1, [1])] }, { id: 8, cycles: [cycle(2, [1])] }]);
    assert.equal(!mixed.ok && mixed.reason, 'box-id-mismatch');
  });

  it('should refuse a reply without data frames or without cycles', () => {
    const none = convertBoxReply(header, []);
    assert.equal(!none.ok && none.reason, 'empty-reply');
    const empty = convertBoxReply(header, [{ id: 1003, cycles: [] }]);
    assert.equal(!empty.ok && empty.reason, 'empty-reply');
  });

  it('should refuse samples outside int16 instead of wrapping them', () => {
    const result = convertBoxReply(header, [{ id: 1003, cycles: [cycle(1, [0, 40_000])] }]);
    assert.equal(!result.ok && result.reason, 'sample-out-of-range');
  });
});
