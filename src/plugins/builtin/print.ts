import { ignoreElements, tap } from 'rxjs';
import { z } from 'zod';
import { parsePluginSettings } from '../parse-plugin-settings.js';
import { definePlugin } from '../plugin.js';

const printSettingsSchema = z
  .object({
    path: z.string().optional(),
    name: z.string().optional(),
    plugin: z.string().optional(),
    /** Log every measurement (at info). Defaults to true: loading `print` is asking for it. */
    print: z.boolean({ invalid_type_error: 'must be true or false' }).default(true),
  })
  .strict();

/**
 * Built-in `print` plugin (spec §5.7): logs each measurement through the plugin's logger at
 * info when `print` is true, and never emits a request.
 *
 * Unlike the original, which silently fell back to `false` on a malformed setting, a `print`
 * that is not a boolean is a `ConfigError` naming the field.
 *
 * ```
 * measurements: -a-b-c-|
 * output:       -------|     (a, b, c logged)
 * ```
 *
 * @throws ConfigError when `print` is not a boolean or an unknown setting is given.
 */
export const printPlugin = definePlugin((settings, context) => {
  const { print } = parsePluginSettings(printSettingsSchema, settings);
  return (measurements) =>
    measurements.pipe(
      tap((m) => {
        if (print) context.logger.info('measurement', { ...m });
      }),
      ignoreElements(),
    );
});

export default printPlugin;
