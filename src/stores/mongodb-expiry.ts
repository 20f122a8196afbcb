import { MongoServerError, type Collection } from 'mongodb';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * How expired `measurements` are removed:
 * - `ttl-index`: the server's TTL monitor, through `{expireAt: 1}` with `expireAfterSeconds: 0`
 *   (spec §4.1; MongoDB deletes documents about a minute after `expireAt`);
 * - `sweep`: this process runs `deleteExpiredMeasurements(now)` periodically, for servers that
 *   refuse TTL indexes (FerretDB 1.x answers `NotImplemented`) or accept them without ever
 *   expiring anything;
 * - `off`: neither; whoever owns the database expires measurements (or keeps them).
 */
export type MongoExpiryMode = 'ttl-index' | 'sweep' | 'off';

/** What the store is asked to do: `auto` picks `ttl-index` where the server honours it, else `sweep`. */
export type MongoExpiryOption = 'auto' | 'sweep' | 'off';

/** What the server said about itself (`buildInfo`). */
export interface MongoServerInfo {
  readonly version: string;
  /** Set by FerretDB (`ferretdbVersion` in `buildInfo`), e.g. `v1.24.2`. */
  readonly ferretdbVersion?: string;
}

/** Errors that mean "this server will not make that TTL index": not implemented, or options clash with an existing `expireAt_1`. */
const TTL_REFUSED = new Set([
  238, // NotImplemented (FerretDB 1.x)
  115, // CommandNotSupported
  67, // CannotCreateIndex
  85, // IndexOptionsConflict: a plain expireAt_1 exists (made by an earlier sweep-mode store)
  86, // IndexKeySpecsConflict
  197, // InvalidIndexSpecificationOption
]);

/**
 * Creates the index that expiry needs and decides the mode (see {@link MongoExpiryMode}).
 *
 * `auto`: asks for the TTL index. If the server refuses it, or accepts it but is FerretDB 1.x
 * (whose TTL support is absent), the mode is `sweep`, with a plain `{expireAt: 1}` index so the
 * sweep's range delete stays cheap. Other index errors are thrown.
 *
 * @returns The mode and why, for the one start-up log line.
 * @internal
 */
export async function setUpMeasurementExpiry(
  measurements: Collection,
  option: MongoExpiryOption,
  server: MongoServerInfo,
): Promise<{ mode: MongoExpiryMode; reason: string }> {
  if (option === 'off') return { mode: 'off', reason: 'expiry: off was configured' };
  if (option === 'sweep') {
    await ensurePlainExpireAtIndex(measurements);
    return { mode: 'sweep', reason: 'expiry: sweep was configured' };
  }
  try {
    await measurements.createIndex({ expireAt: 1 }, { expireAfterSeconds: 0, background: true });
  } catch (error) {
    if (!(error instanceof MongoServerError && typeof error.code === 'number' && TTL_REFUSED.has(error.code))) throw error;
    await ensurePlainExpireAtIndex(measurements);
    return { mode: 'sweep', reason: `the server refused a TTL index (${describeError(error)})` };
  }
  if (server.ferretdbVersion !== undefined && /^v?1\./.test(server.ferretdbVersion)) {
    return { mode: 'sweep', reason: `FerretDB ${server.ferretdbVersion} accepts TTL indexes but never expires documents` };
  }
  return { mode: 'ttl-index', reason: 'the server expires documents through the TTL index on measurements.expireAt' };
}

/** A plain index on `expireAt`, unless one with that key (TTL or not) already exists. */
async function ensurePlainExpireAtIndex(measurements: Collection): Promise<void> {
  try {
    await measurements.createIndex({ expireAt: 1 });
  } catch (error) {
    // An existing expireAt_1 with other options (a TTL index) serves the sweep as well.
    if (!(error instanceof MongoServerError && (error.code === 85 || error.code === 86))) throw error;
  }
}

export interface SweeperOptions {
  readonly intervalMs: number;
  /** Deletes what expired by `now`; returns how many. */
  readonly sweep: (now: Date) => Promise<number>;
  readonly logger: Logger;
  /** Called after every sweep (deleted count, or the error it failed with). */
  readonly onSweep?: (result: { readonly deleted: number } | { readonly error: unknown }) => void;
}

/**
 * Runs `sweep(new Date())` every `intervalMs` on a timer that does not keep the process alive.
 * A sweep never overlaps the previous one; a failed sweep is logged (and counted by `sweep`
 * itself) and the next tick tries again. The first sweep runs one interval after the start.
 *
 * @returns `stop`, which clears the timer (a running sweep finishes on its own).
 * @internal
 */
export function startExpirySweeper(options: SweeperOptions): { stop(): void } {
  let running = false;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = true;
    options.sweep(new Date()).then(
      (deleted) => {
        running = false;
        if (deleted > 0) options.logger.debug('swept expired measurements', { deleted });
        options.onSweep?.({ deleted });
      },
      (error: unknown) => {
        running = false;
        options.logger.warn('sweeping expired measurements failed; retrying next interval', { error: describeError(error) });
        options.onSweep?.({ error });
      },
    );
  };
  const timer = setInterval(tick, Math.max(1, options.intervalMs));
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
