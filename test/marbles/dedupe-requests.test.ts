import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { Metrics } from '../../src/core/metrics.js';
import type { RequestEventMessage } from '../../src/protocol/messages.js';
import { DEDUPE_REQUESTS_METRIC, dedupeRequests } from '../../src/operators/dedupe-requests.js';
import type { RejectedRequest } from '../../src/operators/dedupe-requests.js';
import { eventRequest } from '../helpers/messages.js';
import { createTestScheduler } from '../helpers/test-scheduler.js';

/** Only the range and requestData matter to dedupeRequests; the rest is forwarded as is. */
const req = (start: number, end: number, requestData = true): RequestEventMessage =>
  eventRequest({ startTimestampMsUtc: start, endTimestampMsUtc: end, requestData });

const T0 = 1_546_300_800_000;

describe('dedupeRequests', () => {
  it('should forward every request and clear requestData when its range was already requested', async () => {
    const ts = createTestScheduler();
    const metrics = new Metrics();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      // Starts below the 30 min expiry: the original's u64 `start - 1_800_000` wrapped and
      // cleared its cache here (release build), so it would have re-requested b and d.
      const values = { a: req(1000, 2000), b: req(1200, 1800), c: req(1500, 2500), d: req(1200, 2400) };
      const source = hot('     --a--b--c--d--|', values);
      const sourceSubs = '     ^-------------!';
      const expected = '       --a--B--c--D--|';
      const out = { a: values.a, B: req(1200, 1800, false), c: values.c, D: req(1200, 2400, false) };
      expectObservable(source.pipe(dedupeRequests({ metrics, scheduler: ts }))).toBe(expected, out);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
    assert.equal(await metrics.value(DEDUPE_REQUESTS_METRIC, { outcome: 'fresh' }), 2);
    assert.equal(await metrics.value(DEDUPE_REQUESTS_METRIC, { outcome: 'covered' }), 2);
  });

  it("should keep a plugin's requestData false and not count its range as requested", () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      // Original: a forwarded with requestData true (overwritten), then b false.
      const values = { a: req(T0, T0 + 2000, false), b: req(T0 + 500, T0 + 1500) };
      const source = hot('     -a-b-|', values);
      const sourceSubs = '     ^----!';
      const expected = '       -a-b-|';
      expectObservable(source.pipe(dedupeRequests())).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should forget ranges that ended more than expirationMs before a request starts', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      // expirationMs 1000. b starts at 2999: horizon 1999, a (ends 2000) is kept, so c is covered.
      // d starts at 3001: horizon 2001, a is forgotten, so e (same range as c) is fresh again.
      const values = {
        a: req(T0 + 1000, T0 + 2000),
        b: req(T0 + 2999, T0 + 3100),
        c: req(T0 + 1500, T0 + 1900),
        d: req(T0 + 3001, T0 + 3200),
        e: req(T0 + 1500, T0 + 1900),
      };
      const source = hot('     -a-b-c-d-e-|', values);
      const sourceSubs = '     ^----------!';
      const expected = '       -a-b-C-d-e-|';
      const out = { ...values, C: req(T0 + 1500, T0 + 1900, false) };
      expectObservable(source.pipe(dedupeRequests({ expirationMs: 1000 }))).toBe(expected, out);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should refuse invalid ranges: counted, sent to the rejected output, not forwarded', async () => {
    const ts = createTestScheduler();
    const metrics = new Metrics();
    const rejected: RejectedRequest[] = [];
    const values = { a: req(T0 + 2000, T0 + 1000), b: req(Number.NaN, T0), c: req(T0, T0 + 1000), d: req(-5, 10) };
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('     -a-b-c-d-|', values);
      const sourceSubs = '     ^--------!';
      const expected = '       -----c---|';
      const options = { metrics, rejected: { next: (r: RejectedRequest) => rejected.push(r) } };
      expectObservable(source.pipe(dedupeRequests(options))).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
    assert.deepEqual(rejected, [
      { reason: 'invalid-interval', request: values.a },
      { reason: 'invalid-interval', request: values.b },
      { reason: 'invalid-interval', request: values.d },
    ]);
    assert.equal(await metrics.value(DEDUPE_REQUESTS_METRIC, { outcome: 'invalid-interval' }), 3);
  });

  it('should forward an exception thrown by the rejected observer as an error', () => {
    const ts = createTestScheduler();
    const failure = new Error('dead letter failed');
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const values = { a: req(T0, T0 + 10), b: req(T0 + 10, T0) };
      const source = hot('     -a-b-|', values);
      const sourceSubs = '     ^--!';
      const expected = '       -a-#';
      const rejected = {
        next: () => {
          throw failure;
        },
      };
      expectObservable(source.pipe(dedupeRequests({ rejected }))).toBe(expected, values, failure);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should forward a source error', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const values = { a: req(T0, T0 + 10) };
      const source = hot('     -a-#', values);
      const sourceSubs = '     ^--!';
      const expected = '       -a-#';
      expectObservable(source.pipe(dedupeRequests())).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should complete at once on an empty source and stay silent on a never source', () => {
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold<RequestEventMessage>('|');
      const never = cold<RequestEventMessage>('-');
      expectObservable(empty.pipe(dedupeRequests())).toBe('|');
      expectObservable(never.pipe(dedupeRequests())).toBe('-');
      expectSubscriptions(empty.subscriptions).toBe('(^!)');
      expectSubscriptions(never.subscriptions).toBe('^');
    });
  });

  it('should unsubscribe from the source on early unsubscribe', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const values = { a: req(T0, T0 + 10), b: req(T0, T0 + 10) };
      const source = hot('     -a--b--|', values);
      const sourceSubs = '     ^--!';
      const unsub = '          ---!';
      const expected = '       -a--';
      expectObservable(source.pipe(dedupeRequests()), unsub).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should keep one cache per subscription', () => {
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      // A shared cache would make the second subscriber's a look already requested.
      const values = { a: req(T0, T0 + 1000), b: req(T0 + 100, T0 + 200) };
      const out = { a: values.a, B: req(T0 + 100, T0 + 200, false) };
      const source = cold('    -a-b|', values);
      const requests$ = source.pipe(dedupeRequests());
      expectObservable(requests$).toBe('          -a-B|', out);
      expectObservable(requests$, '--^').toBe('   ---a-B|', out);
      expectSubscriptions(source.subscriptions).toBe(['^---!', '--^---!']);
    });
  });

  it('should refuse bad options with the field path', () => {
    const cases: Array<[Parameters<typeof dedupeRequests>[0], string]> = [
      [{ expirationMs: -1 }, 'expirationMs'],
      [{ expirationMs: Number.NaN }, 'expirationMs'],
      [{ maxIntervals: 0 }, 'maxIntervals'],
      [{ maxIntervals: 2.5 }, 'maxIntervals'],
    ];
    for (const [options, path] of cases) {
      assert.throws(() => dedupeRequests(options), (e: unknown) => e instanceof ConfigError && e.path === path, path);
    }
  });
});
