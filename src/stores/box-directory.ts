import { type SchedulerLike, type Subscription } from 'rxjs';
import { timerDelay } from '../core/duration.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { BoxRecord } from '../protocol/documents.js';
import type { Store } from './store.js';

/**
 * A synchronous, read-only view of the box registry (`opq_boxes`), for hot paths that must not
 * wait on the store per message (trend locations, plugins, authentication).
 */
export interface BoxDirectory {
  /** The box's `location`, or undefined when the box or its location is unknown. */
  location(boxId: string): unknown;
  has(boxId: string): boolean;
  /** Every known box with a CURVE public key. */
  publicKeys(): ReadonlySet<string>;
}

/** A directory over a fixed list, for tests and for plugins run outside a store. */
export function staticBoxDirectory(boxes: readonly BoxRecord[]): BoxDirectory {
  const byId = new Map(boxes.map((b) => [b.box_id, b]));
  const keys = new Set(boxes.flatMap((b) => (b.public_key ? [b.public_key] : [])));
  return {
    location: (boxId) => byId.get(boxId)?.location,
    has: (boxId) => byId.has(boxId),
    publicKeys: () => keys,
  };
}

export interface StoreBoxDirectoryOptions {
  readonly store: Store;
  /** How often the registry is re-read, so boxes added in OPQ View are seen without a restart. */
  readonly refreshMs: number;
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
}

/**
 * A {@link BoxDirectory} kept in memory and refreshed from the store on the scheduler. A failed
 * refresh keeps the last good view (and is logged): an outage of the store never empties it.
 */
export class StoreBoxDirectory implements BoxDirectory {
  private view: BoxDirectory = staticBoxDirectory([]);
  private timer: Subscription | undefined;
  private closed = false;
  private readonly options: StoreBoxDirectoryOptions;

  /** @throws RangeError when `refreshMs` is not a repeating timer's delay (1 ms to 2^31 − 1 ms) */
  constructor(options: StoreBoxDirectoryOptions) {
    timerDelay(options.refreshMs, 'box registry refresh', 1);
    this.options = options;
  }

  /** Loads the registry once, then keeps refreshing it until {@link close}. */
  async start(): Promise<void> {
    await this.refresh();
    const again = (): void => {
      if (this.closed) return;
      this.timer = this.options.scheduler.schedule(() => void this.refresh().finally(again), this.options.refreshMs);
    };
    again();
  }

  /** Re-reads the registry now; resolves false (and keeps the old view) when the store fails. */
  async refresh(): Promise<boolean> {
    try {
      this.view = staticBoxDirectory(await this.options.store.listBoxes());
      return true;
    } catch (error) {
      this.options.logger.warn('could not refresh the box registry; keeping the last one', { error: describeError(error) });
      return false;
    }
  }

  location(boxId: string): unknown {
    return this.view.location(boxId);
  }
  has(boxId: string): boolean {
    return this.view.has(boxId);
  }
  publicKeys(): ReadonlySet<string> {
    return this.view.publicKeys();
  }

  close(): void {
    this.closed = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
  }
}
