import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';

/**
 * A fresh marble-test scheduler per test, comparing with deep strict equality (`node:assert`),
 * so a failing marble test prints the frames that differ. Run everything inside
 * `scheduler.run(...)` and pass the scheduler to the plugin or operator under test too, so its
 * timers run in virtual time.
 *
 * ```ts
 * const ts = createTestScheduler();
 * ts.run(({ hot, expectObservable }) => {
 *   expectObservable(hot('-a-b|', values).pipe(myPlugin(settings, { ...context, scheduler: ts }))).toBe('---r|', expected);
 * });
 * ```
 */
export function createTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
}

/**
 * Counts the scheduler actions still queued at `frame` (the probe itself is dequeued when it runs),
 * to check that an operator leaves no timer behind. Read `count` after `run()` or a later frame.
 */
export function pendingActionsAt(ts: TestScheduler, frame: number): { count: number } {
  const probe = { count: -1 };
  ts.schedule(() => {
    probe.count = ts.actions.length;
  }, frame);
  return probe;
}
