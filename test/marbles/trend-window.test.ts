import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { from } from 'rxjs';
import { ConfigError } from '../../src/core/errors.js';
import { Metrics } from '../../src/core/metrics.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import type { TrendStats } from '../../src/protocol/documents.js';
import { TREND_LATE_MESSAGES_METRIC, trendWindow } from '../../src/operators/trend-window.js';
import type { LateMessage, TrendWindow } from '../../src/operators/trend-window.js';
import { createTestScheduler, pendingActionsAt } from '../helpers/test-scheduler.js';

// Unless a test says otherwise, a message's box time equals its frame, so diagrams read as box time.
function m(id: number, time: number, rms = 120, frequency = 60, thd?: number): TriggerMessage {
  return thd === undefined ? { id, time, rms, frequency } : { id, time, rms, frequency, thd };
}

function s(min: number, max: number, average: number): TrendStats {
  return { min, max, average };
}

function w(boxId: number, windowStartMs: number, windowMs: number, count: number, voltage: TrendStats, thd?: TrendStats): TrendWindow {
  const base = { boxId: String(boxId), windowStartMs, windowEndMs: windowStartMs + windowMs, count, voltage, frequency: HZ };
  return thd ? { ...base, thd } : base;
}

const HZ = s(60, 60, 60);

describe('trendWindow', () => {
  it('should emit a window when its box moves on and flush the open one on complete', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const values = { a: m(1, 2, 120), b: m(1, 6, 118), c: m(1, 12, 121) };
      const windows = { x: w(1, 0, 10, 2, s(118, 120, 119)), y: w(1, 10, 10, 1, s(121, 121, 121)) };
      const source = hot('    --a---b-----c-----|', values);
      const sourceSubs = '    ^-----------------!';
      const expected = '      ------------x-----(y|)';
      expectObservable(source.pipe(trendWindow({ windowMs: 10, graceMs: 5, scheduler: ts }))).toBe(expected, windows);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should align windows to UTC multiples of windowMs in box time, whatever the arrival time', () => {
    const ts = createTestScheduler();
    const T0 = 1_546_300_800_000; // 2019-01-01T00:00:00Z
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      // The box starts mid-minute and its clock has nothing to do with the frames.
      const values = { a: m(5, T0 + 30_000, 120), b: m(5, T0 + 59_999, 122), c: m(5, T0 + 60_000, 119) };
      const windows = { x: w(5, T0, 60_000, 2, s(120, 122, 121)), y: w(5, T0 + 60_000, 60_000, 1, s(119, 119, 119)) };
      const source = hot('    -a-b-c-|', values);
      const sourceSubs = '    ^------!';
      const expected = '      -----x-(y|)';
      expectObservable(source.pipe(trendWindow({ windowMs: 60_000, scheduler: ts }))).toBe(expected, windows);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should emit the last window of a silent box after windowMs + graceMs of scheduler time', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, time, expectObservable, expectSubscriptions }) => {
      const windowMs = time('     ----------|');
      const graceMs = time('      -----|');
      const values = { a: m(1, 2, 120), b: m(1, 4, 124) };
      const windows = { x: w(1, 0, 10, 2, s(120, 124, 122)) };
      const source = hot('        --a-b---------------', values);
      const sourceSubs = '        ^-------------------';
      // Silent since frame 4, so 4 + 10 + 5 = 19 (the timer armed at 2 fires at 17 and re-arms).
      const expected = '          -------------------x';
      expectObservable(source.pipe(trendWindow({ windowMs, graceMs, scheduler: ts }))).toBe(expected, windows);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should keep a sending box open and treat a message for a silence-flushed window as late', () => {
    const ts = createTestScheduler();
    const late: LateMessage[] = [];
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      // windowMs 4 + graceMs 2: a box is silent after 6 frames without a message.
      const values = { a: m(1, 1), b: m(1, 4), c: m(1, 6), d: m(1, 7), e: m(1, 16) };
      const windows = {
        x: w(1, 0, 4, 1, s(120, 120, 120)), // a; closed by b
        y: w(1, 4, 4, 2, s(120, 120, 120)), // b, c; silent from 6, flushed at 12
        v: w(1, 16, 4, 1, s(120, 120, 120)), // e; flushed on complete
      };
      const source = hot('    -a--b-c------d--e--|', values);
      const sourceSubs = '    ^------------------!';
      const expected = '      ----x-------y------(v|)';
      const options = { windowMs: 4, graceMs: 2, late: { next: (l: LateMessage) => late.push(l) }, scheduler: ts };
      expectObservable(source.pipe(trendWindow(options))).toBe(expected, windows);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
    // d (box time 7) arrived after [4,8) was emitted: late, never a second [4,8) window.
    assert.deepEqual(
      late.map((l) => [l.reason, l.message.time, l.windowStartMs]),
      [['window-closed', 7, 4]],
    );
  });

  it('should send messages for closed windows to the late output and count them', async () => {
    const ts = createTestScheduler();
    const metrics = new Metrics();
    const late: LateMessage[] = [];
    const values = { a: m(1, 2, 120), b: m(1, 12, 121), c: m(1, 5, 99), f: m(1, Number.NaN, 99) };
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const windows = { x: w(1, 0, 10, 1, s(120, 120, 120)), y: w(1, 10, 10, 1, s(121, 121, 121)) };
      const source = hot('    --a---------b-cf-|', values);
      const sourceSubs = '    ^----------------!';
      const expected = '      ------------x----(y|)';
      const options = { windowMs: 10, late: { next: (l: LateMessage) => late.push(l) }, metrics, scheduler: ts };
      expectObservable(source.pipe(trendWindow(options))).toBe(expected, windows);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
    assert.deepEqual(late, [
      { reason: 'window-closed', boxId: '1', message: values.c, windowStartMs: 0, closedUpToMs: 12 },
      { reason: 'invalid-time', boxId: '1', message: values.f },
    ]);
    assert.equal(await metrics.value(TREND_LATE_MESSAGES_METRIC, { reason: 'window-closed' }), 1);
    assert.equal(await metrics.value(TREND_LATE_MESSAGES_METRIC, { reason: 'invalid-time' }), 1);
  });

  it('should merge messages trailing by up to allowedLatenessMs into their own window', () => {
    const ts = createTestScheduler();
    const late: LateMessage[] = [];
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      // c (box time 8) arrives after b (12) but within 5 ms of lateness: it joins [0,10).
      // d (16) moves the watermark to 11 and closes [0,10); e (9) is then late.
      const values = { a: m(1, 2, 120), b: m(1, 12, 121), c: m(1, 8, 110), d: m(1, 16, 125), e: m(1, 9, 1) };
      const windows = { x: w(1, 0, 10, 2, s(110, 120, 115)), y: w(1, 10, 10, 2, s(121, 125, 123)) };
      const source = hot('    --a---------bc--d-e-|', values);
      const sourceSubs = '    ^-------------------!';
      const expected = '      ----------------x---(y|)';
      const options = { windowMs: 10, allowedLatenessMs: 5, late: { next: (l: LateMessage) => late.push(l) }, scheduler: ts };
      expectObservable(source.pipe(trendWindow(options))).toBe(expected, windows);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
    assert.deepEqual(
      late.map((l) => l.message.time),
      [9],
    );
  });

  it('should keep interleaved boxes apart and flush them by window start, then numeric box id', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      // Box 10 reaches [10,20) first, but the final flush orders 9 before 10 (not arrival, not "10" < "9").
      const values = { a: m(9, 1, 120), b: m(10, 3, 200), c: m(10, 11, 201), d: m(9, 12, 121) };
      const windows = {
        x: w(10, 0, 10, 1, s(200, 200, 200)),
        z: w(9, 0, 10, 1, s(120, 120, 120)),
        p: w(9, 10, 10, 1, s(121, 121, 121)),
        q: w(10, 10, 10, 1, s(201, 201, 201)),
      };
      const source = hot('    -a-b-------cd--|', values);
      const sourceSubs = '    ^--------------!';
      const expected = '      -----------xz--(pq|)';
      expectObservable(source.pipe(trendWindow({ windowMs: 10, scheduler: ts }))).toBe(expected, windows);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should report thd only for windows where a message carried it', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const values = { a: m(1, 1, 120), b: m(1, 2, 120, 60, 0.02), c: m(1, 3, 120, 60, 0.04), d: m(1, 11, 120) };
      const windows = { x: w(1, 0, 10, 3, s(120, 120, 120), s(0.02, 0.04, 0.03)), y: w(1, 10, 10, 1, s(120, 120, 120)) };
      const source = hot('    -abc-------d-|', values);
      const sourceSubs = '    ^------------!';
      const expected = '      -----------x-(y|)';
      expectObservable(source.pipe(trendWindow({ windowMs: 10, scheduler: ts }))).toBe(expected, windows);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should drop open windows, release timers and forward a source error', () => {
    const ts = createTestScheduler();
    let probe = { count: -1 };
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('    --a---b---#', { a: m(1, 2), b: m(1, 6) });
      const sourceSubs = '    ^---------!';
      const expected = '      ----------#';
      expectObservable(source.pipe(trendWindow({ windowMs: 10, graceMs: 5, scheduler: ts }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      probe = pendingActionsAt(ts, 12); // the silence timer would be due at 17
    });
    assert.equal(probe.count, 0);
  });

  it('should forward an exception thrown by the late observer as an error', () => {
    const ts = createTestScheduler();
    const failure = new Error('late sink failed');
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const values = { a: m(1, 2, 120), b: m(1, 12, 121), c: m(1, 5, 99) };
      const source = hot('    --a---------b-c--|', values);
      const sourceSubs = '    ^-------------!';
      const expected = '      ------------x-#';
      const late = {
        next: () => {
          throw failure;
        },
      };
      expectObservable(source.pipe(trendWindow({ windowMs: 10, late, scheduler: ts }))).toBe(
        expected,
        { x: w(1, 0, 10, 1, s(120, 120, 120)) },
        failure,
      );
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should complete at once on an empty source', () => {
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TriggerMessage>('|');
      const sourceSubs = '                 (^!)';
      const expected = '                   |';
      expectObservable(source.pipe(trendWindow({ scheduler: ts }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should never emit on a never source', () => {
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TriggerMessage>('-');
      const sourceSubs = '                 ^';
      const expected = '                   -';
      expectObservable(source.pipe(trendWindow({ scheduler: ts }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should leave no timer behind after an early unsubscribe', () => {
    const ts = createTestScheduler();
    let probe = { count: -1 };
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('    --a---b-------', { a: m(1, 2), b: m(1, 6) });
      const sourceSubs = '    ^------!';
      const unsub = '         -------!';
      const expected = '      -------';
      expectObservable(source.pipe(trendWindow({ windowMs: 10, graceMs: 5, scheduler: ts })), unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      probe = pendingActionsAt(ts, 12); // the silence timer would be due at 17
    });
    assert.equal(probe.count, 0);
  });

  it('should keep state per subscription', () => {
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      // Same box times for both subscribers: shared state would make the second one's messages late.
      const values = { a: m(1, 1, 120), b: m(1, 3, 122), c: m(1, 11, 119) };
      const windows = { x: w(1, 0, 10, 2, s(120, 122, 121)), y: w(1, 10, 10, 1, s(119, 119, 119)) };
      const source = cold('   -a-b-------c|', values);
      const windows$ = source.pipe(trendWindow({ windowMs: 10, scheduler: ts }));
      expectObservable(windows$).toBe('           -----------x(y|)', windows);
      expectObservable(windows$, '---^').toBe('   --------------x(y|)', windows);
      expectSubscriptions(source.subscriptions).toBe(['^-----------!', '---^-----------!']);
    });
  });

  it('should compute min, max, average and count like a naive per-window reference', () => {
    const message = fc.record({
      id: fc.constantFrom(1, 2, 3),
      dt: fc.integer({ min: 0, max: 25 }),
      rms: fc.float({ min: 1, max: 300, noNaN: true }),
      frequency: fc.float({ min: 40, max: 80, noNaN: true }),
      thd: fc.option(fc.float({ min: Math.fround(0.001), max: 1, noNaN: true }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.array(message, { maxLength: 60 }), (windowMs, drafts) => {
        // Box times never go back within a box, so nothing is late.
        const clock = new Map<number, number>();
        const messages = drafts.map(({ id, dt, rms, frequency, thd }) => {
          const time = (clock.get(id) ?? 1_000) + dt;
          clock.set(id, time);
          return m(id, time, rms, frequency, thd);
        });

        const actual: TrendWindow[] = [];
        from(messages)
          .pipe(trendWindow({ windowMs, scheduler: createTestScheduler() }))
          .subscribe((window) => actual.push(window));

        const groups = new Map<string, TriggerMessage[]>();
        for (const msg of messages) {
          const key = `${msg.id}/${Math.floor(msg.time / windowMs) * windowMs}`;
          groups.set(key, [...(groups.get(key) ?? []), msg]);
        }
        assert.equal(actual.length, groups.size);
        for (const window of actual) {
          const group = groups.get(`${window.boxId}/${window.windowStartMs}`);
          assert.ok(group, `unexpected window ${window.boxId}/${window.windowStartMs}`);
          assert.equal(window.windowEndMs, window.windowStartMs + windowMs);
          assert.equal(window.count, group.length);
          assertStats(window.voltage, group.map((g) => g.rms));
          assertStats(window.frequency, group.map((g) => g.frequency));
          const thds = group.flatMap((g) => (g.thd === undefined ? [] : [g.thd]));
          if (thds.length === 0) assert.equal('thd' in window, false);
          else assertStats(window.thd, thds);
        }
      }),
    );
  });

  describe('robust event time per box', () => {
    // windowMs 10, a jump of more than 20 ms is held, 3 agreeing messages make a clock change.
    const clock = { windowMs: 10, maxTimeJumpMs: 20, clockChangeAfter: 3 };

    it('should refuse a lone timestamp far ahead as outlier-time once the box clock speaks again', () => {
      const ts = createTestScheduler();
      const late: LateMessage[] = [];
      ts.run(({ hot, expectObservable, expectSubscriptions }) => {
        const values = { a: m(1, 1, 120), o: m(1, 500, 1), b: m(1, 3, 122), c: m(1, 12, 121) };
        const windows = { x: w(1, 0, 10, 2, s(120, 122, 121)), y: w(1, 10, 10, 1, s(121, 121, 121)) };
        const source = hot('    -a-o-b-c-----|', values);
        const sourceSubs = '    ^------------!';
        const expected = '      -------x-----(y|)';
        const options = { ...clock, late: { next: (l: LateMessage) => late.push(l) }, scheduler: ts };
        expectObservable(source.pipe(trendWindow(options))).toBe(expected, windows);
        expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      });
      assert.deepEqual(late, [{ reason: 'outlier-time', boxId: '1', message: m(1, 500, 1), windowStartMs: 500, boxClockMs: 1 }]);
    });

    it('should keep every later trend complete after one message 6 days ahead (then 300 normal ones)', async () => {
      const T0 = 1_546_300_800_000; // a whole minute
      const sixDays = 6 * 24 * 3600 * 1000;
      const metrics = new Metrics();
      // Two boxes, one message a second each: 5 complete minutes. Box 1's 11th message is stamped 6 days ahead.
      const messages: TriggerMessage[] = [];
      for (let k = 0; k < 300; k++) {
        for (const box of [1, 2]) messages.push(m(box, T0 + k * 1000, 120 + (k % 3)));
        if (k === 10) messages.push(m(1, T0 + sixDays + 10_000, 999));
      }
      const windows: TrendWindow[] = [];
      const late: LateMessage[] = [];
      const ts = createTestScheduler();
      ts.run(({ cold, expectObservable }) => {
        const output = from(messages).pipe(trendWindow({ windowMs: 60_000, late: { next: (l) => late.push(l) }, metrics, scheduler: ts }));
        output.subscribe((window) => windows.push(window));
        expectObservable(cold('|')).toBe('|'); // the run flushes the virtual scheduler
      });
      assert.deepEqual(
        windows.map((x) => [x.boxId, (x.windowStartMs - T0) / 60_000, x.count, x.voltage?.max]),
        [0, 1, 2, 3, 4].flatMap((minute) => [
          ['1', minute, 60, 122],
          ['2', minute, 60, 122],
        ]),
        'every minute of both boxes complete, the outlier in none',
      );
      assert.deepEqual(late.map((l) => [l.reason, l.message.time]), [['outlier-time', T0 + sixDays + 10_000]]);
      assert.equal(await metrics.value(TREND_LATE_MESSAGES_METRIC, { reason: 'outlier-time' }), 1);
      assert.equal(await metrics.value(TREND_LATE_MESSAGES_METRIC, { reason: 'window-closed' }), 0);
    });

    it('should accept a sustained step back as a clock change, losing only clockChangeAfter - 1 messages', () => {
      const ts = createTestScheduler();
      const late: LateMessage[] = [];
      ts.run(({ hot, expectObservable, expectSubscriptions }) => {
        // The clock steps back from 115 to 41: e, f are refused, g (the third agreeing one) is a clock change.
        const values = { a: m(1, 101), b: m(1, 105), c: m(1, 112), d: m(1, 115), e: m(1, 41), f: m(1, 43), g: m(1, 45), h: m(1, 52), i: m(1, 55) };
        const windows = {
          x: w(1, 100, 10, 2, s(120, 120, 120)), // a, b; closed by c
          y: w(1, 110, 10, 2, s(120, 120, 120)), // c, d; emitted at the step back
          z: w(1, 40, 10, 1, s(120, 120, 120)), // g; closed by h
          v: w(1, 50, 10, 2, s(120, 120, 120)), // h, i; flushed on complete
        };
        const source = hot('    -a-b-c-d-e-f-g-h-i-|', values);
        const sourceSubs = '    ^------------------!';
        const expected = '      -----x-------y-z---(v|)';
        const options = { ...clock, late: { next: (l: LateMessage) => late.push(l) }, scheduler: ts };
        expectObservable(source.pipe(trendWindow(options))).toBe(expected, windows);
        expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      });
      assert.deepEqual(late.map((l) => [l.reason, l.message.time]), [['window-closed', 41], ['window-closed', 43]]);
    });

    it('should not take lone late messages for a step back', () => {
      const ts = createTestScheduler();
      const late: LateMessage[] = [];
      ts.run(({ hot, expectObservable }) => {
        // e and f are late but never 3 in a row: the box's clock stays where it is.
        const values = { a: m(1, 101), b: m(1, 112), e: m(1, 41), c: m(1, 113), f: m(1, 42), d: m(1, 114) };
        const windows = { x: w(1, 100, 10, 1, s(120, 120, 120)), y: w(1, 110, 10, 3, s(120, 120, 120)) };
        const source = hot('    -a-b-e-c-f-d-|', values);
        expectObservable(source.pipe(trendWindow({ ...clock, late: { next: (l) => late.push(l) }, scheduler: ts }))).toBe('---x---------(y|)', windows);
      });
      assert.deepEqual(late.map((l) => [l.reason, l.message.time]), [['window-closed', 41], ['window-closed', 42]]);
    });

    it('should accept a sustained step forward after clockChangeAfter agreeing messages, closing the windows before it', () => {
      const ts = createTestScheduler();
      const late: LateMessage[] = [];
      ts.run(({ hot, expectObservable, expectSubscriptions }) => {
        // c, d, e jump 500 ahead: held until e agrees, then merged, closing [0,10).
        const values = { a: m(1, 1, 120), b: m(1, 3, 122), c: m(1, 500, 110), d: m(1, 502, 112), e: m(1, 504, 114), f: m(1, 512, 119) };
        const windows = {
          x: w(1, 0, 10, 2, s(120, 122, 121)),
          y: w(1, 500, 10, 3, s(110, 114, 112)),
          z: w(1, 510, 10, 1, s(119, 119, 119)),
        };
        const source = hot('    -a-b-c-d-e-f-|', values);
        const sourceSubs = '    ^------------!';
        const expected = '      ---------x-y-(z|)';
        const options = { ...clock, late: { next: (l: LateMessage) => late.push(l) }, scheduler: ts };
        expectObservable(source.pipe(trendWindow(options))).toBe(expected, windows);
        expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      });
      assert.deepEqual(late, [], 'nothing lost');
    });

    it('should trend every in-order message exactly as without outliers, whatever lone outliers ahead come between them', () => {
      const traffic = fc.record({
        steps: fc.array(fc.record({ id: fc.constantFrom(1, 2), dt: fc.integer({ min: 0, max: 400 }), outlier: fc.option(fc.integer({ min: 61_000, max: 7 * 86_400_000 }), { nil: undefined }) }), { maxLength: 80 }),
      });
      fc.assert(
        fc.property(traffic, ({ steps }) => {
          const clock = new Map<number, number>();
          const normal: TriggerMessage[] = [];
          const all: TriggerMessage[] = [];
          for (const { id, dt, outlier } of steps) {
            const time = (clock.get(id) ?? 1_000_000) + dt;
            clock.set(id, time);
            const message = m(id, time, 100 + (time % 50));
            normal.push(message);
            all.push(message);
            // Each outlier follows a normal message of its box: a lone bad timestamp, never a clock change.
            if (outlier !== undefined) all.push(m(id, time + outlier, 999));
          }
          const run = (messages: readonly TriggerMessage[]) => {
            const windows: TrendWindow[] = [];
            const late: LateMessage[] = [];
            from(messages)
              .pipe(trendWindow({ windowMs: 1000, late: { next: (l) => late.push(l) }, scheduler: createTestScheduler() }))
              .subscribe((window) => windows.push(window));
            return { windows, late };
          };
          const clean = run(normal);
          const noisy = run(all);
          assert.deepEqual(noisy.windows, clean.windows, 'the same trends as without the outliers');
          assert.ok(noisy.late.every((l) => l.reason === 'outlier-time' && l.message.rms === 999), 'only the outliers refused');
          assert.equal(noisy.late.length, all.length - normal.length);
        }),
      );
    });

    it('should start a new candidate run when a held message agrees with neither clock, and refuse what is held at the end', () => {
      const ts = createTestScheduler();
      const late: LateMessage[] = [];
      ts.run(({ hot, expectObservable }) => {
        // o (500) is held; p (900) agrees with neither the box (3) nor o: o is refused, p held; the stream ends.
        const values = { a: m(1, 1), b: m(1, 3), o: m(1, 500), p: m(1, 900) };
        const source = hot('    -a-b-o-p-|', values);
        expectObservable(source.pipe(trendWindow({ ...clock, late: { next: (l) => late.push(l) }, scheduler: ts }))).toBe('---------(x|)', {
          x: w(1, 0, 10, 2, s(120, 120, 120)),
        });
      });
      assert.deepEqual(late.map((l) => [l.reason, l.message.time]), [['outlier-time', 500], ['outlier-time', 900]]);
    });
  });

  it('should refuse bad options with the field path', () => {
    const cases: Array<[Parameters<typeof trendWindow>[0], string]> = [
      [{ windowMs: 0 }, 'windowMs'],
      [{ windowMs: -60_000 }, 'windowMs'],
      [{ windowMs: 1.5 }, 'windowMs'],
      [{ windowMs: Number.NaN }, 'windowMs'],
      [{ graceMs: -1 }, 'graceMs'],
      [{ graceMs: Infinity }, 'graceMs'],
      [{ allowedLatenessMs: -1 }, 'allowedLatenessMs'],
      [{ maxTimeJumpMs: 0 }, 'maxTimeJumpMs'],
      [{ maxTimeJumpMs: Number.NaN }, 'maxTimeJumpMs'],
      [{ clockChangeAfter: 1 }, 'clockChangeAfter'],
      [{ clockChangeAfter: 2.5 }, 'clockChangeAfter'],
    ];
    for (const [options, path] of cases) {
      assert.throws(() => trendWindow(options), (e: unknown) => e instanceof ConfigError && e.path === path, path);
    }
  });
});

function assertStats(actual: TrendStats | undefined, values: readonly number[]): void {
  assert.ok(actual);
  assert.equal(actual.min, Math.min(...values));
  assert.equal(actual.max, Math.max(...values));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  assert.ok(Math.abs(actual.average - mean) <= 1e-9 * Math.abs(mean), `average ${actual.average} vs ${mean}`);
  assert.ok(actual.min <= actual.average && actual.average <= actual.max);
}
