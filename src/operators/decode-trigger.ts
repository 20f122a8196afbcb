import { asyncScheduler, Observable } from 'rxjs';
import type { Observer, OperatorFunction, SchedulerLike } from 'rxjs';
import { ConfigError, DecodeError } from '../core/errors.js';
import { rejectionFrom, type Rejection } from '../core/rejection.js';
import { describeInvalidBoxId, isValidBoxId } from '../protocol/box-id.js';
import type { TriggerMessage } from '../protocol/messages.js';
import { decodeTriggerMessage } from '../protocol/trigger-message-codec.js';
import { DEFAULT_PLAUSIBILITY, inRange, resolvePlausibility, type PlausibilityBounds, type PlausibleRange, type ResolvedPlausibility } from './plausibility.js';

export { DEFAULT_PLAUSIBILITY, type PlausibilityBounds, type PlausibleRange } from './plausibility.js';

/** Options of {@link decodeTrigger}. */
export interface DecodeTriggerOptions {
  /**
   * Where refused frames go (usually the dead-letter log). Only `next` is called: the observer
   * may be shared by several streams, so it is never completed or errored from here.
   */
  readonly rejected: Pick<Observer<Rejection>, 'next'>;
  /**
   * Processing-time clock: stamps {@link Rejection.atMs} and is the reference of the clock-skew
   * check. Defaults to `asyncScheduler`.
   */
  readonly scheduler?: SchedulerLike;
  /**
   * Largest accepted frame, in bytes (either frame). A real TriggerMessage is under 60 bytes;
   * anything far larger is garbage or an attack, refused as `frame-too-large` before decoding.
   * Default 4096.
   */
  readonly maxFrameBytes?: number;
  /**
   * Largest accepted distance, in ms, between a message's box timestamp (`time`) and
   * `scheduler.now()`, either way; further is refused as `out-of-range` (a box with a broken
   * clock would otherwise write measurements into another decade). Default 7 days;
   * `Infinity` turns the check off.
   */
  readonly maxClockSkewMs?: number;
  /**
   * Accepted ranges of frequency, rms and thd; a finite value outside its range is refused as
   * `implausible` (stored nowhere, seen by no plugin). Each range is `[min, max]`, inclusive;
   * defaults (see {@link DEFAULT_PLAUSIBILITY}) `frequencyHz: [40, 70]`, `rmsVolts: [0, 1000]`,
   * `thdRatio: [0, 1]`, so both 50 Hz and 60 Hz grids pass.
   */
  readonly plausibility?: PlausibilityBounds;
  /** Name of this input in rejections and metrics. Default `trigger`. */
  readonly source?: string;
}

/** Limits applied by {@link validateTrigger}, with the current processing time. */
export interface TriggerLimits {
  /** See {@link DecodeTriggerOptions.maxFrameBytes}. */
  readonly maxFrameBytes: number;
  /** See {@link DecodeTriggerOptions.maxClockSkewMs}. */
  readonly maxClockSkewMs: number;
  /** Processing time (ms) the box timestamp is compared with. */
  readonly nowMs: number;
  /** See {@link DecodeTriggerOptions.plausibility}; {@link DEFAULT_PLAUSIBILITY} when absent. */
  readonly plausibility?: ResolvedPlausibility;
}

const DEFAULT_MAX_FRAME_BYTES = 4096;
const DEFAULT_MAX_CLOCK_SKEW_MS = 7 * 24 * 3600 * 1000;
const FRAMES = 'trigger frames';

/**
 * Decodes the box measurement stream (spec M1: `[box id as ASCII decimal, TriggerMessage]`) into
 * {@link TriggerMessage}s, refusing bad input without ever failing the stream.
 *
 * <span class="informal">`map(decode)` that sends what it cannot decode to `rejected` instead
 * of erroring.</span>
 *
 * Every multipart message either comes out unchanged as a TriggerMessage or goes to `rejected`
 * as one {@link Rejection}, in arrival order, with the reason of {@link validateTrigger}.
 * Errors and completion of the source pass through; an exception thrown by the `rejected`
 * observer takes the one error path of the output, as for any rxjs callback.
 *
 * ```
 * source:    -a-x-b-|      x = garbage frames
 * output:    -a---b-|
 * rejected:  ---r---       r = { reason: 'truncated', ... }
 * ```
 *
 * ## Example
 * ```ts
 * frames$.pipe(decodeTrigger({ rejected: deadLetterLog({ logger, metrics, scheduler }), scheduler }));
 * ```
 *
 * @see {@link validateTrigger} for the checks, as a pure function.
 * @param options Rejection sink, scheduler and limits.
 * @returns An operator from multipart frames to valid trigger messages.
 * @throws ConfigError (synchronously) when a limit is not a positive number.
 */
export function decodeTrigger(options: DecodeTriggerOptions): OperatorFunction<readonly Uint8Array[], TriggerMessage> {
  const { rejected } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxClockSkewMs = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  const sourceName = options.source ?? 'trigger';
  if (typeof rejected?.next !== 'function') {
    throw new ConfigError('must be an observer with next()', { path: 'rejected' });
  }
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes <= 0) {
    throw new ConfigError(`must be a positive whole number of bytes, got ${maxFrameBytes}`, { path: 'maxFrameBytes' });
  }
  if (!(maxClockSkewMs > 0)) {
    throw new ConfigError(`must be a positive number of ms (or Infinity), got ${maxClockSkewMs}`, { path: 'maxClockSkewMs' });
  }
  if (sourceName.length === 0) throw new ConfigError('must not be empty', { path: 'source' });
  const plausibility = resolvePlausibility(options.plausibility);

  return function decodeTriggerOperatorFunction(source) {
    return new Observable<TriggerMessage>((subscriber) =>
      source.subscribe({
        next(frames) {
          try {
            const nowMs = scheduler.now();
            const result = validateTrigger(frames, { maxFrameBytes, maxClockSkewMs, nowMs, plausibility });
            if (result instanceof DecodeError) {
              rejected.next(rejectionFrom(sourceName, result, offendingFrame(frames, result), nowMs));
            } else {
              subscriber.next(result);
            }
          } catch (error) {
            // Only the rejected observer can throw here: one error path, as for any rxjs callback.
            subscriber.error(error);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
  };
}

/**
 * Checks one multipart trigger message and decodes it. Pure and total: it never throws.
 *
 * Refused, in this order:
 * - not exactly 2 frames: `frame-count`. More than 2 is refused too: a box sends exactly
 *   `[id, message]`, so extra frames mean a different protocol or a framing bug, and decoding
 *   frame 1 of it anyway would accept data we do not understand;
 * - a frame longer than `maxFrameBytes`: `frame-too-large`;
 * - frame 1 is not a valid TriggerMessage: the codec's reason (`truncated`, `missing-field`, ...);
 * - `id` is not a valid box id (negative, or above 2^31 − 1; see `isValidBoxId`):
 *   `invalid-box-id`;
 * - frame 0 is not exactly the decimal `id` of the message: `box-id-mismatch` (the topic a box
 *   publishes under must be its own id; the original ignored frame 0);
 * - `rms` or `frequency` NaN, infinite or negative; `thd` NaN, infinite or negative; `time` more
 *   than `maxClockSkewMs` away from `nowMs`: `out-of-range`;
 * - `frequency`, `rms` or `thd` finite but outside its plausibility range (a 1e30 Hz reading):
 *   `implausible`, naming the field, the value and the range.
 *
 * @param frames The multipart message as received.
 * @param limits Frame size and clock skew limits, and the current processing time.
 * @returns The decoded message, unchanged, or the {@link DecodeError} that refuses it.
 */
export function validateTrigger(frames: readonly Uint8Array[], limits: TriggerLimits): TriggerMessage | DecodeError {
  if (frames.length !== 2) {
    return new DecodeError('frame-count', FRAMES, `expected 2 frames [box id, TriggerMessage], got ${frames.length}`);
  }
  const [idFrame, body] = frames as readonly [Uint8Array, Uint8Array];
  if (idFrame.length > limits.maxFrameBytes || body.length > limits.maxFrameBytes) {
    const which = body.length > limits.maxFrameBytes ? 1 : 0;
    const size = which === 1 ? body.length : idFrame.length;
    return new DecodeError('frame-too-large', FRAMES, `frame ${which} has ${size} bytes, limit ${limits.maxFrameBytes}`);
  }
  let message: TriggerMessage;
  try {
    message = decodeTriggerMessage(body);
  } catch (error) {
    // The codec throws only DecodeError; anything else would be a bug worth surfacing as-is.
    if (error instanceof DecodeError) return error;
    throw error;
  }
  if (!isValidBoxId(message.id)) {
    return new DecodeError('invalid-box-id', 'TriggerMessage', describeInvalidBoxId(message.id), 'id');
  }
  if (!isDecimalOf(idFrame, message.id)) {
    return new DecodeError('box-id-mismatch', 'TriggerMessage', `frame 0 ${describeId(idFrame)} is not the decimal id ${message.id}`, 'id');
  }
  const { rms, frequency, thd, time } = message;
  if (!(rms >= 0 && rms < Infinity)) return outOfRange('rms', rms);
  if (!(frequency >= 0 && frequency < Infinity)) return outOfRange('frequency', frequency);
  if (thd !== undefined && !(thd >= 0 && thd < Infinity)) return outOfRange('thd', thd);
  if (Math.abs(time - limits.nowMs) > limits.maxClockSkewMs) {
    return new DecodeError('out-of-range', 'TriggerMessage', `box time ${time} is more than ${limits.maxClockSkewMs} ms from now (${limits.nowMs})`, 'time');
  }
  const bounds = limits.plausibility ?? DEFAULT_PLAUSIBILITY;
  if (!inRange(frequency, bounds.frequencyHz)) return implausible('frequency', frequency, 'Hz', bounds.frequencyHz);
  if (!inRange(rms, bounds.rmsVolts)) return implausible('rms', rms, 'V', bounds.rmsVolts);
  if (thd !== undefined && !inRange(thd, bounds.thdRatio)) return implausible('thd', thd, '(ratio)', bounds.thdRatio);
  return message;
}

function implausible(field: string, value: number, unit: string, [min, max]: PlausibleRange): DecodeError {
  return new DecodeError('implausible', 'TriggerMessage', `${value} ${unit} is outside the plausible range [${min}, ${max}]`, field);
}

function outOfRange(field: string, value: number): DecodeError {
  return new DecodeError('out-of-range', 'TriggerMessage', `${value} is not a finite non-negative number`, field);
}

/** True when `frame` is exactly the ASCII decimal form of `id` (no sign for ≥ 0, no padding). */
function isDecimalOf(frame: Uint8Array, id: number): boolean {
  // Digit by digit from the right, without making the string (this runs for every message).
  if (!Number.isSafeInteger(id)) return false;
  const start = id < 0 ? 1 : 0;
  if (start === 1 && frame[0] !== 0x2d) return false; // '-'
  const digits = frame.length - start;
  if (digits < 1 || digits > 16) return false;
  let rest = Math.abs(id);
  for (let i = frame.length - 1; i >= start; i--) {
    const digit = rest % 10;
    if (frame[i] !== 0x30 + digit) return false;
    rest = (rest - digit) / 10;
  }
  // All of the id's digits consumed, and no leading zero ("07" is not 7; "0" is 0).
  return rest === 0 && (digits === 1 || frame[start] !== 0x30);
}

/** Frame 0 for a message: as text when it is short printable ASCII, else its length. */
function describeId(frame: Uint8Array): string {
  const printable = frame.length <= 16 && frame.every((b) => b >= 0x20 && b < 0x7f);
  return printable ? `"${String.fromCharCode(...frame)}"` : `(${frame.length} bytes)`;
}

/** The frame a rejection previews: the message body once the layout was right, else frame 0. */
function offendingFrame(frames: readonly Uint8Array[], error: DecodeError): Uint8Array | undefined {
  if (error.reason === 'frame-count' || error.reason === 'box-id-mismatch') return frames[0];
  if (error.reason === 'frame-too-large') {
    return frames.length === 2 && (frames[1] as Uint8Array).length > (frames[0] as Uint8Array).length ? frames[1] : frames[0];
  }
  return frames[1];
}
