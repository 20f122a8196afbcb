import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { parseConfig } from '../../../src/config/load-json-config.js';
import { duration, numberIn, wholeNumber } from '../../../src/config/zod-fields.js';
import { checkDurationRange, formatDuration, MAX_TIMER_MS, parseDuration, timerDelay } from '../../../src/core/duration.js';
import { ConfigError } from '../../../src/core/errors.js';

const DAY = 86_400_000;

describe('parseDuration', () => {
  it('should read ms numbers, short forms and ISO-8601 to whole ms', () => {
    const cases: [number | string, number][] = [
      [0, 0],
      [250, 250],
      [1.6, 2],
      ['200ms', 200],
      ['1s', 1000],
      ['1.5s', 1500],
      ['1m', 60_000],
      ['1h30m', 5_400_000],
      ['24h', DAY],
      ['25d', 25 * DAY],
      ['PT1M', 60_000],
      ['PT0.5S', 500],
      ['P1D', DAY],
      [' 10s ', 10_000],
      // ISO calendar units at luxon's casual lengths, as the original's configs were read.
      ['P1Y', 365 * DAY],
      ['P1M', 30 * DAY],
      ['P2W', 14 * DAY],
      ['P1MT1M', 30 * DAY + 60_000],
      ['P1.5D', 1.5 * DAY],
      ['PT1,5S', 1500],
      ['PT1.9999S', 1999],
      ['P1Y2M3W4DT5H6M7.8S', 38_898_367_800],
    ];
    for (const [input, ms] of cases) assert.deepEqual(parseDuration(input), { ms }, String(input));
  });

  it('should refuse negative durations, ISO parts included', () => {
    for (const input of [-1, -0.6, 'PT-5S', '-PT5S', 'P1DT-5S', 'PT1M-5S']) {
      const parsed = parseDuration(input);
      assert.ok('error' in parsed, `${input} must be refused`);
    }
    assert.match((parseDuration('PT-5S') as { error: string }).error, /negative duration/);
  });

  it('should refuse what is not a finite safe integer of ms', () => {
    for (const input of [Number.NaN, Number.POSITIVE_INFINITY, 1e300, 'P100000000Y', '9999999999999999999d']) {
      assert.ok('error' in parseDuration(input), `${input} must be refused`);
    }
  });

  it('should refuse text that is not a duration, and values of other types', () => {
    for (const input of ['soon', '1e3ms', '5', 's', '1 s', '', 'P', 'PT', 'P1DT', 'p1d', 'PT1H1D', 'P1D1H', 'PT.5S', 'P1,5D']) assert.ok('error' in parseDuration(input), JSON.stringify(input));
    assert.ok('error' in parseDuration(true as unknown as string));
  });
});

describe('formatDuration', () => {
  it('should write durations in words', () => {
    assert.equal(formatDuration(0), '0 ms');
    assert.equal(formatDuration(200), '200 ms');
    assert.equal(formatDuration(1000), '1 second');
    assert.equal(formatDuration(5_400_000), '1 hour 30 minutes');
    assert.equal(formatDuration(25 * DAY), '25 days');
    assert.equal(formatDuration(1e300), '1e+300 ms');
  });
});

describe('duration({ min, max })', () => {
  const schema = z.object({ every: duration({ min: '100ms', max: '1d' }).default('10s') }).strict();
  const refusal = (value: unknown): ConfigError => {
    try {
      parseConfig({ every: value }, schema, 'cfg.json');
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error;
    }
    return assert.fail(`${JSON.stringify(value)} must be refused`);
  };

  it('should accept both ends of the range in every form, and fill the default', () => {
    assert.equal(parseConfig({}, schema).every, 10_000);
    assert.equal(parseConfig({ every: 100 }, schema).every, 100);
    assert.equal(parseConfig({ every: '100ms' }, schema).every, 100);
    assert.equal(parseConfig({ every: '1d' }, schema).every, DAY);
    assert.equal(parseConfig({ every: 'PT24H' }, schema).every, DAY);
    assert.equal(parseConfig({ every: '23h59m' }, schema).every, DAY - 60_000);
  });

  it('should refuse values outside the range, saying the range in words, naming file and field', () => {
    const error = refusal('25d');
    assert.equal(error.file, 'cfg.json');
    assert.equal(error.path, 'every');
    assert.match(error.message, /must be from 100 ms to 1 day, got 25 days/);
    assert.match(refusal(0).message, /must be from 100 ms to 1 day, got 0 ms/);
    assert.match(refusal(99).message, /got 99 ms/);
    assert.match(refusal(DAY + 1).message, /got 1 day 1 ms/);
  });

  it('should refuse negative ISO durations, overflowing values and other types', () => {
    assert.match(refusal('PT-5S').message, /negative duration/);
    assert.match(refusal(-5).message, /non-negative/);
    assert.match(refusal(1e300).message, /not a usable duration/);
    assert.match(refusal(true).message, /expected a duration/);
    assert.match(refusal('soon').message, /not a duration/);
  });

  it('should refuse, when a schema is built, a range a timer cannot honour', () => {
    assert.throws(() => duration({ min: 0, max: '25d' }), RangeError);
    assert.throws(() => duration({ min: '1h', max: '1m' }), RangeError);
    assert.throws(() => duration({ min: 'PT-1S', max: '1m' }), RangeError);
    assert.doesNotThrow(() => duration({ min: 0, max: MAX_TIMER_MS }));
  });
});

describe('checkDurationRange and timerDelay', () => {
  it('should pass values inside and explain values outside', () => {
    assert.equal(checkDurationRange(5, { minMs: 5, maxMs: 5 }), undefined);
    assert.equal(checkDurationRange(6, { minMs: 5, maxMs: 5 }), 'must be from 5 ms to 5 ms, got 6 ms');
  });

  it('should refuse timer delays a Node timer would turn into 1 ms', () => {
    assert.equal(timerDelay(MAX_TIMER_MS, 'x'), MAX_TIMER_MS);
    assert.throws(() => timerDelay(MAX_TIMER_MS + 1, 'ping_interval'), /ping_interval: 2147483648 ms/);
    assert.throws(() => timerDelay(0, 'key_refresh', 1), RangeError);
    assert.throws(() => timerDelay(Number.NaN, 'x'), RangeError);
  });
});

describe('wholeNumber and numberIn', () => {
  const schema = z.object({ n: wholeNumber({ min: 1, max: 100_000 }).optional(), v: numberIn({ min: 1, max: 1000 }).optional() }).strict();
  const message = (value: Record<string, unknown>): string => {
    try {
      parseConfig(value, schema, 'cfg.json');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.message;
    }
    return assert.fail(`${JSON.stringify(value)} must be refused`);
  };

  it('should accept the ends of the range', () => {
    assert.deepEqual(parseConfig({ n: 1, v: 1 }, schema), { n: 1, v: 1 });
    assert.deepEqual(parseConfig({ n: 100_000, v: 1000 }, schema), { n: 100_000, v: 1000 });
    assert.deepEqual(parseConfig({ v: 59.5 }, schema), { v: 59.5 });
  });

  it('should refuse values outside the range, fractions of whole numbers and wrong types, with the range', () => {
    assert.match(message({ n: 1e300 }), /must be a whole number from 1 to 100 000, got 1e\+300/);
    assert.match(message({ n: 0 }), /got 0/);
    assert.match(message({ n: 1.5 }), /got 1.5/);
    assert.match(message({ n: '5' }), /Expected number, received string; must be a whole number from 1 to 100 000/);
    assert.match(message({ v: 1000.5 }), /must be a number from 1 to 1 000, got 1000.5/);
    assert.match(message({ v: 0.5 }), /got 0.5/);
  });
});
