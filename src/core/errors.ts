/**
 * The one error hierarchy of Makai.
 *
 * Every error we throw is a {@link StreamError}; each subclass says *where* a problem belongs
 * (configuration, decoding of bytes from the wire, a connection, a store) so callers decide
 * with `instanceof` or a predicate, never by matching message text.
 */
export class StreamError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration or topology problem, found when it is loaded or built (never at run time). */
export class ConfigError extends StreamError {
  /** The file the value came from, when there is one. */
  readonly file: string | undefined;
  /** Dotted path of the offending field, e.g. `plugins[0].path`. */
  readonly path: string | undefined;
  constructor(message: string, where: { file?: string; path?: string } = {}, options?: ErrorOptions) {
    const prefix = [where.file, where.path].filter(Boolean).join(': ');
    super(prefix ? `${prefix}: ${message}` : message, options);
    this.file = where.file;
    this.path = where.path;
  }
}

/**
 * A ConfigError, also from another copy of this module (a CommonJS plugin or topology that
 * imported our errors gets its own), recognised by name and shape rather than `instanceof`.
 */
export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof ConfigError || (error instanceof Error && error.name === 'ConfigError' && 'path' in error);
}

/** Bytes from the wire that do not form the message they should. `reason` is a stable, countable label. */
export class DecodeError extends StreamError {
  /** Protobuf message (or frame layout) that failed, e.g. `TriggerMessage`. */
  readonly messageType: string;
  /** Field that failed, when known, e.g. `rms`. */
  readonly field: string | undefined;
  /** Stable machine-readable reason, used as a metrics label: `truncated`, `missing-field`, ... */
  readonly reason: DecodeFailure;
  constructor(
    reason: DecodeFailure,
    messageType: string,
    detail: string,
    field?: string,
    options?: ErrorOptions,
  ) {
    super(`${messageType}${field ? `.${field}` : ''}: ${detail}`, options);
    this.reason = reason;
    this.messageType = messageType;
    this.field = field;
  }
}

/**
 * A message we were asked to put on the wire is not valid: a required field is missing or a value
 * does not fit its wire type. A programming error on our side, never caused by peer input.
 */
export class EncodeError extends StreamError {
  /** Protobuf message that could not be encoded, e.g. `TriggerMessage`. */
  readonly messageType: string;
  /** Offending field (proto name), e.g. `rms` or `cycles[2].time`. */
  readonly field: string;
  constructor(messageType: string, field: string, detail: string, options?: ErrorOptions) {
    super(`${messageType}.${field}: ${detail}`, options);
    this.messageType = messageType;
    this.field = field;
  }
}

/** The reasons a frame can be refused. Kept small and stable: they are metric labels. */
export type DecodeFailure =
  | 'truncated'
  | 'missing-field'
  | 'wrong-wire-type'
  | 'invalid-value'
  | 'frame-count'
  | 'frame-too-large'
  | 'box-id-mismatch'
  | 'out-of-range'
  /** A well-formed measurement no grid can produce (e.g. 1e30 Hz): outside the plausibility bounds. */
  | 'implausible'
  /** A box id no box can have (negative, or not an int32 that is also a uint32). */
  | 'invalid-box-id'
  // Refusals of the trend windows (their late side output, `LateReason`), for the dead letters.
  | 'window-closed'
  | 'invalid-time'
  | 'outlier-time';

/** A socket or server connection failed. Carries the endpoint and the operation. */
export class ConnectionError extends StreamError {
  readonly endpoint: string;
  readonly operation: string;
  constructor(operation: string, endpoint: string, options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`${operation} ${endpoint} failed${cause}`, options);
    this.endpoint = endpoint;
    this.operation = operation;
  }
}

/** A store operation failed. `retryable` tells sinks whether backing off and retrying can help. */
export class StoreError extends StreamError {
  readonly operation: string;
  readonly retryable: boolean;
  constructor(operation: string, message: string, retryable: boolean, options?: ErrorOptions) {
    super(`${operation}: ${message}`, options);
    this.operation = operation;
    this.retryable = retryable;
  }
}

/** True when retrying the failed operation later may succeed. */
export function isRetryable(error: unknown): boolean {
  return (error instanceof StoreError && error.retryable) || error instanceof ConnectionError;
}

/** A short description of any thrown value, for logs. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
