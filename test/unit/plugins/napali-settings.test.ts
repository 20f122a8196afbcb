import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { RecordingLogger } from '../../../src/core/logger.js';
import { napaliPlugin } from '../../../src/plugins/builtin/napali.js';
import { parseNapaliSettings } from '../../../src/plugins/builtin/napali-settings.js';
import { emptyBoxDirectory, type PluginSettings } from '../../../src/plugins/plugin.js';
import { createTestScheduler } from '../../../src/testing/index.js';

/** Asserts that the settings are refused with a ConfigError at `path` whose message matches. */
function refused(settings: PluginSettings, path: string, message: RegExp): void {
  assert.throws(
    () => parseNapaliSettings(settings),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(error.path, path);
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('napali settings', () => {
  it('should fill in every default, in the wire units the detector uses', () => {
    assert.deepEqual(parseNapaliSettings({ plugin: 'napali' }), {
      plugin: 'napali',
      smoothingFactor: 0.05,
      sigmas: 3,
      warmupSamples: 60,
      minSigmaFrequency: 0.005,
      minSigmaVoltage: 0.05,
      minSigmaThdPercent: 0.05,
      minFrequency: 59.9,
      maxFrequency: 60.1,
      minVoltage: 115,
      maxVoltage: 125,
      maxThdPercent: 5,
      sigmaOpensWindow: false,
      graceMs: 5000,
      reportSingleBox: true,
      padBeforeMs: 0,
      padAfterMs: 1000,
      maxWindowMs: 600_000,
      requestee: 'Makai: napali plugin',
      requestData: true,
    });
  });

  it('should read durations with units', () => {
    const parsed = parseNapaliSettings({ graceMs: '2s', padAfterMs: '500ms', maxWindowMs: 'PT5M' });
    assert.deepEqual([parsed.graceMs, parsed.padAfterMs, parsed.maxWindowMs], [2000, 500, 300_000]);
  });

  it('should refuse a misspelt setting, naming it with a did-you-mean', () => {
    refused({ smoothingFacter: 0.1 }, 'smoothingFacter', /unknown setting "smoothingFacter" \(did you mean "smoothingFactor"\?\)/);
    refused({ reportSingleBoxes: false }, 'reportSingleBoxes', /did you mean "reportSingleBox"/);
  });

  it('should refuse values out of range, naming the field', () => {
    refused({ smoothingFactor: 0 }, 'smoothingFactor', /greater than 0/);
    refused({ smoothingFactor: 1.5 }, 'smoothingFactor', /less than or equal to 1/);
    refused({ sigmas: -1 }, 'sigmas', /greater than 0/);
    refused({ warmupSamples: 2.5 }, 'warmupSamples', /integer/);
    refused({ minSigmaVoltage: 0 }, 'minSigmaVoltage', /greater than 0/);
    refused({ graceMs: 0 }, 'graceMs', /longer than 0 ms/);
    refused({ graceMs: 'soon' }, 'graceMs', /soon/);
    refused({ maxThdPercent: 150 }, 'maxThdPercent', /less than or equal to 100/);
    refused({ reportSingleBox: 'no' }, 'reportSingleBox', /boolean/);
  });

  it('should refuse hard limits the wrong way round, naming the limit given (the upper one when both)', () => {
    refused({ minVoltage: 130 }, 'minVoltage', /below the upper limit \(125 V\)/);
    refused({ maxVoltage: 110 }, 'maxVoltage', /above the lower limit \(115 V\)/);
    refused({ minFrequency: 60.2, maxFrequency: 60.1 }, 'maxFrequency', /above the lower limit \(60.2 Hz\)/);
    refused({ rms_min: 130 }, 'rms_min', /below the upper limit \(125 V\)/);
    refused({ f_min: 60.2, f_max: 60.1 }, 'f_max', /above the lower limit \(60.2 Hz\)/);
  });

  it("should accept the original plugin's setting names, THD as a ratio", () => {
    const parsed = parseNapaliSettings({
      path: './libnapali_plugin.so',
      alpha: 0.1,
      f_min: 59.8,
      f_max: 60.2,
      rms_min: 110,
      rms_max: 130,
      thd_max: 0.05,
      trans_max: 7,
      grace_time_ms: 3000,
      trigger_local: false,
      debug: true,
    });
    assert.deepEqual(
      [parsed.smoothingFactor, parsed.minFrequency, parsed.maxFrequency, parsed.minVoltage, parsed.maxVoltage, parsed.maxThdPercent, parsed.graceMs, parsed.reportSingleBox],
      [0.1, 59.8, 60.2, 110, 130, 5, 3000, false],
    );
    assert.equal('alpha' in parsed || 'trans_max' in parsed || 'debug' in parsed, false);
  });

  it("should refuse an original name with its field's name, and an original name beside its new one", () => {
    refused({ alpha: 2 }, 'alpha', /less than or equal to 1/);
    refused({ thd_max: 5 }, 'thd_max', /ratio in the original/);
    refused({ alpha: 0.1, smoothingFactor: 0.2 }, 'alpha', /original's name for "smoothingFactor"; give only one/);
  });

  it('should log the original settings that have no effect, once, from the factory', () => {
    const logger = new RecordingLogger();
    napaliPlugin({ trans_max: 7, debug: false }, { name: 'napali', logger, scheduler: createTestScheduler(), boxes: emptyBoxDirectory });
    assert.deepEqual(logger.records.map((r) => r.level), ['warn']);
    assert.match(logger.records[0]?.msg ?? '', /"trans_max" and "debug" of the original plugin have no effect/);
  });
});
