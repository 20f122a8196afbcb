import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { StoreChoice } from '../config/store-choice.js';
import { checkStoreUri } from '../stores/open-store.js';

/** The flag that lets a command create a missing store directory. */
export const CREATE_STORE_DIR_FLAG = '--create-store-dir';

/**
 * Makes sure the directory of a SQLite store exists before the store is opened (which would
 * create it, and any parents, silently: `--store sqlite:/data/mkai/x.db` would then run on a
 * new empty database in a mistyped place).
 *
 * A missing directory is created when `create` is set (the command's `--create-store-dir`) or
 * when the URI is the command's built-in default (no `configPath`: `./data` is ours to make);
 * a URI the user wrote (a flag or a config field) is refused otherwise. MongoDB URIs and
 * `:memory:` pass unchecked.
 *
 * @throws ConfigError (rejected) naming the flag or config field, the directory and the way out.
 */
export async function ensureStoreDirectory(
  choice: StoreChoice,
  options: { readonly create: boolean; /** Only check (`makai validate`): refuse as a run would, create nothing. */ readonly checkOnly?: boolean },
): Promise<void> {
  const target = checkStoreUri(choice.uri, choice.origin);
  if (target.kind !== 'sqlite' || target.path === ':memory:') return;
  const directory = dirname(resolve(target.path));
  if (await exists(directory)) return;
  if (options.create || choice.origin.configPath === undefined) {
    if (!options.checkOnly) await mkdir(directory, { recursive: true });
    return;
  }
  const where = { ...(choice.origin.configFile ? { file: choice.origin.configFile } : {}), path: choice.origin.configPath };
  throw new ConfigError(
    `the directory ${directory} of the store ${target.path} does not exist; create it, or pass ${CREATE_STORE_DIR_FLAG} to have it created`,
    where,
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
