import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';

/**
 * A fresh marble-test scheduler per test, comparing with deep strict equality. Use everything
 * inside `scheduler.run(...)` and still pass the scheduler to the operator under test, so the
 * injection point is exercised too.
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
