import type { DecodeError, DecodeFailure } from './errors.js';

/**
 * A refusal by policy rather than by the bytes: the input was well-formed, but admitting it
 * would let one client flood the system (issue 14, acquisition broker admission control).
 * `merged` is not lost: the input was folded into an equivalent one already in hand.
 */
export type PolicyRefusal = 'merged' | 'rate-limited' | 'too-many-outstanding';

/** Every reason a {@link Rejection} can carry: a decode failure, or a policy refusal. */
export type RejectionReason = DecodeFailure | PolicyRefusal;

/**
 * One refused input: a frame (or multipart message) that a socket or a stage would not accept.
 * Rejections are values, not errors: they go to a `rejected` observer (the dead-letter log), are
 * counted by `source` and `reason`, and the stream that refused them carries on.
 */
export interface Rejection {
  /** Socket or stage that refused the input, e.g. `trigger`. A metrics label. */
  readonly source: string;
  /**
   * Stable reason, a metrics label: the {@link DecodeError.reason} it came from (`truncated`,
   * `implausible` for a measurement outside the plausibility bounds, `invalid-box-id`, …) or a
   * {@link PolicyRefusal} of the brokers' admission control.
   */
  readonly reason: RejectionReason;
  /** Human-readable explanation, e.g. `TriggerMessage.rms: missing required field`. */
  readonly detail: string;
  /** Lower-case hex of the first ≤ {@link PREVIEW_BYTES} bytes of the offending frame. */
  readonly preview: string;
  /** When it was refused: ms from the injected scheduler (processing time). */
  readonly atMs: number;
}

/** How many bytes of the offending frame a {@link Rejection.preview} shows. */
export const PREVIEW_BYTES = 32;

/**
 * Lower-case hex of the first `maxBytes` bytes of `bytes` (no separators; `''` for no bytes).
 * Bounded so that a flood of huge garbage frames cannot blow up logs or the dead-letter store.
 */
export function hexPreview(bytes: Uint8Array | undefined, maxBytes: number = PREVIEW_BYTES): string {
  if (!bytes) return '';
  const n = Math.min(bytes.length, maxBytes);
  let hex = '';
  for (let i = 0; i < n; i++) hex += (bytes[i] as number).toString(16).padStart(2, '0');
  return hex;
}

/**
 * Builds the {@link Rejection} for `error`, previewing the frame that failed.
 *
 * @param source Socket or stage name, e.g. `trigger`.
 * @param error Why the input was refused.
 * @param frame The offending frame (for multipart input, the frame that failed to decode; pass
 *   the first frame when the layout itself was wrong).
 * @param atMs Processing time of the refusal (`scheduler.now()`).
 * @returns A plain, serialisable value.
 */
export function rejectionFrom(source: string, error: DecodeError, frame: Uint8Array | undefined, atMs: number): Rejection {
  return { source, reason: error.reason, detail: error.message, preview: hexPreview(frame), atMs };
}
