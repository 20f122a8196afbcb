import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asyncScheduler } from 'rxjs';
import { RetryAbortedError, retryStoreCall } from '../../../src/brokers/retry-store-call.js';
import { StoreError } from '../../../src/core/errors.js';

const locked = () => new StoreError('insertEvent', 'database is locked', true);

describe('retryStoreCall', () => {
  it('should retry retryable failures with back-off until the call succeeds', async () => {
    let calls = 0;
    const backoffs: number[] = [];
    const result = await retryStoreCall(() => (++calls < 4 ? Promise.reject(locked()) : Promise.resolve('ok')), {
      initialBackoffMs: 1,
      limitMs: 5_000,
      scheduler: asyncScheduler,
      onRetry: (_error, _attempt, backoff) => backoffs.push(backoff),
    });
    assert.equal(result, 'ok');
    assert.equal(calls, 4);
    assert.deepEqual(backoffs, [1, 2, 4]);
  });

  it('should rethrow a non-retryable failure at once', async () => {
    let calls = 0;
    const refused = new StoreError('insertEvent', 'document refused', false);
    await assert.rejects(
      retryStoreCall(() => (calls++, Promise.reject(refused)), { initialBackoffMs: 1, limitMs: 5_000, scheduler: asyncScheduler }),
      (error: unknown) => error === refused,
    );
    assert.equal(calls, 1);
  });

  it('should give up with the last error once the time limit would be passed', async () => {
    let calls = 0;
    await assert.rejects(
      retryStoreCall(() => (calls++, Promise.reject(locked())), { initialBackoffMs: 10, limitMs: 25, scheduler: asyncScheduler }),
      (error: unknown) => error instanceof StoreError && error.retryable,
    );
    // 10 ms, then 20 ms would end past 25 ms: two attempts.
    assert.equal(calls, 2);
  });

  it('should stop waiting when aborted', async () => {
    const abort = new AbortController();
    const pending = retryStoreCall(() => Promise.reject(locked()), {
      initialBackoffMs: 60_000,
      limitMs: 600_000,
      scheduler: asyncScheduler,
      signal: abort.signal,
      onRetry: () => queueMicrotask(() => abort.abort()),
    });
    await assert.rejects(pending, (error: unknown) => error instanceof RetryAbortedError);
  });
});
