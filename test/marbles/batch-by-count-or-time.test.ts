import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject } from 'rxjs';
import { ConfigError } from '../../src/core/errors.js';
import { batchByCountOrTime } from '../../src/operators/batch-by-count-or-time.js';
import { createTestScheduler, pendingActionsAt } from '../helpers/test-scheduler.js';

describe('batchByCountOrTime', () => {
  it('should emit on maxCount or maxDelayMs after the first item, and flush the tail on complete', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, time, expectObservable, expectSubscriptions }) => {
      const maxDelayMs = time('  ----|');
      const source = hot('       -a-b-c---d------e-f|');
      const sourceSubs = '       ^------------------!';
      const expected = '         -----x-------y-----(z|)';
      const batches = { x: ['a', 'b', 'c'], y: ['d'], z: ['e', 'f'] };
      expectObservable(source.pipe(batchByCountOrTime({ maxCount: 3, maxDelayMs, scheduler: ts }))).toBe(expected, batches);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should start the timer at the first item of a batch, not at subscription', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('       ------a-b-------');
      const sourceSubs = '       ^---------------';
      const expected = '         ----------x-----';
      expectObservable(source.pipe(batchByCountOrTime({ maxCount: 10, maxDelayMs: 4, scheduler: ts }))).toBe(expected, {
        x: ['a', 'b'],
      });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should cancel the timer of a batch that filled up, so the next batch gets its own', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      // The timer of a (due at 4) must not cut d's batch short; d's own timer is due at 8.
      const source = hot('       abc-d-------');
      const sourceSubs = '       ^-----------';
      const expected = '         --x-----y---';
      expectObservable(source.pipe(batchByCountOrTime({ maxCount: 3, maxDelayMs: 4, scheduler: ts }))).toBe(expected, {
        x: ['a', 'b', 'c'],
        y: ['d'],
      });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should emit every item at once with maxCount 1', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('       -a-b-|');
      const sourceSubs = '       ^----!';
      const expected = '         -x-y-|';
      expectObservable(source.pipe(batchByCountOrTime({ maxCount: 1, scheduler: ts }))).toBe(expected, { x: ['a'], y: ['b'] });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should never emit an empty batch', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      // A quiet stream has no ticks, and the complete right after a timed flush adds nothing.
      const source = hot('       -a---------------|');
      const sourceSubs = '       ^----------------!';
      const expected = '         -----x-----------|';
      expectObservable(source.pipe(batchByCountOrTime({ maxCount: 5, maxDelayMs: 4, scheduler: ts }))).toBe(expected, { x: ['a'] });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should drop the pending batch and forward a source error', () => {
    const ts = createTestScheduler();
    let probe = { count: -1 };
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('       -a-b-#');
      const sourceSubs = '       ^----!';
      const expected = '         -----#';
      expectObservable(source.pipe(batchByCountOrTime({ maxCount: 5, maxDelayMs: 10, scheduler: ts }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      probe = pendingActionsAt(ts, 7); // the timer of a would be due at 11
    });
    assert.equal(probe.count, 0);
  });

  it('should complete at once on an empty source', () => {
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<string>('|');
      const sourceSubs = '        (^!)';
      const expected = '          |';
      expectObservable(source.pipe(batchByCountOrTime({ maxCount: 2, scheduler: ts }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should never emit on a never source', () => {
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<string>('-');
      const sourceSubs = '        ^';
      const expected = '          -';
      expectObservable(source.pipe(batchByCountOrTime({ maxCount: 2, scheduler: ts }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should leave no timer behind after an early unsubscribe', () => {
    const ts = createTestScheduler();
    let probe = { count: -1 };
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('       -a-b-----');
      const sourceSubs = '       ^--!';
      const unsub = '            ---!';
      const expected = '         ---';
      expectObservable(source.pipe(batchByCountOrTime({ maxCount: 5, maxDelayMs: 4, scheduler: ts })), unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      probe = pendingActionsAt(ts, 4); // the timer of a would be due at 5
    });
    assert.equal(probe.count, 0);
  });

  it('should keep state per subscription', () => {
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('      -a-b-c|');
      const batches$ = source.pipe(batchByCountOrTime({ maxCount: 2, scheduler: ts }));
      expectObservable(batches$).toBe('         ---x--(y|)', { x: ['a', 'b'], y: ['c'] });
      expectObservable(batches$, '--^').toBe(' -----x--(y|)', { x: ['a', 'b'], y: ['c'] });
      expectSubscriptions(source.subscriptions).toBe(['^-----!', '--^-----!']);
    });
  });

  it('should start a new batch for items pushed re-entrantly while a batch is emitted', () => {
    const ts = createTestScheduler();
    const subject = new Subject<number>();
    const batches: number[][] = [];
    subject.pipe(batchByCountOrTime({ maxCount: 2, scheduler: ts })).subscribe((batch) => {
      batches.push(batch);
      if (batch[0] === 1) subject.next(99);
    });
    subject.next(1);
    subject.next(2);
    subject.complete();
    assert.deepEqual(batches, [[1, 2], [99]]);
  });

  it('should refuse bad options with the field path', () => {
    const cases: Array<[Parameters<typeof batchByCountOrTime>[0], string]> = [
      [{ maxCount: 0 }, 'maxCount'],
      [{ maxCount: 1.5 }, 'maxCount'],
      [{ maxCount: Number.NaN }, 'maxCount'],
      [{ maxCount: 10, maxDelayMs: 0 }, 'maxDelayMs'],
      [{ maxCount: 10, maxDelayMs: -5 }, 'maxDelayMs'],
      [{ maxCount: 10, maxDelayMs: Infinity }, 'maxDelayMs'],
    ];
    for (const [options, path] of cases) {
      assert.throws(() => batchByCountOrTime(options), (e: unknown) => e instanceof ConfigError && e.path === path, path);
    }
  });
});
