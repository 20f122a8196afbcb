import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import type { MeasurementDoc } from '../../src/protocol/documents.js';
import { MAX_MEASUREMENT_TTL_MS, toMeasurementDocs } from '../../src/operators/to-measurement-doc.js';
import { createTestScheduler } from '../helpers/test-scheduler.js';

const T0 = 1_546_300_800_000;
const messages: Record<string, TriggerMessage> = {
  a: { id: 1001, time: T0 + 5, rms: 119.5, frequency: 59.99, thd: 0.02 },
  b: { id: 7, time: T0 + 172, rms: 120.25, frequency: 60.01 },
};
/** The document of `messages.a`, expiring at `expireAtMs` on the virtual clock. */
const docA = (expireAtMs: number): MeasurementDoc => ({
  box_id: '1001',
  timestamp_ms: T0 + 5,
  voltage: 119.5,
  frequency: 59.99,
  expireAt: new Date(expireAtMs),
  thd: 0.02,
});

describe('toMeasurementDocs', () => {
  it('should stamp expireAt from the scheduler clock and keep the box timestamp', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, time, expectObservable, expectSubscriptions }) => {
      const ttlMs = time('     ----------|');
      const source = hot('     --a---b--|', messages);
      const sourceSubs = '     ^--------!';
      const expected = '       --x---y--|';
      const docs: Record<string, MeasurementDoc> = {
        x: docA(2 + 10),
        y: { box_id: '7', timestamp_ms: T0 + 172, voltage: 120.25, frequency: 60.01, expireAt: new Date(6 + 10) },
      };
      expectObservable(source.pipe(toMeasurementDocs({ ttlMs, scheduler: ts }))).toBe(expected, docs);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should forward a source error', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('     --a-#', messages);
      const sourceSubs = '     ^---!';
      const expected = '       --x-#';
      expectObservable(source.pipe(toMeasurementDocs({ scheduler: ts }))).toBe(expected, { x: docA(2 + 86_400_000) });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should complete at once on an empty source and stay silent on a never source', () => {
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold<TriggerMessage>('|');
      const never = cold<TriggerMessage>('-');
      expectObservable(empty.pipe(toMeasurementDocs({ scheduler: ts }))).toBe('|');
      expectObservable(never.pipe(toMeasurementDocs({ scheduler: ts }))).toBe('-');
      expectSubscriptions(empty.subscriptions).toBe('(^!)');
      expectSubscriptions(never.subscriptions).toBe('^');
    });
  });

  it('should unsubscribe from the source on early unsubscribe', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('     --a---b--|', messages);
      const sourceSubs = '     ^----!';
      const unsub = '          -----!';
      const expected = '       --x---';
      expectObservable(source.pipe(toMeasurementDocs({ ttlMs: 1, scheduler: ts })), unsub).toBe(expected, { x: docA(2 + 1) });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should refuse, when built, a TTL that would make expireAt an invalid date', () => {
    for (const ttlMs of [1e300, Number.POSITIVE_INFINITY, -1, MAX_MEASUREMENT_TTL_MS + 1]) {
      assert.throws(() => toMeasurementDocs({ ttlMs }), (e: unknown) => e instanceof ConfigError && e.path === 'ttlMs', String(ttlMs));
    }
    assert.doesNotThrow(() => toMeasurementDocs({ ttlMs: MAX_MEASUREMENT_TTL_MS }));
  });
});
