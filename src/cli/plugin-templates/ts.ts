import { TEMPLATE_RULE, templateTest, type PluginTemplate } from './template.js';

/** `--lang ts`: a TypeScript plugin module (an RxJS operator), loaded as is through tsx. */
export const typescriptTemplate: PluginTemplate = {
  summary: 'a TypeScript plugin module (an RxJS operator over measurements), run in-process',
  entryFile: (name) => `${name}.ts`,
  nextSteps: (name) => [`node --import tsx --test ${name}.test.ts`],
  files: (name) => [
    {
      path: `${name}.ts`,
      content: `/**
 * ${name}: a Makai plugin. ${TEMPLATE_RULE.replace(/\n/g, '\n * ')}
 */
import { ConfigError, definePlugin, type EventRequest, type Measurement } from 'makai';
import { Observable, type OperatorFunction } from 'rxjs';

/** The plugin's own settings, checked once at start-up (and by \`makai validate\`). */
function settingsOf(raw: Readonly<Record<string, unknown>>) {
  const allowed = new Set(['path', 'name', 'plugin', 'nominalVoltage', 'sagPercent', 'minMessages']);
  for (const key of Object.keys(raw)) if (!allowed.has(key)) throw new ConfigError(\`unknown setting "\${key}"\`, { path: key });
  const number = (key: string, fallback: number, ok: (n: number) => boolean, rule: string): number => {
    const value = raw[key] ?? fallback;
    if (typeof value !== 'number' || !ok(value)) throw new ConfigError(\`must be \${rule}, got \${JSON.stringify(value)}\`, { path: key });
    return value;
  };
  return {
    nominalVoltage: number('nominalVoltage', 120, (n) => n > 0, 'a positive number of volts'),
    sagPercent: number('sagPercent', 10, (n) => n > 0 && n < 100, 'a percentage between 0 and 100'),
    minMessages: number('minMessages', 3, (n) => Number.isInteger(n) && n >= 1, 'a whole number >= 1'),
  };
}

export default definePlugin((raw, context) => {
  const settings = settingsOf(raw);
  const limit = settings.nominalVoltage * (1 - settings.sagPercent / 100);

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
            percentMagnitude: ((settings.nominalVoltage - sag.lowestVolts) / settings.nominalVoltage) * 100,
            boxIds: [m.id],
            requestee: context.name,
            description: \`voltage below \${limit} V for \${sag.count} measurements\`,
            requestData: true,
          });
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
  return detect;
});
`,
    },
    templateTest(name, `${name}.ts`, undefined),
  ],
};
