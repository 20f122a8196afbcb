import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualTimeScheduler, take } from 'rxjs';
import { silentLogger } from '../../../src/core/logger.js';
import { napaliPlugin } from '../../../src/plugins/builtin/napali.js';
import { checkEventRequest } from '../../../src/plugins/check-event-request.js';
import { emptyBoxDirectory, type EventRequest, type PluginSettings } from '../../../src/plugins/plugin.js';
import { defaultScenario, quietScenario, type Scenario } from '../../../src/simulator/scenario.js';
import { simulateFleet } from '../../../src/simulator/simulated-fleet.js';

// The napali plugin on the simulator's boxes (real signal model and noise, 6 readings/s), in
// virtual time: what an operator would see from `makai up` with the defaults.

/** Every request napali makes over `seconds` of a seeded 3-box fleet. */
function run(scenario: Scenario, seconds: number, settings: PluginSettings = {}): EventRequest[] {
  const scheduler = new VirtualTimeScheduler(undefined, Number.POSITIVE_INFINITY);
  const out: EventRequest[] = [];
  simulateFleet({ boxes: 3, seed: 7, scenario, scheduler, startMs: 0 })
    .pipe(take(3 * 6 * seconds), napaliPlugin(settings, { name: 'napali', logger: silentLogger, scheduler, boxes: emptyBoxDirectory }))
    .subscribe((request) => out.push(request));
  scheduler.flush();
  for (const request of out) assert.equal(checkEventRequest(request), undefined);
  return out;
}

describe('napali plugin on simulated boxes', () => {
  it('should make no request from 10 minutes of a quiet fleet with the defaults', () => {
    assert.deepEqual(run(quietScenario, 600), []);
  });

  it('should trigger on noise when σ alone opens windows at k = 3, which is why it is off by default', () => {
    assert.ok(run(quietScenario, 600, { sigmaOpensWindow: true }).length > 10);
  });

  it("should report the default scenario's sag, swell and frequency sag with the boxes each hit", () => {
    // Scenario: sag on 1 and 2 at 5 s, swell on 3 at 12 s, 59.8 Hz on all at 18 s (THD 7 % on 1 at 24 s joins that window).
    const requests = run(defaultScenario([1, 2, 3]), 40);
    assert.deepEqual(
      requests.map((r) => [r.startTimestampMsUtc, r.triggerType, r.boxIds]),
      [
        [5000, 'VOLTAGE_SAG', [1, 2]],
        [12_000, 'VOLTAGE_SWELL', [3]],
        [18_000, 'FREQUENCY_SAG', [1, 2, 3]],
      ],
    );
  });

  it('should keep only the events seen by several boxes with reportSingleBox off', () => {
    const requests = run(defaultScenario([1, 2, 3]), 40, { reportSingleBox: false });
    assert.deepEqual(requests.map((r) => r.boxIds), [[1, 2], [1, 2, 3]]);
  });
});
