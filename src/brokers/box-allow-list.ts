import { watch, type FSWatcher } from 'node:fs';
import { BehaviorSubject, distinctUntilChanged, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { timerDelay } from '../core/duration.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { loadPublicKeysFromDir } from '../security/public-key-directory.js';

/** The part of the box registry the allow-list reads (a `StoreBoxDirectory`). */
export interface KeyRegistry {
  /** Re-reads the registry; resolves false (keeping the last view) when the store fails. */
  refresh(): Promise<boolean>;
  /** Every registered box's CURVE public key. */
  publicKeys(): ReadonlySet<string>;
}

export interface BoxAllowListOptions {
  /** Directory of client certificates (`client_certs`); must exist. */
  readonly clientCertsDir: string;
  /** Box registry whose `public_key`s are allowed too; none when the broker has no store. */
  readonly registry?: KeyRegistry;
  /** `white_list: false`: any key may connect (traffic is still encrypted). Logged loudly at start. */
  readonly allowAny: boolean;
  /** How often the directory and the registry are re-read, ms. */
  readonly refreshMs: number;
  /**
   * Also re-read as soon as the directory changes (`fs.watch`), besides the periodic rescan
   * that remains the fallback where watching is unsupported. Default true.
   */
  readonly watch?: boolean;
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
}

/** Shortest time between two rescans started by unknown keys knocking (ms). */
const MISS_RESCAN_MS = 1_000;

/**
 * The CURVE public keys allowed to connect to a broker's box sockets: the union of the
 * certificates in `client_certs` and the `public_key`s of the box registry (spec §3, where the
 * original read them once at start and ignored `client_certs`).
 *
 * Both are re-read while running — periodically on the scheduler, when the directory changes,
 * and (rate-limited) when an unknown key knocks — so a new certificate or registry entry is
 * accepted without a restart. A failed re-read keeps the last good set: an outage of the store
 * or a half-written file never locks known boxes out.
 *
 * `isAllowed` answers known keys synchronously; an unknown key waits for one rescan.
 */
export class BoxAllowList {
  private readonly options: BoxAllowListOptions;
  private readonly logger: Logger;
  private readonly keys$ = new BehaviorSubject<ReadonlySet<string>>(new Set());
  private timer: Subscription | undefined;
  private watcher: FSWatcher | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private lastMissRescanMs = Number.NEGATIVE_INFINITY;
  private closed = false;
  /** Files whose problems were already logged, so a bad file is reported once, not every rescan. */
  private reported = new Set<string>();

  /** @throws RangeError when `refreshMs` is not a repeating timer's delay (1 ms to 2^31 − 1 ms) */
  constructor(options: BoxAllowListOptions) {
    timerDelay(options.refreshMs, 'key_refresh', 1);
    this.options = options;
    this.logger = options.logger;
  }

  /**
   * Emits the allowed set now and whenever it changes (not on every rescan). Tests and status
   * pages await a key here instead of sleeping.
   */
  get changes(): Observable<ReadonlySet<string>> {
    return this.keys$.pipe(distinctUntilChanged(sameKeys));
  }

  /** The keys allowed right now. */
  keys(): ReadonlySet<string> {
    return this.keys$.value;
  }

  /**
   * Whether a client with this Z85 public key may connect. An unknown key may belong to a box
   * added a moment ago, so it triggers a rescan first (at most one per second, so a flood of
   * strangers cannot turn into a flood of directory reads) and is then decided on the fresh set.
   * A refused libzmq client does not retry on its own, which is why the first answer matters.
   */
  isAllowed(publicKeyZ85: string): boolean | Promise<boolean> {
    if (this.options.allowAny || this.keys$.value.has(publicKeyZ85)) return true;
    const now = this.options.scheduler.now();
    if (this.closed || now - this.lastMissRescanMs < MISS_RESCAN_MS) return false;
    this.lastMissRescanMs = now;
    return this.refresh().then(() => this.keys$.value.has(publicKeyZ85));
  }

  /**
   * Loads the keys once, then keeps them fresh until {@link close}.
   *
   * @throws ConfigError when `client_certs` is missing or not a directory (the original refused to start too)
   */
  async start(): Promise<void> {
    await this.load(true);
    if (this.options.allowAny) {
      this.logger.warn('WHITELISTING DISABLED (white_list: false): ANY CURVE client key may connect; traffic is encrypted but not authenticated', {
        clientCerts: this.options.clientCertsDir,
      });
    } else {
      this.logger.info('box allow-list loaded', { keys: this.keys().size, clientCerts: this.options.clientCertsDir });
      if (this.keys().size === 0) this.logger.warn('the box allow-list is empty: no box can connect until a certificate or registry key is added');
    }
    if (this.options.watch ?? true) this.startWatching();
    const tick = (): void => {
      if (this.closed) return;
      this.timer = this.options.scheduler.schedule(() => void this.refresh().finally(tick), this.options.refreshMs);
    };
    tick();
  }

  /** Re-reads the directory and the registry now; concurrent calls coalesce into at most one more pass. */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.load(false).catch((error: unknown) => {
            this.logger.warn('could not re-read the client certificates; keeping the last allow-list', { error: describeError(error) });
          });
        } while (this.again && !this.closed);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Stops rescanning and watching. Idempotent. */
  close(): void {
    this.closed = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    this.keys$.complete();
  }

  private async load(first: boolean): Promise<void> {
    const [directory] = await Promise.all([
      loadPublicKeysFromDir(this.options.clientCertsDir),
      this.options.registry?.refresh(),
    ]);
    if (this.closed) return;
    for (const problem of directory.problems) {
      const key = problem.message;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      this.logger.warn('ignoring an unusable client certificate', { error: problem.message });
    }
    const next = new Set(directory.keys.map((entry) => entry.publicKey));
    for (const key of this.options.registry?.publicKeys() ?? []) next.add(key);
    const previous = this.keys$.value;
    if (!first && !sameKeys(previous, next)) {
      const added = [...next].filter((key) => !previous.has(key));
      const removed = [...previous].filter((key) => !next.has(key));
      this.logger.info('box allow-list changed', { keys: next.size, added, removed });
    }
    this.keys$.next(next);
  }

  private startWatching(): void {
    try {
      this.watcher = watch(this.options.clientCertsDir, { persistent: false }, () => void this.refresh());
      this.watcher.on('error', (error) => {
        this.logger.warn('stopped watching the client certificate directory; periodic rescans continue', { error: describeError(error) });
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (error) {
      this.logger.warn('cannot watch the client certificate directory; relying on periodic rescans', { error: describeError(error) });
    }
  }
}

function sameKeys(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const key of a) if (!b.has(key)) return false;
  return true;
}
