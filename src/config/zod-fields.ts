import { z } from 'zod';
import { parseDuration } from '../core/duration.js';

/** Config field types shared by every config schema. */

/** A duration: ms number, `"1m"`, `"200ms"`, or ISO-8601 `"PT1M"`; parsed to ms. */
export const durationField = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const parsed = parseDuration(value);
  if ('error' in parsed) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed.error });
    return z.NEVER;
  }
  return parsed.ms;
});

/** A ZeroMQ endpoint such as `tcp://*:9880`, `tcp://127.0.0.1:9881`, `ipc:///tmp/x` or `inproc://x`. */
export const endpointField = z
  .string()
  .regex(/^(tcp|ipc|inproc):\/\/.+/, 'expected a ZeroMQ endpoint like "tcp://127.0.0.1:9881"');

/** A whole positive number of something (seconds, ms, count). */
export const positiveInt = z.number().int().positive();
