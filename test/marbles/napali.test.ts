import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import { napaliPlugin } from '../../src/plugins/builtin/napali.js';
import { checkEventRequest } from '../../src/plugins/check-event-request.js';
import { emptyBoxDirectory, type EventRequest, type Measurement, type PluginSettings } from '../../src/plugins/plugin.js';
import { createTestScheduler, eventRequest, triggerMessage } from '../../src/testing/index.js';

/*
 * Event time = frame time: every measurement sits at the frame equal to its box timestamp, so
 * the grace period (box time) and the silence timer (scheduler time) read off the same axis.
 * Boxes send every 100 ms (6 Hz in reality; 10 Hz keeps the numbers round); box 1002 is offset
 * by 30 ms so two boxes never share a frame. Defaults apply unless a test says otherwise:
 * limits 59.9–60.1 Hz, 115–125 V, THD 5 %; k = 3; grace 5000 ms; the request runs from the
 * first anomalous reading to 1000 ms after the last; only a hard limit opens a window. Tests
 * set `warmupSamples: 10` (1 s), and `sigmaOpensWindow` where a σ reading alone must trigger.
 */

/** Measurements of one box every 100 ms in [from, to), values from `at(t, i)` over a constant 120 V, 60 Hz. */
function series(id: number, from: number, to: number, at: (t: number, i: number) => Partial<Measurement> = () => ({})): Measurement[] {
  const out: Measurement[] = [];
  for (let t = from, i = 0; t < to; t += 100, i += 1) out.push(triggerMessage({ id, time: t, ...at(t, i) }));
  return out;
}

/** A realistic steady box: ±0.1 V and ±0.005 Hz of noise (alternating), THD 2 %, `at` on top. */
const noisy = (at: (t: number) => Partial<Measurement> = () => ({})) => (t: number, i: number) => ({
  rms: i % 2 === 0 ? 119.9 : 120.1,
  frequency: i % 2 === 0 ? 59.995 : 60.005,
  thd: 0.02,
  ...at(t),
});

/** `at(t0, v)`: v for the one reading at t0, else nothing. */
const at = (time: number, values: Partial<Measurement>) => (t: number) => (t === time ? values : {});

type Token = { readonly frame: number; readonly token: string };

/** A run-mode marble with each token at its frame (same-frame tokens grouped), e.g. `1200ms x 99ms |`. */
function marbleOf(tokens: readonly Token[]): string {
  const byFrame = new Map<number, string[]>();
  for (const { frame, token } of [...tokens].sort((a, b) => a.frame - b.frame)) byFrame.set(frame, [...(byFrame.get(frame) ?? []), token]);
  let marble = '';
  let cursor = 0;
  for (const [frame, group] of byFrame) {
    if (frame < cursor) throw new Error(`frame ${frame} collides with the previous group`);
    if (frame > cursor) marble += ` ${frame - cursor}ms `;
    marble += group.length === 1 ? group[0] : `(${group.join('')})`;
    cursor = frame + (group.length === 1 ? 1 : group.length + 2);
  }
  return marble.trim() || '-';
}

/** A hot-observable marble of measurements at frame = box time, optionally completing at `end`. */
function timeline(measurements: readonly Measurement[], end?: number) {
  return timelineAt(measurements.map((m) => ({ frame: m.time, measurement: m })), end);
}

/** Like {@link timeline}, with each measurement's arrival frame given (for clocks that are off). */
function timelineAt(arrivals: readonly { readonly frame: number; readonly measurement: Measurement }[], end?: number) {
  const values: Record<string, Measurement> = {};
  const tokens: Token[] = arrivals.map(({ frame, measurement }, i) => {
    // Letters outside ASCII: never marble syntax, never a time-progression digit.
    const token = String.fromCharCode(0x100 + i);
    values[token] = measurement;
    return { frame, token };
  });
  if (end !== undefined) tokens.push({ frame: end, token: '|' });
  return { marble: marbleOf(tokens), values };
}

const sorted = (...lists: Measurement[][]) => lists.flat().sort((a, b) => a.time - b.time);

/** A request as the plugin sends it for box 1001; each test names the range, type, magnitude and description. */
const request = (overrides: Partial<EventRequest>): EventRequest =>
  eventRequest({ boxIds: [1001], requestee: 'Makai: napali plugin', requestData: true, ...overrides });

const plugin = (settings: PluginSettings, scheduler: ReturnType<typeof createTestScheduler>) =>
  napaliPlugin(settings, { name: 'napali', logger: silentLogger, scheduler, boxes: emptyBoxDirectory });

/**
 * Runs the plugin over `measurements` in virtual time and asserts the output: each expected
 * request at its frame, completion at `end` (when given), one subscription to the source, and
 * every request a valid RequestEventMessage.
 */
function expectRequests(
  settings: PluginSettings,
  measurements: readonly Measurement[] | ReturnType<typeof timelineAt>,
  expected: readonly { readonly at: number; readonly request: EventRequest }[],
  end?: number,
): void {
  const ts = createTestScheduler();
  ts.run(({ hot, expectObservable, expectSubscriptions }) => {
    const input = Array.isArray(measurements) ? timeline(measurements, end) : (measurements as ReturnType<typeof timelineAt>);
    const source = hot(input.marble, input.values);
    const values: Record<string, EventRequest> = {};
    const tokens: Token[] = expected.map(({ at: frame, request: r }, i) => {
      const token = String.fromCharCode(0x100 + i);
      values[token] = r;
      return { frame, token };
    });
    if (end !== undefined) tokens.push({ frame: end, token: '|' });
    expectObservable(source.pipe(plugin(settings, ts))).toBe(marbleOf(tokens), values);
    const subs = end === undefined ? '^' : marbleOf([{ frame: 0, token: '^' }, { frame: end, token: '!' }]);
    expectSubscriptions(source.subscriptions).toBe(subs);
  });
  for (const { request: r } of expected) assert.equal(checkEventRequest(r), undefined);
}

/** Runs the plugin to completion and returns what it emitted with the frame of each, for assertions on computed values. */
function collect(settings: PluginSettings, measurements: readonly Measurement[], end: number): { at: number; request: EventRequest }[] {
  return collectFrom(settings, timeline(measurements, end));
}

/** {@link collect} over a prepared timeline. */
function collectFrom(settings: PluginSettings, input: ReturnType<typeof timelineAt>): { at: number; request: EventRequest }[] {
  const ts = createTestScheduler();
  const out: { at: number; request: EventRequest }[] = [];
  ts.run(({ hot, flush }) => {
    hot(input.marble, input.values)
      .pipe(plugin(settings, ts))
      .subscribe((r) => out.push({ at: ts.now(), request: r }));
    flush();
  });
  for (const { request: r } of out) assert.equal(checkEventRequest(r), undefined, JSON.stringify(r));
  return out;
}

const fast = { warmupSamples: 10 };
/** For the σ checks on their own: a σ-only reading may open a window (off by default). */
const sigmaOpens = { ...fast, sigmaOpensWindow: true };

describe('napali plugin', () => {
  it('should never trigger on steady boxes with noise and a slow drift', () => {
    // ±0.1 V noise and a 1 V drift over 30 s (0.0033 V per reading): the mean follows, σ covers the noise.
    const drift = (t: number) => ({ rms: 120 + t / 30_000 + ((t / 100) % 2 === 0 ? -0.1 : 0.1) });
    const boxes = sorted(series(1001, 0, 30_000, noisy(drift)), series(1002, 30, 30_000, noisy()));
    expectRequests(sigmaOpens, boxes, [], 30_000);
  });

  it('should trigger on one box beyond 3σ of its own statistics after warm-up', () => {
    // Constant 120 V: σ is its floor 0.05 V, so 121 V is 20σ away (and inside 115–125 V).
    const box = series(1001, 0, 9000, at(2000, { rms: 121 }));
    expectRequests(sigmaOpens, box, [
      {
        at: 7000, // box 1001's clock passes 2000 + graceMs
        request: request({
          startTimestampMsUtc: 2000,
          endTimestampMsUtc: 3000,
          triggerType: 'VOLTAGE_SWELL',
          percentMagnitude: 0.833,
          description: "Voltage swell to 121.0 V (20.0σ from box 1001's mean 120.0 V) on box 1001: 1 anomalous reading in 0.0 s",
        }),
      },
    ], 9000);
  });

  it('should trigger beyond kσ on a noisy box, and take k from the settings', () => {
    const box = series(1001, 0, 12_000, noisy(at(4000, { frequency: 60.03 })));
    const [only, ...more] = collect(sigmaOpens, box, 12_000);
    assert.equal(more.length, 0);
    assert.ok(only);
    assert.equal(only.at, 9000);
    assert.deepEqual(
      [only.request.startTimestampMsUtc, only.request.endTimestampMsUtc, only.request.triggerType, only.request.boxIds],
      [4000, 5000, 'FREQUENCY_SWELL', [1001]],
    );
    // 60.03 Hz against a 60.000 Hz mean, σ ≈ 0.005 Hz: about 6σ, so k = 10 lets it pass.
    // The mean sits within the noise of 60 Hz, so the magnitude is close to (not exactly) 0.05 %.
    assert.match(only.request.description, /^Frequency swell to 60\.030 Hz \(\d\.\dσ from box 1001's mean (60\.00\d|59\.99\d) Hz\)/);
    assert.ok(Math.abs(only.request.percentMagnitude - 0.05) < 0.005, String(only.request.percentMagnitude));
    assert.deepEqual(collect({ ...sigmaOpens, sigmas: 10 }, box, 12_000), []);
  });

  it('should give no σ verdict during warm-up', () => {
    // The same 121 V at the 6th reading: only 5 readings of statistics, warm-up wants 10.
    const box = series(1001, 0, 8000, at(500, { rms: 121 }));
    expectRequests(sigmaOpens, box, [], 8000);
  });

  it('should trigger on a hard limit from the first reading, during warm-up', () => {
    // Before any statistics the reference is the middle of the limits, 120 V.
    const box = series(1001, 0, 7000, at(0, { rms: 100 }));
    expectRequests({}, box, [
      {
        at: 5000,
        request: request({
          startTimestampMsUtc: 0,
          endTimestampMsUtc: 1000,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 16.667,
          description: 'Voltage sag to 100.0 V (outside 115.0–125.0 V) on box 1001: 1 anomalous reading in 0.0 s',
        }),
      },
    ], 7000);
  });

  it('should report THD above its limit as OTHER, with the THD in percent', () => {
    const box = series(1001, 0, 7000, (t) => ({ thd: t === 1000 ? 0.08 : 0.02 }));
    expectRequests(fast, box, [
      {
        at: 6000,
        request: request({
          startTimestampMsUtc: 1000,
          endTimestampMsUtc: 2000,
          triggerType: 'OTHER',
          percentMagnitude: 8,
          description: 'THD 8.00 % (above 5.00 %) on box 1001: 1 anomalous reading in 0.0 s',
        }),
      },
    ], 7000);
  });

  it('should merge two boxes anomalous within the open window into one request naming both', () => {
    // 1001: 100 V at 2000 (hard limit). 1002: 121 V at 4030 (20σ), while the window is open.
    const boxes = sorted(series(1001, 0, 12_000, at(2000, { rms: 100 })), series(1002, 30, 12_000, at(4030, { rms: 121 })));
    expectRequests(fast, boxes, [
      {
        at: 9030, // 1001 is past its grace at 7000, 1002 at 9030
        request: request({
          boxIds: [1001, 1002],
          startTimestampMsUtc: 2000,
          endTimestampMsUtc: 5030,
          triggerType: 'VOLTAGE_SAG', // the hard limit outranks the σ swell
          percentMagnitude: 16.667,
          description: 'Voltage sag to 100.0 V (outside 115.0–125.0 V) on boxes 1001, 1002: 2 anomalous readings in 2.0 s',
        }),
      },
    ], 12_000);
  });

  it('should report boxes anomalous in different windows separately', () => {
    // 1002's anomaly comes after 1001's window closed (7000).
    const boxes = sorted(series(1001, 0, 16_000, at(2000, { rms: 100 })), series(1002, 30, 16_000, at(8030, { rms: 130 })));
    expectRequests(fast, boxes, [
      {
        at: 7000,
        request: request({
          startTimestampMsUtc: 2000,
          endTimestampMsUtc: 3000,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 16.667,
          description: 'Voltage sag to 100.0 V (outside 115.0–125.0 V) on box 1001: 1 anomalous reading in 0.0 s',
        }),
      },
      {
        at: 13_030,
        request: request({
          boxIds: [1002],
          startTimestampMsUtc: 8030,
          endTimestampMsUtc: 9030,
          triggerType: 'VOLTAGE_SWELL',
          percentMagnitude: 8.333,
          description: 'Voltage swell to 130.0 V (outside 115.0–125.0 V) on box 1002: 1 anomalous reading in 0.0 s',
        }),
      },
    ], 16_000);
  });

  it('should suppress single-box windows with reportSingleBox off, and still report multi-box ones', () => {
    const settings = { ...fast, reportSingleBox: false };
    expectRequests(settings, series(1001, 0, 9000, at(2000, { rms: 100 })), [], 9000);
    const boxes = sorted(series(1001, 0, 12_000, at(2000, { rms: 100 })), series(1002, 30, 12_000, at(4030, { rms: 121 })));
    const [both, ...more] = collect(settings, boxes, 12_000);
    assert.equal(more.length, 0);
    assert.deepEqual([both?.at, both?.request.boxIds], [9030, [1001, 1002]]);
  });

  it('should keep the window open across a return to normal shorter than the grace period', () => {
    // Anomalies at 1000 and 4000, normal between: 3 s < graceMs 5 s, so one window.
    const box = series(1001, 0, 12_000, (t) => (t === 1000 ? { rms: 100 } : t === 4000 ? { rms: 110 } : {}));
    expectRequests(fast, box, [
      {
        at: 9000,
        request: request({
          startTimestampMsUtc: 1000,
          endTimestampMsUtc: 5000,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 16.667,
          description: 'Voltage sag to 100.0 V (outside 115.0–125.0 V) on box 1001: 2 anomalous readings in 3.0 s',
        }),
      },
    ], 12_000);
  });

  it('should close the window once the grace period has passed, so a later anomaly is a new event', () => {
    const box = series(1001, 0, 14_000, (t) => (t === 1000 || t === 6500 ? { rms: 100 } : {}));
    const out = collect(fast, box, 14_000);
    assert.deepEqual(
      out.map(({ at: frame, request: r }) => [frame, r.startTimestampMsUtc, r.endTimestampMsUtc]),
      [[6000, 1000, 2000], [11_500, 6500, 7500]],
    );
  });

  it('should close the window by a timer on the scheduler when the box goes silent', () => {
    // Box 1001 sends nothing after its anomaly at 2000 and the input never completes: only the
    // timer, graceMs after its last message, can close the window.
    const box = series(1001, 0, 2100, at(2000, { rms: 100 }));
    expectRequests(fast, box, [
      {
        at: 7000,
        request: request({
          startTimestampMsUtc: 2000,
          endTimestampMsUtc: 3000,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 16.667,
          description: 'Voltage sag to 100.0 V (outside 115.0–125.0 V) on box 1001: 1 anomalous reading in 0.0 s',
        }),
      },
    ]);
  });

  it('should not let a non-member box with a clock far ahead close the window', () => {
    // Box 1002 is normal, but its clock is 60 s ahead: box times from 60 030 arrive at frames from 30.
    const arrivals = [
      ...series(1001, 0, 9000, at(2000, { rms: 100 })).map((m) => ({ frame: m.time, measurement: m })),
      ...series(1002, 60_030, 69_000).map((m) => ({ frame: m.time - 60_000, measurement: m })),
    ].sort((x, y) => x.frame - y.frame);
    const out = collectFrom(fast, timelineAt(arrivals, 9000));
    assert.deepEqual(out.map((o) => [o.at, o.request.boxIds]), [[7000, [1001]]]);
  });

  it('should let σ-only readings extend an open window and pull in other boxes, but not open one, by default', () => {
    expectRequests(fast, series(1001, 0, 9000, at(2000, { rms: 121 })), [], 9000);
    // A hard-limit reading at 2000 opens the window; σ readings of 1001 at 4000 and 1002 at 5030 join it.
    const boxes = sorted(
      series(1001, 0, 14_000, (t) => (t === 2000 ? { rms: 100 } : t === 4000 ? { rms: 121 } : {})),
      series(1002, 30, 14_000, at(5030, { frequency: 60.05 })),
    );
    const [one, ...more] = collect(fast, boxes, 14_000);
    assert.equal(more.length, 0);
    assert.deepEqual(
      [one?.at, one?.request.startTimestampMsUtc, one?.request.endTimestampMsUtc, one?.request.boxIds],
      [10_030, 2000, 6030, [1001, 1002]],
    );
  });

  it('should report a window at maxWindowMs while a box stays beyond its limit, and open the next', () => {
    // 100 V throughout; each window's requested range reaches 3000 ms once the box's clock is
    // 2000 past its start (+ padAfterMs 1000); the reading that closes it opens the next.
    const box = series(1001, 0, 5000, () => ({ rms: 100 }));
    const out = collect({ ...fast, maxWindowMs: 3000 }, box, 5000);
    assert.deepEqual(
      out.map(({ at: frame, request: r }) => [frame, r.startTimestampMsUtc, r.endTimestampMsUtc]),
      [[2000, 0, 2900], [4000, 2000, 4900], [5000, 4000, 5900]], // the last one flushed at completion
    );
  });

  it('should report the open window when the input completes', () => {
    const box = series(1001, 0, 3000, at(2500, { rms: 100 }));
    expectRequests(fast, box, [
      {
        at: 3000,
        request: request({
          startTimestampMsUtc: 2500,
          endTimestampMsUtc: 3500,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 16.667,
          description: 'Voltage sag to 100.0 V (outside 115.0–125.0 V) on box 1001: 1 anomalous reading in 0.0 s',
        }),
      },
    ], 3000);
  });

  it('should ignore a message older than its box newest one', () => {
    // A sag stamped 1000 arrives at frame 3000, after the box's 2900 reading: ignored.
    const arrivals = [
      ...series(1001, 0, 9000).map((m) => ({ frame: m.time, measurement: m })),
      { frame: 3001, measurement: triggerMessage({ time: 1000, rms: 100 }) },
    ].sort((x, y) => x.frame - y.frame);
    expectRequests(fast, timelineAt(arrivals, 9000), [], 9000);
  });

  it('should pass a source error through, and emit nothing for an empty or silent source', () => {
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold<Measurement>('--#', {}, new Error('boom')).pipe(plugin({}, ts))).toBe('--#', {}, new Error('boom'));
      expectObservable(cold<Measurement>('|').pipe(plugin({}, ts))).toBe('|');
      expectObservable(cold<Measurement>('-').pipe(plugin({}, ts))).toBe('-');
    });
  });

  it('should keep its state per subscription: a second subscription starts clean', () => {
    // Shared state would leave box 1001's clock at 6900 and ignore the second run's readings.
    const box = series(1001, 0, 7000, at(0, { rms: 100 }));
    const values = Object.fromEntries(box.map((m, i) => [String.fromCharCode(0x100 + i), m]));
    const marble = box.map((_, i) => String.fromCharCode(0x100 + i)).join(' 99ms ') + ' 99ms |';
    const ts = createTestScheduler();
    ts.run(({ cold, expectObservable }) => {
      const op = plugin(fast, ts);
      const sag = request({
        startTimestampMsUtc: 0,
        endTimestampMsUtc: 1000,
        triggerType: 'VOLTAGE_SAG',
        percentMagnitude: 16.667,
        description: 'Voltage sag to 100.0 V (outside 115.0–125.0 V) on box 1001: 1 anomalous reading in 0.0 s',
      });
      expectObservable(cold(marble, values).pipe(op)).toBe('5000ms x 1999ms |', { x: sag });
      expectObservable(cold(marble, values).pipe(op)).toBe('5000ms x 1999ms |', { x: sag });
    });
  });
});
