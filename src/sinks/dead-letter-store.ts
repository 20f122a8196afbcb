import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import type { Counter } from 'prom-client';
import { ConfigError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { PREVIEW_BYTES, type Rejection } from '../core/rejection.js';
import type { DeadLetterDoc } from '../protocol/documents.js';
import type { Store } from '../stores/store.js';

export interface DeadLetterStoreOptions {
  /** Where dead letters are kept across restarts (`dead_letters`); in memory only without it. */
  readonly store?: Pick<Store, 'insertDeadLetters' | 'trimDeadLetters'>;
  /** How many of the newest are kept, in memory and in the store (default 1000). */
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

/**
 * The bounded dead-letter store: the newest `capacity` refused inputs (reason, source, first
 * bytes as hex, time), in a ring in memory and, when a store is given, in its `dead_letters`
 * collection, written in batches and trimmed to the newest `capacity` after every write.
 *
 * Plug it into the dead-letter log with one call: `deadLetterLog({ ..., keep: deadLetters.keep })`.
 *
 * Bounded whatever comes in: `keep` is O(1) and never waits on the store; a flood of garbage
 * overwrites the oldest entries, and each write carries at most `capacity` letters (older ones
 * would be trimmed anyway), so the store sees at most `capacity` inserts per `flushMs`. A failing
 * store is retried with back-off and logged once per outage; letters overwritten before they
 * could be written are counted (`makai_dead_letters_unsaved_total`).
 */
export class DeadLetterStore {
  readonly capacity: number;
  private readonly ring: (DeadLetterDoc | undefined)[];
  /** Sequence number of the newest letter (1 for the first); letter `s` lives at `ring[(s - 1) % capacity]`. */
  private newest = 0;
  /** Newest sequence number written to the store (or handed to the write in flight). */
  private written = 0;
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
    this.ring = new Array<DeadLetterDoc | undefined>(this.capacity);
    this.scheduler = options.scheduler ?? asyncScheduler;
    const m = options.metrics;
    this.stored = m.counter('makai_dead_letters_stored_total', 'Dead letters written to the store');
    this.unsaved = m.counter('makai_dead_letters_unsaved_total', 'Dead letters overwritten by newer ones before they could be written to the store');
    this.failures = m.counter('makai_dead_letters_write_failures_total', 'Failed writes of dead letters to the store');
  }

  /** Keeps one rejection. Never throws, never waits: pass it as the dead-letter log's `keep`. */
  readonly keep = (rejection: Rejection): void => {
    const doc = toDeadLetterDoc(rejection, this.scheduler.now());
    this.newest++;
    const evicted = this.newest - this.capacity;
    if (this.options.store && evicted > this.written) {
      // The letter being overwritten never reached the store.
      this.unsaved.inc();
      this.written = evicted;
    }
    this.ring[(this.newest - 1) % this.capacity] = doc;
    if (this.options.store && !this.closed && !this.timer && !this.inFlight) this.scheduleFlush();
  };

  /** The newest `limit` (default all kept) dead letters, newest first. */
  recent(limit: number = this.capacity): DeadLetterDoc[] {
    const out: DeadLetterDoc[] = [];
    const oldest = Math.max(1, this.newest - this.capacity + 1);
    for (let seq = this.newest; seq >= oldest && out.length < limit; seq--) out.push(this.at(seq));
    return out;
  }

  /** Writes the letters not written yet now; resolves when done (a failure is logged, not thrown). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (!this.options.store || this.written >= this.newest) return;
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

  private at(seq: number): DeadLetterDoc {
    return this.ring[(seq - 1) % this.capacity] as DeadLetterDoc;
  }

  private scheduleFlush(): void {
    this.timer = this.scheduler.schedule(() => {
      this.timer = undefined;
      void this.flush().then(() => {
        if (!this.closed && this.written < this.newest && !this.timer) this.scheduleFlush();
      });
    }, this.delayMs);
  }

  private async write(): Promise<void> {
    const store = this.options.store as NonNullable<DeadLetterStoreOptions['store']>;
    const from = Math.max(this.written, this.newest - this.capacity) + 1;
    const upTo = this.newest;
    const batch: DeadLetterDoc[] = [];
    for (let seq = from; seq <= upTo; seq++) batch.push(this.at(seq));
    const before = this.written;
    this.written = upTo;
    try {
      await store.insertDeadLetters(batch);
      this.stored.inc(batch.length);
      if (this.failing) this.options.logger.info('dead letters written again', { written: batch.length });
      this.failing = false;
      this.delayMs = this.flushMs;
    } catch (error) {
      // Put the batch back for the next try, except letters overwritten while it was in flight.
      const gone = this.newest - this.capacity;
      const lost = Math.min(gone, upTo) - before; // later ones were counted by keep()
      if (lost > 0) this.unsaved.inc(lost);
      this.written = Math.max(before, gone);
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
      await store.trimDeadLetters(this.capacity);
    } catch (error) {
      // Harmless: the next write trims again.
      this.options.logger.debug('could not trim dead letters', { error: describeError(error) });
    }
  }
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
