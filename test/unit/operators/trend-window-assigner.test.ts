import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TriggerMessage } from '../../../src/protocol/messages.js';
import { TrendWindowAssigner, windowStartOf } from '../../../src/operators/trend-window-assigner.js';
import type { AcceptOutcome, TrendWindow } from '../../../src/operators/trend-window-assigner.js';

const MINUTE = 60_000;
const T0 = 1_546_300_800_000; // 2019-01-01T00:00:00Z, a whole minute

function msg(id: number, time: number, rms = 120, frequency = 60, thd?: number): TriggerMessage {
  return thd === undefined ? { id, time, rms, frequency } : { id, time, rms, frequency, thd };
}

function closed(outcome: AcceptOutcome): readonly TrendWindow[] {
  assert.equal(outcome.kind, 'merged');
  return outcome.kind === 'merged' ? outcome.closed : [];
}

describe('windowStartOf', () => {
  it('should align windows to UTC multiples of the window length', () => {
    assert.equal(windowStartOf(T0, MINUTE), T0);
    assert.equal(windowStartOf(T0 + 59_999, MINUTE), T0);
    assert.equal(windowStartOf(T0 + 60_000, MINUTE), T0 + MINUTE);
    assert.equal(windowStartOf(T0 + 1_234, 1_000), T0 + 1_000);
    assert.equal(windowStartOf(0, MINUTE), 0);
  });
});

describe('TrendWindowAssigner', () => {
  it('should close a window at the first message of a later window, not including that message', () => {
    const a = new TrendWindowAssigner(MINUTE, 0);
    assert.deepEqual(closed(a.accept(msg(7, T0 + 100, 120), 0)), []);
    assert.deepEqual(closed(a.accept(msg(7, T0 + 59_900, 118), 1)), []);
    assert.deepEqual(closed(a.accept(msg(7, T0 + MINUTE, 130), 2)), [
      {
        boxId: '7',
        windowStartMs: T0,
        windowEndMs: T0 + MINUTE,
        count: 2,
        voltage: { min: 118, max: 120, average: 119 },
        frequency: { min: 60, max: 60, average: 60 },
      },
    ]);
    assert.equal(a.openWindowCount, 1);
  });

  it('should refuse a message for a closed window and never merge it elsewhere', () => {
    const a = new TrendWindowAssigner(MINUTE, 0);
    a.accept(msg(1, T0 + 10), 0);
    a.accept(msg(1, T0 + MINUTE + 10), 1);
    const outcome = a.accept(msg(1, T0 + 20, 99), 2);
    assert.deepEqual(outcome, {
      kind: 'late',
      late: {
        reason: 'window-closed',
        boxId: '1',
        message: msg(1, T0 + 20, 99),
        windowStartMs: T0,
        closedUpToMs: T0 + MINUTE + 10,
      },
    });
    const [flushed] = a.closeAll();
    assert.equal(flushed?.count, 1);
    assert.deepEqual(flushed?.voltage, { min: 120, max: 120, average: 120 });
  });

  it('should keep earlier windows open within the allowed lateness', () => {
    const a = new TrendWindowAssigner(10, 5);
    a.accept(msg(1, 2), 0);
    assert.deepEqual(closed(a.accept(msg(1, 12), 0)), []); // watermark 7 < 10
    assert.deepEqual(closed(a.accept(msg(1, 8), 0)), []); // still joins [0,10)
    assert.equal(a.openWindowCount, 2);
    const out = closed(a.accept(msg(1, 16), 0)); // watermark 11 ≥ 10
    assert.deepEqual(
      out.map((w) => [w.windowStartMs, w.count]),
      [[0, 2]],
    );
    assert.equal(a.accept(msg(1, 9), 0).kind, 'late');
  });

  it('should keep windows of different boxes apart', () => {
    const a = new TrendWindowAssigner(10, 0);
    a.accept(msg(1, 1, 100), 0);
    a.accept(msg(2, 2, 200), 0);
    assert.deepEqual(closed(a.accept(msg(2, 11, 200), 0)).map((w) => [w.boxId, w.count]), [['2', 1]]);
    assert.equal(a.accept(msg(1, 3, 101), 0).kind, 'merged'); // box 1's window is still open
    assert.deepEqual(
      a.closeAll().map((w) => [w.boxId, w.windowStartMs, w.count]),
      [
        ['1', 0, 2],
        ['2', 10, 1],
      ],
    );
  });

  it('should close a silent box and treat later messages for that window as late', () => {
    const a = new TrendWindowAssigner(10, 0);
    a.accept(msg(3, 4), 100);
    assert.equal(a.lastArrivalMs(3), 100);
    assert.deepEqual(a.closeBox(3).map((w) => w.windowStartMs), [0]);
    assert.equal(a.lastArrivalMs(3), undefined);
    assert.equal(a.accept(msg(3, 9), 200).kind, 'late');
    assert.equal(a.accept(msg(3, 10), 200).kind, 'merged');
  });

  it('should include thd only when a message of the window carried it', () => {
    const a = new TrendWindowAssigner(10, 0);
    a.accept(msg(1, 1), 0);
    a.accept(msg(1, 2, 120, 60, 0.02), 0);
    a.accept(msg(1, 3, 120, 60, 0.04), 0);
    const [first] = closed(a.accept(msg(1, 11), 0));
    assert.deepEqual(first?.thd, { min: 0.02, max: 0.04, average: 0.03 });
    const [second] = a.closeAll();
    assert.ok(second);
    assert.equal('thd' in second, false);
  });

  it('should refuse messages whose time is not a valid timestamp', () => {
    const a = new TrendWindowAssigner(10, 0);
    for (const time of [Number.NaN, -1, Infinity]) {
      const outcome = a.accept(msg(1, time), 0);
      assert.equal(outcome.kind === 'late' && outcome.late.reason, 'invalid-time');
    }
    assert.equal(a.openWindowCount, 0);
  });

  it('should flush all boxes ordered by window start, then numeric box id', () => {
    const a = new TrendWindowAssigner(10, 0);
    a.accept(msg(10, 25), 0);
    a.accept(msg(9, 25), 0);
    a.accept(msg(100, 15), 0);
    a.accept(msg(2, 27), 0);
    assert.deepEqual(
      a.closeAll().map((w) => `${w.windowStartMs}/${w.boxId}`),
      ['10/100', '20/2', '20/9', '20/10'],
    );
    assert.equal(a.openWindowCount, 0);
  });
});
