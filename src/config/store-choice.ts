/** Where a store URI came from, in the shape of `openStore`'s options, so a ConfigError points there. */
export interface StoreOrigin {
  /** The config file the URI was read from; absent for a flag or a built-in default. */
  readonly configFile?: string;
  /** The field of that file, or the flag (`--store`); absent for a built-in default. */
  readonly configPath?: string;
}

/**
 * A store URI and where it came from, so that a URI the store refuses is reported where the
 * user wrote it (`makai.json: mongo_host: …`, `--store: …`), not at some other field.
 */
export interface StoreChoice {
  readonly uri: string;
  readonly origin: StoreOrigin;
}

/** One place a config file may name the store: its field, and the URI it gives (undefined when unset). */
export type StoreField = readonly [path: string, uri: string | undefined];

/**
 * Picks the store a command opens: the `--store` flag, else the first config field that names
 * one (in the order given), else the default.
 *
 * ```ts
 * const choice = chooseStore(values.store, file, [['store', config.store]], DEFAULT_STORE_URI);
 * await openStore(choice.uri, { logger, ...choice.origin });
 * ```
 *
 * @param flag The `--store` value, if given.
 * @param file The config file the fields were read from (undefined when none was read).
 * @param fields The config's store fields in order of precedence.
 * @param defaultUri The store when nothing names one; undefined when the command may run without.
 * @returns The choice, or undefined when nothing names a store and there is no default.
 */
export function chooseStore(flag: string | undefined, file: string | undefined, fields: readonly StoreField[], defaultUri: string): StoreChoice;
export function chooseStore(
  flag: string | undefined,
  file: string | undefined,
  fields: readonly StoreField[],
  defaultUri: string | undefined,
): StoreChoice | undefined;
export function chooseStore(
  flag: string | undefined,
  file: string | undefined,
  fields: readonly StoreField[],
  defaultUri: string | undefined,
): StoreChoice | undefined {
  if (flag !== undefined) return { uri: flag, origin: { configPath: '--store' } };
  for (const [path, uri] of fields) {
    if (uri !== undefined) return { uri, origin: { configPath: path, ...(file !== undefined ? { configFile: file } : {}) } };
  }
  return defaultUri === undefined ? undefined : { uri: defaultUri, origin: {} };
}
