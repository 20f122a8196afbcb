import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { ConfigError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Counter, Metrics } from '../core/metrics.js';
import { PREVIEW_BYTES, type Rejection } from '../core/rejection.js';
import type { DeadLetterDoc } from '../protocol/documents.js';
import type { Store } from '../stores/store.js';

export interface DeadLetterStoreOptions {
  /** Where dead letters are kept across restarts (`dead_letters`); in memory only without it. */
  readonly store?: Pick<Store, 'insertDeadLetters' | 'trimDeadLetters'>;
  /**
   * How many of the newest are kept **per source and reason**, in memory and in the store
   * (default 1000). Per reason, so a flood of one kind (late trend messages, say) cannot evict
   * the few decode failures an operator is looking for; per source too, because stages share
   * reason labels (`out-of-range` from `decode` and from `trends`). Both are small fixed sets
   * of labels (stage names, `DecodeFailure`), so the total stays bounded.
   */
  readonly capacity?: number;
  /** Longest a dead letter waits before it is written (ms, default 1000). */
  readonly flushMs?: number;
  /** Longest wait between retries after failed writes (ms, default 60000); the delay doubles from `flushMs`. */
  readonly maxBackoffMs?: number;
  readonly scheduler?: SchedulerLike;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Longest `detail` kept: the reason and the first bytes tell the story; the rest would only grow the store. */
const MAX_DETAIL_CHARS = 500;
const MAX_LABEL_CHARS = 64;

/** The newest letters of one source and reason. Letter `s` (1 for the first) lives at `slots[(s - 1) % capacity]`. */
interface ReasonRing {
  readonly source: string;
  readonly reason: string;
  readonly slots: (Kept | undefined)[];
  /** Sequence number of the newest letter of this source and reason. */
  newest: number;
  /** Newest sequence number written to the store (or handed to the write in flight). */
  written: number;
}

/** A letter and its place in the arrival order over all reasons (for "newest first" across rings). */
interface Kept {
  readonly doc: DeadLetterDoc;
  readonly order: number;
}

/**
 * The bounded dead-letter store: per source and reason, the newest `capacity` refused inputs
 * (reason, source, first bytes as hex, time), in a ring in memory and, when a store is given,
 * in its `dead_letters` collection, written in batches and trimmed per source and reason to the newest
 * `capacity` after every write. `makai deadletters` lists them newest first, all reasons mixed.
 *
 * Plug it into the dead-letter log with one call: `deadLetterLog({ ..., keep: deadLetters.keep })`.
 *
 * Bounded whatever comes in: `keep` is O(1) and never waits on the store; a flood of garbage
 * overwrites the oldest entries of its own source and reason only, and each write carries at
 * most `capacity` letters per ring (older ones would be trimmed anyway). A failing store is
 * retried with back-off and logged once per outage; letters overwritten before they could be
 * written are counted (`makai_dead_letters_unsaved_total`).
 */
export class DeadLetterStore {
  readonly capacity: number;
  private readonly rings = new Map<string, ReasonRing>();
  /** Letters kept so far over all reasons (arrival order). */
  private arrived = 0;
  private readonly options: DeadLetterStoreOptions;
  private readonly scheduler: SchedulerLike;
  private readonly flushMs: number;
  private readonly maxBackoffMs: number;
  private delayMs: number;
  private timer: Subscription | undefined;
  private inFlight: Promise<void> | undefined;
  private failing = false;
  private closed = false;
  private readonly stored: Counter<string>;
  private readonly unsaved: Counter<string>;
  private readonly failures: Counter<string>;

  constructor(options: DeadLetterStoreOptions) {
    this.options = options;
    this.capacity = options.capacity ?? 1000;
    this.flushMs = options.flushMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    if (!Number.isSafeInteger(this.capacity) || this.capacity < 1) {
      throw new ConfigError(`must be a whole number ≥ 1, got ${this.capacity}`, { path: 'capacity' });
    }
    if (!(this.flushMs > 0)) throw new ConfigError(`must be a positive number of ms, got ${this.flushMs}`, { path: 'flushMs' });
    this.delayMs = this.flushMs;
    this.scheduler = options.scheduler ?? asyncScheduler;
    const m = options.metrics;
    this.stored = m.counter('makai_dead_letters_stored_total', 'Dead letters written to the store');
    this.unsaved = m.counter('makai_dead_letters_unsaved_total', 'Dead letters overwritten by newer ones before they could be written to the store');
    this.failures = m.counter('makai_dead_letters_write_failures_total', 'Failed writes of dead letters to the store');
  }

  /** Keeps one rejection. Never throws, never waits: pass it as the dead-letter log's `keep`. */
  readonly keep = (rejection: Rejection): void => {
    const doc = toDeadLetterDoc(rejection, this.scheduler.now());
    const ring = this.ringOf(doc.source, doc.reason);
    ring.newest++;
    const evicted = ring.newest - this.capacity;
    if (this.options.store && evicted > ring.written) {
      // The letter being overwritten never reached the store.
      this.unsaved.inc();
      ring.written = evicted;
    }
    ring.slots[(ring.newest - 1) % this.capacity] = { doc, order: ++this.arrived };
    if (this.options.store && !this.closed && !this.timer && !this.inFlight) this.scheduleFlush();
  };

  /** The newest `limit` (default all kept) dead letters over all reasons, newest first. */
  recent(limit: number = Infinity): DeadLetterDoc[] {
    const all: Kept[] = [];
    for (const ring of this.rings.values()) {
      for (let seq = ring.newest; seq >= Math.max(1, ring.newest - this.capacity + 1); seq--) all.push(at(ring, seq, this.capacity));
    }
    all.sort((a, b) => b.order - a.order);
    return all.slice(0, limit).map((kept) => kept.doc);
  }

  /** Writes the letters not written yet now; resolves when done (a failure is logged, not thrown). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (!this.options.store || !this.unwritten()) return;
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.inFlight = this.write().finally(() => (this.inFlight = undefined));
    await this.inFlight;
  }

  /** Stops the timer and writes what is left once. Later `keep` calls are kept in memory only. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
    await this.flush();
  }

  private ringOf(source: string, reason: string): ReasonRing {
    const key = `${source}\u0000${reason}`;
    let ring = this.rings.get(key);
    if (!ring) {
      ring = { source, reason, slots: new Array<Kept | undefined>(this.capacity), newest: 0, written: 0 };
      this.rings.set(key, ring);
    }
    return ring;
  }

  private unwritten(): boolean {
    for (const ring of this.rings.values()) if (ring.written < ring.newest) return true;
    return false;
  }

  private scheduleFlush(): void {
    this.timer = this.scheduler.schedule(() => {
      this.timer = undefined;
      void this.flush().then(() => {
        if (!this.closed && this.unwritten() && !this.timer) this.scheduleFlush();
      });
    }, this.delayMs);
  }

  private async write(): Promise<void> {
    const store = this.options.store as NonNullable<DeadLetterStoreOptions['store']>;
    const taken: { ring: ReasonRing; before: number; upTo: number }[] = [];
    const batch: Kept[] = [];
    for (const ring of this.rings.values()) {
      if (ring.written >= ring.newest) continue;
      const from = Math.max(ring.written, ring.newest - this.capacity) + 1;
      for (let seq = from; seq <= ring.newest; seq++) batch.push(at(ring, seq, this.capacity));
      taken.push({ ring, before: ring.written, upTo: ring.newest });
      ring.written = ring.newest;
    }
    // Arrival order, so the store's insertion order (its tie-break) matches ours.
    batch.sort((a, b) => a.order - b.order);
    try {
      await store.insertDeadLetters(batch.map((kept) => kept.doc));
      this.stored.inc(batch.length);
      if (this.failing) this.options.logger.info('dead letters written again', { written: batch.length });
      this.failing = false;
      this.delayMs = this.flushMs;
    } catch (error) {
      // Put the batch back for the next try, except letters overwritten while it was in flight.
      for (const { ring, before, upTo } of taken) {
        const gone = ring.newest - this.capacity;
        const lost = Math.min(gone, upTo) - before; // later ones were counted by keep()
        if (lost > 0) this.unsaved.inc(lost);
        ring.written = Math.max(before, gone);
      }
      this.failures.inc();
      if (!this.failing) {
        this.options.logger.warn('could not write dead letters; keeping the newest in memory and retrying', {
          letters: batch.length,
          error: describeError(error),
        });
      }
      this.failing = true;
      this.delayMs = Math.min(this.delayMs * 2, this.maxBackoffMs);
      return;
    }
    try {
      for (const { ring } of taken) await store.trimDeadLetters(this.capacity, { source: ring.source, reason: ring.reason });
    } catch (error) {
      // Harmless: the next write trims again.
      this.options.logger.debug('could not trim dead letters', { error: describeError(error) });
    }
  }
}

function at(ring: ReasonRing, seq: number, capacity: number): Kept {
  return ring.slots[(seq - 1) % capacity] as Kept;
}

/** The stored form of a rejection, with every text field bounded. */
export function toDeadLetterDoc(rejection: Rejection, nowMs: number): DeadLetterDoc {
  const at = Number.isFinite(rejection.atMs) ? rejection.atMs : nowMs;
  return {
    source: clip(String(rejection.source), MAX_LABEL_CHARS),
    reason: clip(String(rejection.reason), MAX_LABEL_CHARS),
    detail: clip(String(rejection.detail), MAX_DETAIL_CHARS),
    preview: clip(String(rejection.preview), PREVIEW_BYTES * 2),
    at_ms: Math.trunc(at),
  };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + '…';
}
