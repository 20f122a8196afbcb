import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { thresholdPlugin } from '../../src/plugins/builtin/threshold.js';
import { emptyBoxDirectory, type EventRequest, type Measurement, type PluginSettings } from '../../src/plugins/plugin.js';
import { eventRequest, triggerMessage } from '../helpers/messages.js';
import { createTestScheduler } from '../helpers/test-scheduler.js';

/*
 * Event time = frame time: every measurement sits at the frame equal to its box timestamp, so
 * the plugin's event-time rules and its scheduler timers can be read off the same axis.
 * Boxes send every 100 ms (6 Hz in reality; 10 Hz keeps the numbers round); box 1002 is
 * offset by 30 ms so two boxes never share a frame.
 */

/** Measurements of one box every 100 ms in [from, to), values from `at(t)` over normal ones (120 V, 60 Hz). */
function series(id: number, from: number, to: number, at: (t: number) => Partial<Measurement> = () => ({})): Measurement[] {
  const out: Measurement[] = [];
  for (let t = from; t < to; t += 100) out.push(triggerMessage({ id, time: t, ...at(t) }));
  return out;
}

/** `during([a, b], v)`: v for a ≤ t < b, else normal. */
const during = (range: readonly [number, number], values: Partial<Measurement>) => (t: number) =>
  t >= range[0] && t < range[1] ? values : {};

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
  const values: Record<string, Measurement> = {};
  const tokens: Token[] = measurements.map((m, i) => {
    // Letters outside ASCII: never marble syntax, never a time-progression digit.
    const token = String.fromCharCode(0x100 + i);
    values[token] = m;
    return { frame: m.time, token };
  });
  if (end !== undefined) tokens.push({ frame: end, token: '|' });
  return { marble: marbleOf(tokens), values };
}

/** A request as the plugin sends it for box 1001; every test names the range, type, magnitude and description. */
const request = (overrides: Partial<EventRequest>): EventRequest =>
  eventRequest({ boxIds: [1001], requestee: 'Makai: threshold plugin', ...overrides });

/**
 * Runs the plugin over `measurements` in virtual time and asserts the output: each expected
 * request at its frame, completion at `end` (when given), and one subscription to the source.
 */
function expectRequests(
  settings: PluginSettings,
  measurements: readonly Measurement[],
  expected: readonly { readonly at: number; readonly request: EventRequest }[],
  end?: number,
): void {
  const ts = createTestScheduler();
  ts.run(({ hot, expectObservable, expectSubscriptions }) => {
    const input = timeline(measurements, end);
    const source = hot(input.marble, input.values);
    const plugin = thresholdPlugin(settings, { name: 'threshold', logger: silentLogger, scheduler: ts, boxes: emptyBoxDirectory });
    const values: Record<string, EventRequest> = {};
    const tokens: Token[] = expected.map(({ at, request: r }, i) => {
      const token = String.fromCharCode(0x100 + i);
      values[token] = r;
      return { frame: at, token };
    });
    if (end !== undefined) tokens.push({ frame: end, token: '|' });
    expectObservable(source.pipe(plugin)).toBe(marbleOf(tokens), values);
    const subs = end === undefined ? '^' : marbleOf([{ frame: 0, token: '^' }, { frame: end, token: '!' }]);
    expectSubscriptions(source.subscriptions).toBe(subs);
  });
}

const sorted = (...lists: Measurement[][]) => lists.flat().sort((a, b) => a.time - b.time);

describe('threshold plugin', () => {
  it('should report a voltage sag once the box has recovered and the group gap has passed', () => {
    // 100 V at 1000, 96 V at 1500, 105 V until 2200: out from 1000, back inside at 2200.
    const box = series(1001, 0, 5000, (t) => (t >= 1000 && t < 2200 ? { rms: t === 1500 ? 96 : t === 1000 ? 100 : 105 } : {}));
    expectRequests({}, box, [
      {
        at: 3200, // 2200 + groupGapMs 1000
        request: request({
          startTimestampMsUtc: 0, // 1000 − padBeforeMs
          endTimestampMsUtc: 3200, // 2200 + padAfterMs
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 20,
          description: 'Voltage sag to 96.0 V (-20.0 %) on box 1001 for 1.2 s',
        }),
      },
    ], 5000);
  });

  it('should report a voltage swell', () => {
    const box = series(1001, 0, 4000, during([1500, 1800], { rms: 130 }));
    expectRequests({}, box, [
      {
        at: 2800,
        request: request({
          startTimestampMsUtc: 500,
          endTimestampMsUtc: 2800,
          triggerType: 'VOLTAGE_SWELL',
          percentMagnitude: 8.333,
          description: 'Voltage swell to 130.0 V (+8.3 %) on box 1001 for 0.3 s',
        }),
      },
    ], 4000);
  });

  it('should report frequency sags and swells', () => {
    const box = series(1001, 0, 8000, (t) => ({ ...during([1500, 1700], { frequency: 59.5 })(t), ...during([5000, 5100], { frequency: 60.4 })(t) }));
    expectRequests({}, box, [
      {
        at: 2700,
        request: request({
          startTimestampMsUtc: 500,
          endTimestampMsUtc: 2700,
          triggerType: 'FREQUENCY_SAG',
          percentMagnitude: 0.833,
          description: 'Frequency sag to 59.50 Hz (-0.83 %) on box 1001 for 0.2 s',
        }),
      },
      {
        at: 6100,
        request: request({
          startTimestampMsUtc: 4000,
          endTimestampMsUtc: 6100,
          triggerType: 'FREQUENCY_SWELL',
          percentMagnitude: 0.667,
          description: 'Frequency swell to 60.40 Hz (+0.67 %) on box 1001 for 0.1 s',
        }),
      },
    ], 8000);
  });

  it('should report a THD excursion as OTHER with THD in percent', () => {
    const box = series(1001, 0, 4000, (t) => ({ thd: t >= 1000 && t < 1400 ? 0.08 : 0.02 }));
    expectRequests({}, box, [
      {
        at: 2400,
        request: request({
          startTimestampMsUtc: 0,
          endTimestampMsUtc: 2400,
          triggerType: 'OTHER',
          percentMagnitude: 8,
          description: 'THD 8.0 % (limit 5.0 %) on box 1001 for 0.4 s',
        }),
      },
    ], 4000);
  });

  it('should not flap on a value hovering at the limit, thanks to hysteresis', () => {
    // 113.9 V is out (limit 114), 114.2 V is back inside the limit but not inside 114.6 V.
    const hovering = series(1001, 0, 3000, (t) => (t >= 1000 && t < 2000 ? { rms: (t / 100) % 2 === 0 ? 113.9 : 114.2 } : {}));
    const settings = { groupGapMs: 0, padBeforeMs: 0, padAfterMs: 0 };
    expectRequests(settings, hovering, [
      {
        at: 2000,
        request: request({
          startTimestampMsUtc: 1000,
          endTimestampMsUtc: 2000,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 5.083,
          description: 'Voltage sag to 113.9 V (-5.1 %) on box 1001 for 1.0 s',
        }),
      },
    ], 3000);
    // Without hysteresis the same input flaps into one request per dip.
    const flaps = [1000, 1200, 1400, 1600, 1800].map((start) => ({
      at: start + 100,
      request: request({
        startTimestampMsUtc: start,
        endTimestampMsUtc: start + 100,
        triggerType: 'VOLTAGE_SAG',
        percentMagnitude: 5.083,
        description: 'Voltage sag to 113.9 V (-5.1 %) on box 1001 for 0.1 s',
      }),
    }));
    expectRequests({ ...settings, hysteresisFraction: 0 }, hovering, flaps, 3000);
  });

  it('should ignore an excursion shorter than minDurationMs and report a longer one', () => {
    const box = series(1001, 0, 6000, (t) => ({ ...during([1000, 1300], { rms: 100 })(t), ...during([3000, 3600], { rms: 100 })(t) }));
    expectRequests({ minDurationMs: '500ms' }, box, [
      {
        at: 4600,
        request: request({
          startTimestampMsUtc: 2000,
          endTimestampMsUtc: 4600,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 16.667,
          description: 'Voltage sag to 100.0 V (-16.7 %) on box 1001 for 0.6 s',
        }),
      },
    ], 6000);
  });

  it('should group concurrent and shortly following anomalies of two boxes into one request', () => {
    const first = series(1001, 0, 5000, during([1000, 1500], { rms: 96 }));
    // Starts 330 ms after 1001 recovered: within groupGapMs, so it joins.
    const second = series(1002, 30, 5000, during([1830, 2430], { rms: 100 }));
    expectRequests({}, sorted(first, second), [
      {
        at: 3430,
        request: request({
          startTimestampMsUtc: 0,
          endTimestampMsUtc: 3430,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 20,
          boxIds: [1001, 1002],
          description: 'Voltage sag to 96.0 V (-20.0 %) on boxes 1001, 1002 for 1.4 s',
        }),
      },
    ], 5000);
  });

  it('should start a new group for a box entering after the group gap', () => {
    const first = series(1001, 0, 6000, during([1000, 1500], { rms: 96 }));
    const second = series(1002, 30, 6000, during([2530, 2830], { rms: 100 }));
    expectRequests({}, sorted(first, second), [
      {
        at: 2500,
        request: request({
          startTimestampMsUtc: 0,
          endTimestampMsUtc: 2500,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 20,
          description: 'Voltage sag to 96.0 V (-20.0 %) on box 1001 for 0.5 s',
        }),
      },
      {
        at: 3830,
        request: request({
          startTimestampMsUtc: 1530,
          endTimestampMsUtc: 3830,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 16.667,
          boxIds: [1002],
          description: 'Voltage sag to 100.0 V (-16.7 %) on box 1002 for 0.3 s',
        }),
      },
    ], 6000);
  });

  it('should pick the worst deviation relative to its limit across metrics', () => {
    // 113 V is 1.17 × its ±5 % limit; 59.4 Hz is 2 × its ±0.5 % limit: frequency wins.
    const box = series(1001, 0, 3000, during([1000, 1200], { rms: 113, frequency: 59.4 }));
    expectRequests({}, box, [
      {
        at: 2200,
        request: request({
          startTimestampMsUtc: 0,
          endTimestampMsUtc: 2200,
          triggerType: 'FREQUENCY_SAG',
          percentMagnitude: 1,
          description: 'Frequency sag to 59.40 Hz (-1.00 %) on box 1001 for 0.2 s',
        }),
      },
    ], 3000);
  });

  it('should pad the window by padBeforeMs and padAfterMs', () => {
    const box = series(1001, 0, 3000, during([1000, 1500], { rms: 96 }));
    expectRequests({ padBeforeMs: 200, padAfterMs: '300ms' }, box, [
      {
        at: 2500,
        request: request({
          startTimestampMsUtc: 800,
          endTimestampMsUtc: 1800,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 20,
          description: 'Voltage sag to 96.0 V (-20.0 %) on box 1001 for 0.5 s',
        }),
      },
    ], 3000);
  });

  it('should report a long anomaly when its window reaches maxWindowMs, keeping the start, and not again', () => {
    const box = series(1001, 0, 7000, during([1000, 4000], { rms: 96 }));
    expectRequests({ maxWindowMs: 3000 }, box, [
      {
        at: 2000, // window [0, 2000 + padAfterMs] has reached 3000 ms
        request: request({
          startTimestampMsUtc: 0,
          endTimestampMsUtc: 3000,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 20,
          description: 'Voltage sag to 96.0 V (-20.0 %) on box 1001 for at least 1.0 s, ongoing',
        }),
      },
    ], 7000);
  });

  it('should apply per-box overrides', () => {
    const first = series(1001, 0, 3000, during([1000, 1200], { rms: 110 }));
    const second = series(1002, 30, 3000, during([1030, 1230], { rms: 110 }));
    expectRequests({ overrides: { '1002': { voltagePercent: 10 } } }, sorted(first, second), [
      {
        at: 2200,
        request: request({
          startTimestampMsUtc: 0,
          endTimestampMsUtc: 2200,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 8.333,
          boxIds: [1001],
          description: 'Voltage sag to 110.0 V (-8.3 %) on box 1001 for 0.2 s',
        }),
      },
    ], 3000);
  });

  it('should close a group whose box went silent, by a timer on the scheduler', () => {
    // 1001 sags at 1000 and stops sending after 1500; 1002 keeps sending normal values.
    const silent = series(1001, 0, 1600, during([1000, 2000], { rms: 96 }));
    const chatty = series(1002, 30, 9000);
    expectRequests({ silenceTimeoutMs: 2000 }, sorted(silent, chatty), [
      {
        at: 3500, // 1500 (last heard) + silenceTimeoutMs
        request: request({
          startTimestampMsUtc: 0,
          endTimestampMsUtc: 2500,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 20,
          description: 'Voltage sag to 96.0 V (-20.0 %) on box 1001 for 0.5 s',
        }),
      },
    ], 9000);
  });

  it('should close a group when every box went silent and the source never completes', () => {
    const silent = series(1001, 0, 1600, during([1000, 2000], { rms: 96 }));
    expectRequests({ silenceTimeoutMs: 2000 }, silent, [
      {
        at: 3500,
        request: request({
          startTimestampMsUtc: 0,
          endTimestampMsUtc: 2500,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 20,
          description: 'Voltage sag to 96.0 V (-20.0 %) on box 1001 for 0.5 s',
        }),
      },
    ]);
  });

  it('should report the open group when the input completes', () => {
    const box = series(1001, 0, 1500, during([1000, 2000], { rms: 96 }));
    expectRequests({}, box, [
      {
        at: 1500,
        request: request({
          startTimestampMsUtc: 0,
          endTimestampMsUtc: 2400,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 20,
          description: 'Voltage sag to 96.0 V (-20.0 %) on box 1001 for 0.4 s',
        }),
      },
    ], 1500);
  });

  it('should emit nothing for normal values, complete on empty, and use requestee and requestData settings', () => {
    expectRequests({}, series(1001, 0, 2000), [], 2000);
    expectRequests({}, [], [], 0);
    const box = series(1001, 0, 3000, during([1000, 1200], { rms: 96 }));
    expectRequests({ requestee: 'me', requestData: false }, box, [
      {
        at: 2200,
        request: request({
          startTimestampMsUtc: 0,
          endTimestampMsUtc: 2200,
          triggerType: 'VOLTAGE_SAG',
          percentMagnitude: 20,
          requestee: 'me',
          requestData: false,
          description: 'Voltage sag to 96.0 V (-20.0 %) on box 1001 for 0.2 s',
        }),
      },
    ], 3000);
  });

  it('should pass a source error on and unsubscribe on early unsubscribe', () => {
    const ts = createTestScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const plugin = thresholdPlugin({}, { name: 't', logger: silentLogger, scheduler: ts, boxes: emptyBoxDirectory });
      const values = { a: { id: 1, time: 1, rms: 96, frequency: 60 } };
      const failing = hot<Measurement>('  -a-#', values);
      expectObservable(failing.pipe(plugin)).toBe('---#');
      expectSubscriptions(failing.subscriptions).toBe('^--!');
      const endless = hot<Measurement>('  -a-----', values);
      expectObservable(endless.pipe(plugin), '^---!').toBe('-----');
      expectSubscriptions(endless.subscriptions).toBe('^---!');
    });
  });

  it('should refuse bad settings with a ConfigError naming the field', () => {
    const context = { name: 't', logger: silentLogger, scheduler: createTestScheduler(), boxes: emptyBoxDirectory };
    const pathOf = (settings: PluginSettings) => {
      try {
        thresholdPlugin(settings, context);
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error.path;
      }
      return assert.fail('expected a ConfigError');
    };
    assert.equal(pathOf({ voltagePercent: -5 }), 'voltagePercent');
    assert.equal(pathOf({ voltagePercnt: 5 }), 'voltagePercnt');
    assert.equal(pathOf({ overrides: { '1001': { voltagePercent: 'ten' } } }), 'overrides.1001.voltagePercent');
    assert.equal(pathOf({ overrides: { '1001': { voltagePercnt: 10 } } }), 'overrides.1001.voltagePercnt');
    assert.equal(pathOf({ overrides: { box1: {} } }), 'overrides.box1');
    assert.equal(pathOf({ minDurationMs: 'soon' }), 'minDurationMs');
    assert.equal(pathOf({ hysteresisFraction: 1 }), 'hysteresisFraction');
    assert.equal(pathOf({ requestData: 'yes' }), 'requestData');
    assert.equal(pathOf({ maxWindowMs: 0 }), 'maxWindowMs');
  });
});
