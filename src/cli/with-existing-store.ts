import { access } from 'node:fs/promises';
import { StoreError } from '../core/errors.js';
import { openStore, storeTarget, type OpenStoreDeps } from '../stores/open-store.js';
import type { Store } from '../stores/store.js';
import { UsageError, userMessage, type CliIo } from './command.js';

/**
 * Opens a store to read from it (`makai events`, `makai trends`): as {@link openStore}, except
 * that a SQLite file that does not exist is an error, not a new empty database left behind by
 * a mistyped path.
 *
 * @throws ConfigError (rejected) for an empty or unsupported URI.
 * @throws StoreError (rejected, not retryable) when the SQLite file does not exist, or as openStore.
 */
export async function openExistingStore(uri: string, deps: OpenStoreDeps = {}): Promise<Store> {
  let target: ReturnType<typeof storeTarget>;
  try {
    target = storeTarget(uri.trim());
  } catch {
    // openStore reports the malformed URI as a ConfigError.
    target = undefined;
  }
  if (target?.kind === 'sqlite' && target.path !== ':memory:') {
    try {
      await access(target.path);
    } catch (error) {
      throw new StoreError('open', `no store at ${target.path} (the file does not exist; pass --store sqlite:<file> or mongodb://…)`, false, { cause: error });
    }
  }
  return openStore(uri, deps);
}

/**
 * Runs `body` on an existing store and closes it afterwards. Any failure (a bad URI, a missing
 * file, an unreachable server, a refused read) is written to `io.err` as one line prefixed with
 * `label` and gives exit code 1: no stack trace. {@link UsageError}s pass through to `main`,
 * which prints the usage.
 *
 * @param label Prefix of error lines, e.g. `makai events show`.
 * @returns The exit code `body` returns, or 1 on failure.
 */
export async function withExistingStore(uri: string, label: string, io: CliIo, body: (store: Store) => Promise<number>): Promise<number> {
  let store: Store;
  try {
    store = await openExistingStore(uri);
  } catch (error) {
    io.err(`${label}: ${userMessage(error)}`);
    return 1;
  }
  try {
    return await body(store);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    io.err(`${label}: ${userMessage(error)}`);
    return 1;
  } finally {
    await store.close().catch(() => undefined);
  }
}
