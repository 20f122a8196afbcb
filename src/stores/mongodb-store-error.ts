import {
  MongoBulkWriteError,
  MongoError,
  MongoErrorLabel,
  MongoNetworkError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
} from 'mongodb';
import { StoreError } from '../core/errors.js';

/**
 * Server error codes after which the same operation can succeed a moment later: the node is
 * not (or no longer) primary, is shutting down, timed out, or lost a host or socket. This is the
 * driver's own list of retryable write codes (`RETRYABLE_WRITE_ERROR_CODES` in its `error.ts`),
 * plus `WriteConflict`, which the driver handles only inside transactions.
 */
const TRANSIENT_SERVER_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  112, // WriteConflict
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  63, // StaleShardVersion
  150, // StaleEpoch
  13388, // StaleConfig
  234, // RetryChangeStream
  133, // FailedToSatisfyReadPreference
]);

/**
 * Node socket error codes. The driver normally wraps them in a `MongoNetworkError`, but a
 * failed socket write during a bulk insert can surface as the bare system error.
 */
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/** Labels the driver or server put on errors of operations that may be repeated. */
const TRANSIENT_LABELS: readonly string[] = [
  MongoErrorLabel.RetryableWriteError,
  MongoErrorLabel.TransientTransactionError,
  MongoErrorLabel.RetryableError,
  MongoErrorLabel.SystemOverloadedError,
];

/** MongoDB's duplicate key error code (unique index violated). */
export const DUPLICATE_KEY = 11000;

/**
 * True when a failed MongoDB operation may succeed if repeated later: network errors and
 * timeouts, no selectable server, not-primary and shutdown errors, and anything the driver
 * labels retryable. Decided by error class, label and code, never by message text.
 * A client closed by us (`MongoTopologyClosedError`, `MongoClientClosedError`) is not transient.
 *
 * @internal
 */
export function isTransientMongoError(error: unknown): boolean {
  if (error instanceof StoreError) return error.retryable;
  const inner = bulkWrapped(error);
  if (inner !== undefined) return isTransientMongoError(inner);
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) return true;
  if (error instanceof MongoOperationTimeoutError) return true;
  if (!(error instanceof MongoError)) return isSystemNetworkError(error);
  if (TRANSIENT_LABELS.some((label) => error.hasErrorLabel(label))) return true;
  return error instanceof MongoServerError && typeof error.code === 'number' && TRANSIENT_SERVER_CODES.has(error.code);
}

function isSystemNetworkError(error: unknown): boolean {
  if (!(error instanceof Error) || !('code' in error) || !('syscall' in error)) return false;
  return typeof error.code === 'string' && TRANSIENT_SYSTEM_CODES.has(error.code);
}

/**
 * The driver error (network, server selection, …) a bulk write wrapped: `insertMany` reports
 * those as a `MongoBulkWriteError` without write errors, keeping the original as `errorResponse`.
 *
 * @internal
 */
export function bulkWrapped(error: unknown): Error | undefined {
  if (!(error instanceof MongoBulkWriteError)) return undefined;
  const inner: unknown = error.errorResponse;
  return inner instanceof Error && inner !== error ? inner : undefined;
}

/**
 * The failure of an unordered bulk write that only hit unique indexes: the indexes of the
 * operations refused as duplicates. Any other failure (a network error in disguise, another
 * write error) is thrown: the whole call fails, and a retry meets what went through as duplicates.
 */
export function duplicateKeyIndexes(error: unknown): Set<number> {
  if (!(error instanceof MongoBulkWriteError)) throw error;
  const inner = bulkWrapped(error);
  if (inner !== undefined) throw inner;
  const writeErrors = [error.writeErrors].flat();
  if (writeErrors.length === 0 || writeErrors.some((e) => e.code !== DUPLICATE_KEY)) throw error;
  return new Set(writeErrors.map((e) => e.index));
}

/** True for a unique-index violation (`E11000`), also when it arrives as a write error of a bulk write. */
export function isDuplicateKeyError(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

/**
 * Wraps a failure of a MongoDB store operation in a {@link StoreError} naming the operation
 * and, for server errors, the code name; the original stays as `cause`. A StoreError passes
 * through unchanged.
 *
 * @param operation The Store method (or `open`) that failed.
 * @param options.context Prefix for the message, e.g. `cannot open mongodb://db:27017/`.
 * @param options.retryable Overrides the classification of {@link isTransientMongoError}.
 * @internal
 */
export function mongoStoreError(
  operation: string,
  error: unknown,
  options: { readonly context?: string; readonly retryable?: boolean } = {},
): StoreError {
  if (error instanceof StoreError) return error;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const code = error instanceof MongoServerError && error.codeName ? ` (${error.codeName})` : '';
  const message = [options.context, `${detail}${code}`].filter(Boolean).join(': ');
  return new StoreError(operation, message, options.retryable ?? isTransientMongoError(error), { cause: error });
}
