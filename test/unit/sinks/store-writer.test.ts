import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject, asyncScheduler, lastValueFrom, toArray } from 'rxjs';
import { StoreError } from '../../../src/core/errors.js';
import { RecordingLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/core/metrics.js';
import { storeWriter } from '../../../src/sinks/store-writer.js';

// Store writes are Promises, which escape virtual time; these tests run on the async scheduler
// with 1 ms back-off and synchronise on completion, never on elapsed time.

function setup(write: (batch: readonly number[]) => Promise<void>, extra: { maxQueuedItems?: number; overflow?: 'drop-oldest' | 'keep' } = {}) {
  const metrics = new Metrics();
  const logger = new RecordingLogger();
  const input = new Subject<readonly number[]>();
  const output = lastValueFrom(
    input.pipe(
      storeWriter({
        name: 'measurements',
        write,
        maxQueuedItems: extra.maxQueuedItems ?? 1000,
        overflow: extra.overflow ?? 'drop-oldest',
        initialBackoffMs: 1,
        maxBackoffMs: 2,
        scheduler: asyncScheduler,
        logger,
        metrics,
      }),
      toArray(),
    ),
  );
  return { metrics, logger, input, output };
}

describe('storeWriter', () => {
  it('should write every batch in order and complete after the input completes', async () => {
    const stored: number[] = [];
    const { input, output, metrics } = setup(async (batch) => void stored.push(...batch));
    input.next([1, 2]);
    input.next([]);
    input.next([3]);
    input.complete();
    assert.deepEqual(await output, [2, 1]);
    assert.deepEqual(stored, [1, 2, 3]);
    assert.equal(await metrics.value('makai_store_written_total', { collection: 'measurements' }), 3);
  });

  it('should keep and retry a batch while the store is unreachable, losing nothing', async () => {
    const stored: number[] = [];
    let failuresLeft = 3;
    const { input, output, metrics, logger } = setup(async (batch) => {
      if (failuresLeft-- > 0) throw new StoreError('insert', 'connection refused', true);
      stored.push(...batch);
    });
    input.next([1]);
    input.next([2, 3]);
    input.complete();
    await output;
    assert.deepEqual(stored, [1, 2, 3]);
    assert.equal(await metrics.value('makai_store_write_failures_total', { retryable: 'true' }), 3);
    // One warning for the outage, one note for the recovery: not one line per retry.
    assert.equal(logger.records.filter((r) => r.level === 'warn').length, 1);
    assert.equal(logger.records.filter((r) => r.msg === 'store writes recovered').length, 1);
  });

  it('should skip a batch the store refuses and go on with the next', async () => {
    const stored: number[] = [];
    const { input, output, metrics, logger } = setup(async (batch) => {
      if (batch.includes(666)) throw new StoreError('insert', 'document invalid', false);
      stored.push(...batch);
    });
    input.next([1]);
    input.next([666]);
    input.next([2]);
    input.complete();
    await output;
    assert.deepEqual(stored, [1, 2]);
    assert.equal(await metrics.value('makai_store_write_failures_total', { retryable: 'false' }), 1);
    assert.match(String(logger.records.find((r) => r.level === 'error')?.['error']), /document invalid/);
  });

  it('should drop the oldest queued items, never the batch in flight, when the queue is full', async () => {
    const stored: number[] = [];
    let release!: () => void;
    const firstWrite = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const { input, output, metrics } = setup(
      async (batch) => {
        if (calls++ === 0) await firstWrite;
        stored.push(...batch);
      },
      { maxQueuedItems: 4 },
    );
    input.next([1, 2]); // in flight until released
    input.next([3, 4]);
    input.next([5, 6]); // queue now holds 6 > 4: items 3 and 4 go
    release();
    input.complete();
    await output;
    assert.deepEqual(stored, [1, 2, 5, 6]);
    assert.equal(await metrics.value('makai_store_dropped_total', { collection: 'measurements' }), 2);
  });

  it('should keep everything past the cap when overflow is keep', async () => {
    const stored: number[] = [];
    let release!: () => void;
    const firstWrite = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const { input, output, metrics } = setup(
      async (batch) => {
        if (calls++ === 0) await firstWrite;
        stored.push(...batch);
      },
      { maxQueuedItems: 1, overflow: 'keep' },
    );
    input.next([1]);
    input.next([2]);
    input.next([3]);
    release();
    input.complete();
    await output;
    assert.deepEqual(stored, [1, 2, 3]);
    assert.equal(await metrics.value('makai_store_dropped_total'), 0);
  });
});
