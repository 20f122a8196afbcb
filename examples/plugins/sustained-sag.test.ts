/** A marble test of the example plugin, in virtual time, with the helpers of `makai/testing`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestScheduler, eventRequest, RecordingLogger, staticBoxDirectory, triggerMessage } from 'makai/testing';
import sustainedSag from './sustained-sag.js';

const context = (scheduler: ReturnType<typeof createTestScheduler>) => ({
  name: 'sustained-sag',
  logger: new RecordingLogger(),
  scheduler,
  boxes: staticBoxDirectory([]),
});

describe('sustained-sag', () => {
  it('should report a sag of three messages once, when the box recovers', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable }) => {
      const values = {
        n: triggerMessage({ time: 0 }),
        a: triggerMessage({ time: 167, rms: 100 }),
        b: triggerMessage({ time: 333, rms: 96 }),
        c: triggerMessage({ time: 500, rms: 104 }),
        r: triggerMessage({ time: 667 }),
      };
      const expected = {
        q: eventRequest({
          startTimestampMsUtc: 167,
          endTimestampMsUtc: 667,
          percentMagnitude: 20,
          boxIds: [1001],
          requestee: 'sustained-sag',
          description: 'voltage below 108 V for 3 measurements',
        }),
      };
      const plugin = sustainedSag({ plugin: 'sustained-sag' }, context(ts));
      expectObservable(hot('-nabcr|', values).pipe(plugin)).toBe('-----q|', expected);
    });
  });

  it('should ignore a dip shorter than minMessages and keep boxes apart', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable }) => {
      const values = {
        a: triggerMessage({ id: 1, time: 0, rms: 90 }),
        b: triggerMessage({ id: 2, time: 0, rms: 90 }),
        c: triggerMessage({ id: 1, time: 167 }),
        d: triggerMessage({ id: 2, time: 167, rms: 90 }),
        e: triggerMessage({ id: 2, time: 333 }),
      };
      const plugin = sustainedSag({ minMessages: 2 }, context(ts));
      expectObservable(hot('-abcde|', values).pipe(plugin)).toBe('-----q|', {
        q: eventRequest({ startTimestampMsUtc: 0, endTimestampMsUtc: 333, percentMagnitude: 25, boxIds: [2], requestee: 'sustained-sag', description: 'voltage below 108 V for 2 measurements' }),
      });
    });
  });

  it('should refuse a misspelt or out-of-range setting, naming it', () => {
    const ts = createTestScheduler();
    assert.throws(() => sustainedSag({ sagPercnt: 10 }, context(ts)), /sagPercnt: unknown setting/);
    assert.throws(() => sustainedSag({ sagPercent: 150 }, context(ts)), /sagPercent: must be a percentage/);
  });
});
