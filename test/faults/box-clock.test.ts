import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { TriggerFeed, makaiSettings, recentT0, startServiceUnderTest, triggerFrames, validTrigger, waitUntil } from '../helpers/fault-harness.js';
import { createTempDir } from '../helpers/temp-dir.js';

// Box clocks, as the triggering service sees them (default topology, 1 s trend windows, real
// sockets and SQLite): one message 6 days ahead (inside the decoder's 7-day skew limit) must
// not close the box's windows, and a box whose clock steps back must keep its trends after a
// few messages (docs/reliability.md, "Box clocks").

const DAY_MS = 24 * 3600 * 1000;

describe('box clocks (triggering service)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Runs the service, sends `messages` in order, stops it, and returns each box's trends as [window start − t0 in s, count]. */
  async function trendsAfter(name: string, messages: readonly TriggerMessage[], t0: number) {
    const dir = await createTempDir(`makai-faults-${name}-`);
    cleanups.push(() => dir.remove());
    const feed = await TriggerFeed.bind();
    cleanups.push(() => feed.close());
    const settings = makaiSettings({ zmq_trigger_endpoint: feed.endpoint, measurement_batch_size: 50, measurement_flush: '100ms' });
    const { service, metrics } = await startServiceUnderTest({ settings, storeUri: `sqlite:${dir.file('makai.db')}`, baseDir: dir.path });
    cleanups.push(async () => void (await service.stop()));
    await feed.whenSubscribed();
    for (const message of messages) await feed.send(triggerFrames(message));
    await waitUntil(async () => (await metrics.value('makai_store_written_total', { collection: 'measurements' })) === messages.length, 'every measurement written', {
      describe: () => metrics.value('makai_store_written_total'),
    });
    assert.equal(await service.stop(), true, 'stopped cleanly');
    const store = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      const byBox = new Map<string, [number, number][]>();
      for (const box of ['1', '2']) {
        byBox.set(box, (await store.queryTrends({ box_id: box })).map((t) => [(t.window_start_ms - t0) / 1000, t.count]));
      }
      return { byBox, late: (reason: string) => metrics.value('makai_trend_late_messages_total', { reason }) };
    } finally {
      await store.close();
    }
  }

  const complete = (windows: number, from = 0): [number, number][] => Array.from({ length: windows }, (_, s) => [from + s, 6]);

  it('should keep every later trend complete after one message 6 days ahead', async () => {
    const t0 = recentT0();
    const messages: TriggerMessage[] = [];
    for (let k = 0; k < 60; k++) {
      for (const box of [1, 2]) messages.push(validTrigger(box, k, t0));
      if (k === 10) messages.push({ ...validTrigger(1, k, t0), time: t0 + 6 * DAY_MS });
    }
    const { byBox, late } = await trendsAfter('outlier', messages, t0);
    assert.deepEqual(byBox.get('1'), complete(10), 'box 1: all 10 windows complete, the outlier in none');
    assert.deepEqual(byBox.get('2'), complete(10));
    assert.equal(await late('outlier-time'), 1);
    assert.equal(await late('window-closed'), 0, 'no correct message refused');
  });

  it('should take a clock stepped back an hour as a clock change, losing only its first few messages', async () => {
    const t0 = recentT0(90);
    const hour = 3600 * 1000;
    const messages: TriggerMessage[] = [];
    // Box 1's clock steps back by an hour after 5 s (k = 30), box 2's does not.
    for (let k = 0; k < 60; k++) {
      messages.push(k < 30 ? validTrigger(1, k, t0 + hour) : validTrigger(1, k, t0));
      messages.push(validTrigger(2, k, t0 + hour));
    }
    const { byBox, late } = await trendsAfter('step-back', messages, t0);
    // Windows 3600-3604 before the step; after it, window 5 lost the step's first 4 messages
    // (clockChangeAfter 5), windows 6-9 are complete.
    assert.deepEqual(byBox.get('1'), [[5, 2], ...complete(4, 6), ...complete(5, 3600)]);
    assert.deepEqual(byBox.get('2'), complete(10, 3600));
    assert.equal(await late('window-closed'), 4);
  });
});
