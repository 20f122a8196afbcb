import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { acquisitionBrokerConfigSchema } from '../../../src/brokers/acquisition-broker-config.js';
import { triggerBrokerConfigSchema } from '../../../src/brokers/trigger-broker-config.js';
import { parseConfig } from '../../../src/config/load-json-config.js';
import { makaiSettingsSchema } from '../../../src/config/makai-settings.js';
import { ConfigError } from '../../../src/core/errors.js';
import { thresholdSettingsSchema } from '../../../src/plugins/builtin/threshold-settings.js';

/**
 * The range of every numeric and duration field of every config schema: the table in
 * docs/reliability.md. Both ends are accepted, one step beyond either end is refused naming
 * the field, and the default lies inside. Durations are in ms.
 */
type Bound = readonly [field: string, defaultValue: number | undefined, min: number, max: number, step: number];

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const MS = 1;
const WHOLE = 1;

const TABLES: readonly { name: string; schema: z.ZodTypeAny; bounds: readonly Bound[] }[] = [
  {
    name: 'makai.json',
    schema: makaiSettingsSchema,
    bounds: [
      ['mongo_port', undefined, 1, 65_535, WHOLE],
      ['mongo_measurement_expiration_seconds', 86_400, 1, 3650 * 86_400, WHOLE],
      ['mongo_trends_update_interval_seconds', 60, 1, 86_400, WHOLE],
      ['event_request_expiration_window_ms', 30 * M, 1, D, MS],
      ['measurement_batch_size', 1000, 1, 100_000, WHOLE],
      ['measurement_flush', S, 1, H, MS],
      ['trend_grace', 5 * S, 0, D, MS],
      ['box_registry_refresh', 30 * S, 100, D, MS],
    ],
  },
  {
    name: 'triggering_broker_config.json',
    schema: triggerBrokerConfigSchema,
    bounds: [
      ['key_refresh', 10 * S, 100, D, MS],
      ['max_frame_bytes', 1_048_576, 1024, 1_073_741_824, WHOLE],
    ],
  },
  {
    name: 'acquisition_broker_config.json',
    schema: acquisitionBrokerConfigSchema,
    bounds: [
      ['key_refresh', 10 * S, 100, D, MS],
      ['max_event_window', 10 * M, 100, H, MS],
      ['ping_interval', 13 * S, 10, H, MS],
      ['max_frame_bytes', 1_048_576, 1024, 1_073_741_824, WHOLE],
      ['store_retry_initial', 100, 1, M, MS],
      ['store_retry_limit', M, 0, D, MS],
    ],
  },
  {
    name: 'threshold plugin',
    schema: thresholdSettingsSchema,
    bounds: [
      ['nominalVoltage', 120, 1, 1_000_000, 0.5],
      ['nominalFrequency', 60, 1, 1000, 0.5],
      ['minDurationMs', 0, 0, H, MS],
      ['groupGapMs', S, 0, H, MS],
      ['silenceTimeoutMs', 5 * S, 1, H, MS],
      ['padBeforeMs', S, 0, 10 * M, MS],
      ['padAfterMs', S, 0, 10 * M, MS],
      ['maxWindowMs', 10 * M, 1, H, MS],
    ],
  },
];

/** The plugin `isolation` object's fields (defaults are the runtime's, not the schema's). */
const ISOLATION: readonly Bound[] = [
  ['maxQueue', undefined, 1, 1_000_000, WHOLE],
  ['drainTimeoutMs', undefined, 0, 10 * M, MS],
  ['initialBackoffMs', undefined, 1, H, MS],
  ['maxBackoffMs', undefined, 1, D, MS],
  ['maxInFlight', undefined, 1, 10_000, WHOLE],
];

/** Refused naming file and field; with the range in the message unless the value is not a length of time at all (negative, 1e300). */
function refusedAt(schema: z.ZodTypeAny, value: unknown, path: string, message = /from .* to /): void {
  assert.throws(
    () => parseConfig(value, schema, 'cfg.json'),
    (error: unknown) => error instanceof ConfigError && error.file === 'cfg.json' && error.path === path && message.test(error.message),
    `${path} = ${JSON.stringify(value)} must be refused (${message})`,
  );
}

const NOT_A_DURATION = /from .* to |non-negative|not a usable duration/;

for (const { name, schema, bounds } of TABLES) {
  describe(`${name} bounds`, () => {
    for (const [field, defaultValue, min, max, step] of bounds) {
      it(`should keep ${field} within ${min}..${max}`, () => {
        const defaults = parseConfig({}, schema) as Record<string, unknown>;
        assert.equal(defaults[field], defaultValue);
        if (defaultValue !== undefined) assert.ok(defaultValue >= min && defaultValue <= max);
        assert.equal((parseConfig({ [field]: min }, schema) as Record<string, unknown>)[field], min);
        assert.equal((parseConfig({ [field]: max }, schema) as Record<string, unknown>)[field], max);
        refusedAt(schema, { [field]: min - step }, field, min === 0 ? NOT_A_DURATION : undefined);
        refusedAt(schema, { [field]: max + step }, field);
        refusedAt(schema, { [field]: 1e300 }, field, NOT_A_DURATION);
      });
    }
  });
}

describe('plugin isolation bounds', () => {
  for (const [field, , min, max, step] of ISOLATION) {
    it(`should keep isolation.${field} within ${min}..${max}`, () => {
      const entry = (value: number) => ({ plugins: [{ plugin: 'print', isolation: { mode: 'worker', [field]: value } }] });
      const parsed = parseConfig(entry(max), makaiSettingsSchema);
      assert.equal((parsed.plugins[0]!.isolation as Record<string, unknown>)[field], max);
      assert.doesNotThrow(() => parseConfig(entry(min), makaiSettingsSchema));
      refusedAt(makaiSettingsSchema, entry(min - step), `plugins[0].isolation.${field}`, min === 0 ? NOT_A_DURATION : undefined);
      refusedAt(makaiSettingsSchema, entry(max + step), `plugins[0].isolation.${field}`);
    });
  }
});

describe('endpoint ports', () => {
  it('should accept 1..65535 and *, and refuse other ports naming the field', () => {
    for (const backend of ['tcp://*:1', 'tcp://127.0.0.1:65535', 'tcp://127.0.0.1:*', 'ipc:///tmp/x']) {
      assert.equal(parseConfig({ backend }, triggerBrokerConfigSchema).backend, backend);
    }
    for (const backend of ['tcp://*:0', 'tcp://*:65536', 'tcp://127.0.0.1:99999']) {
      assert.throws(() => parseConfig({ backend }, triggerBrokerConfigSchema, 'cfg.json'), (e: unknown) => e instanceof ConfigError && e.path === 'backend' && /not a TCP port/.test(e.message));
    }
  });
});
