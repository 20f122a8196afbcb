import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { redactUri } from './redact-uri.js';
import type { Store } from './store.js';

/** What a store needs besides its URI; all optional. */
export interface OpenStoreDeps {
  /** Parent logger; the store derives its own child. */
  readonly logger?: Logger;
  /** Where the store counts failures and refused documents. */
  readonly metrics?: Metrics;
  /** MongoDB database name when the URI names none (the MongoDB store's own default otherwise). */
  readonly database?: string;
  /** Where the URI came from, so a ConfigError can point at it. */
  readonly configFile?: string;
  /** Dotted path of the URI in that file, e.g. `store.uri`. */
  readonly configPath?: string;
}

/** `scheme:` with at least two letters, so a Windows drive letter (`C:\data`) reads as a path. */
const SCHEME = /^([a-z][a-z0-9+.-]+):/i;

/**
 * What `uri` names, checked without opening anything (`makai validate` runs this as `openStore` does).
 *
 * @throws ConfigError for an empty URI or an unknown scheme, naming the URI without its password
 *   and where it was written (`deps.configFile`, `deps.configPath`).
 */
export function checkStoreUri(uri: string, deps: Pick<OpenStoreDeps, 'configFile' | 'configPath'> = {}): NonNullable<ReturnType<typeof storeTarget>> {
  const where = { ...(deps.configFile ? { file: deps.configFile } : {}), ...(deps.configPath ? { path: deps.configPath } : {}) };
  let target: ReturnType<typeof storeTarget>;
  try {
    target = storeTarget(uri.trim());
  } catch (error) {
    // e.g. a file: URL with a remote host
    const detail = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`invalid store URI "${redactUri(uri)}": ${detail}`, where, { cause: error });
  }
  if (target === undefined) {
    throw new ConfigError(
      `unsupported store URI "${redactUri(uri)}": use sqlite:<path>, a file path, mongodb:// or mongodb+srv://`,
      where,
    );
  }
  return target;
}

/**
 * Opens the store a URI names:
 *
 * - `sqlite:<path>`, `sqlite://<path>`, `file:` URLs and plain paths → the embedded SQLite store;
 * - `mongodb://…` and `mongodb+srv://…` → the MongoDB store (loaded only then, so SQLite users
 *   never load the MongoDB driver).
 *
 * @throws ConfigError (rejected) for an empty URI or an unknown scheme, naming the URI without its password.
 * @throws StoreError (rejected) when the store cannot be opened.
 */
export async function openStore(uri: string, deps: OpenStoreDeps = {}): Promise<Store> {
  const target = checkStoreUri(uri, deps);
  if (target.kind === 'sqlite') {
    const { openSqliteStore } = await import('./sqlite-store.js');
    return openSqliteStore({ path: target.path, ...logAndMetrics(deps) });
  }
  // Loaded only here, so SQLite-only processes never load the MongoDB driver.
  const { openMongoStore } = await import('./mongodb-store.js');
  return openMongoStore({ uri: target.uri, ...(deps.database ? { database: deps.database } : {}), ...logAndMetrics(deps) });
}

function logAndMetrics(deps: OpenStoreDeps): { logger?: Logger; metrics?: Metrics } {
  return { ...(deps.logger ? { logger: deps.logger } : {}), ...(deps.metrics ? { metrics: deps.metrics } : {}) };
}

/**
 * What a store URI points at, or undefined when it is empty or its scheme is unknown.
 *
 * @internal exported for tests.
 */
export function storeTarget(uri: string): { kind: 'sqlite'; path: string } | { kind: 'mongodb'; uri: string } | undefined {
  if (uri === '') return undefined;
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'sqlite', path: uri };
  if (scheme === 'mongodb' || scheme === 'mongodb+srv') return { kind: 'mongodb', uri };
  if (scheme === 'file') {
    // file:///abs/path is a URL; file:relative/path is not, and names a path relative to the cwd.
    const path = uri.startsWith('file://') ? fileURLToPath(uri) : uri.slice('file:'.length);
    return path === '' ? undefined : { kind: 'sqlite', path };
  }
  if (scheme === 'sqlite') {
    // sqlite:///abs/path and sqlite:/abs/path are absolute; sqlite:rel and sqlite://rel are relative.
    const rest = uri.slice('sqlite:'.length);
    const path = rest.startsWith('//') ? rest.slice(2) : rest;
    return path === '' ? undefined : { kind: 'sqlite', path };
  }
  return undefined;
}
