/**
 * An example plugin: a voltage sag that lasts. A box whose RMS voltage stays below
 * `nominalVoltage × (1 − sagPercent/100)` for at least `minMessages` consecutive measurements
 * (6 per second) is reported once, when it recovers, with the whole sag as the interval.
 */
import { ConfigError, definePlugin, type EventRequest, type Measurement } from 'makai';
import { Observable, type OperatorFunction } from 'rxjs';

interface Settings {
  readonly nominalVoltage: number;
  readonly sagPercent: number;
  readonly minMessages: number;
}

/** The plugin's own settings, checked once at start-up (and by `makai validate`). */
function settingsOf(raw: Readonly<Record<string, unknown>>): Settings {
  const allowed = new Set(['path', 'name', 'plugin', 'nominalVoltage', 'sagPercent', 'minMessages']);
  for (const key of Object.keys(raw)) if (!allowed.has(key)) throw new ConfigError(`unknown setting "${key}"`, { path: key });
  const number = (key: string, fallback: number, ok: (n: number) => boolean, rule: string): number => {
    const value = raw[key] ?? fallback;
    if (typeof value !== 'number' || !ok(value)) throw new ConfigError(`must be ${rule}, got ${JSON.stringify(value)}`, { path: key });
    return value;
  };
  return {
    nominalVoltage: number('nominalVoltage', 120, (n) => n > 0, 'a positive number of volts'),
    sagPercent: number('sagPercent', 10, (n) => n > 0 && n < 100, 'a percentage between 0 and 100'),
    minMessages: number('minMessages', 3, (n) => Number.isInteger(n) && n >= 1, 'a whole number ≥ 1'),
  };
}

export default definePlugin((raw, context) => {
  const settings = settingsOf(raw);
  const limit = settings.nominalVoltage * (1 - settings.sagPercent / 100);
  context.logger.info('sustained-sag ready', { limitVolts: limit, minMessages: settings.minMessages });

  const detect: OperatorFunction<Measurement, EventRequest> = (measurements) =>
    // State per subscription: a restart after a failure starts clean.
    new Observable<EventRequest>((subscriber) => {
      const sags = new Map<number, { startMs: number; count: number; lowestVolts: number }>();
      return measurements.subscribe({
        next(m) {
          const sag = sags.get(m.id);
          if (m.rms < limit) {
            if (sag) {
              sag.count += 1;
              sag.lowestVolts = Math.min(sag.lowestVolts, m.rms);
            } else {
              sags.set(m.id, { startMs: m.time, count: 1, lowestVolts: m.rms });
            }
            return;
          }
          if (!sag) return;
          sags.delete(m.id);
          if (sag.count < settings.minMessages) return;
          subscriber.next({
            startTimestampMsUtc: sag.startMs,
            endTimestampMsUtc: m.time,
            triggerType: 'VOLTAGE_SAG',
            percentMagnitude: Number((((settings.nominalVoltage - sag.lowestVolts) / settings.nominalVoltage) * 100).toFixed(2)),
            boxIds: [m.id],
            requestee: context.name,
            description: `voltage below ${limit} V for ${sag.count} measurements`,
            requestData: true,
          });
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
  return detect;
});
