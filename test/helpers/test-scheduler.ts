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
