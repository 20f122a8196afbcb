import { StoreError } from '../core/errors.js';

/**
 * SQLite primary result codes after which a retry can succeed: the file is locked by another
 * connection, the disk or directory is (for now) unwritable or full, or an I/O error happened.
 */
const RETRYABLE_SQLITE = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_READONLY',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
  'SQLITE_FULL',
  'SQLITE_PROTOCOL',
]);

/** Node file-system codes (creating the parent directory) that an operator or time can fix. */
const RETRYABLE_FS = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'EBUSY',
  'EAGAIN',
  'EMFILE',
  'ENFILE',
  'EIO',
  'ENOENT',
  'ENOTDIR',
]);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/**
 * True when a failed SQLite or file-system call may succeed later. Extended result codes
 * (`SQLITE_BUSY_SNAPSHOT`, `SQLITE_IOERR_WRITE`) are judged by their primary code; constraint,
 * misuse, type and schema errors are not retryable.
 *
 * @internal
 */
export function isRetryableSqliteError(error: unknown): boolean {
  if (error instanceof StoreError) return error.retryable;
  const code = errorCode(error);
  if (code === undefined) return false;
  if (code.startsWith('SQLITE_')) return RETRYABLE_SQLITE.has(code.split('_', 2).join('_'));
  return RETRYABLE_FS.has(code);
}

/**
 * Wraps any failure of a SQLite store operation in a {@link StoreError} that names the operation
 * and the result code, keeping the original as `cause`. A StoreError passes through unchanged.
 *
 * @param operation The Store method (or `open`) that failed.
 * @param options.context Prefix for the message, e.g. `cannot open /var/lib/makai/opq.db`.
 * @param options.retryable Overrides the classification from the error code.
 * @internal
 */
export function sqliteStoreError(
  operation: string,
  error: unknown,
  options: { readonly context?: string; readonly retryable?: boolean } = {},
): StoreError {
  if (error instanceof StoreError) return error;
  const code = errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  const message = [options.context, code === undefined ? detail : `${detail} (${code})`].filter(Boolean).join(': ');
  return new StoreError(operation, message, options.retryable ?? isRetryableSqliteError(error), { cause: error });
}
