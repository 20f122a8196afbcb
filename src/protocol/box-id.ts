/**
 * What a box id is on the wire. `TriggerMessage.id` and `DataMessage.id` are proto2 `int32`,
 * `RequestDataMessage.boxId` is `uint32` (spec §3), and stores keep the decimal string. An id
 * must fit both wire types to name the same box everywhere: a whole number in
 * `[0, 2^31 − 1]`. A negative id (−5) cannot be a `boxId` and 4294967291 cannot be an `id`:
 * both are refused wherever a box id is taken, instead of creating rows for boxes that cannot
 * exist.
 */
export const MAX_BOX_ID = 2 ** 31 - 1;

/** True when `id` is a valid box id (see {@link MAX_BOX_ID}). */
export function isValidBoxId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id <= MAX_BOX_ID;
}

/** Why `id` is not a valid box id, for a rejection's detail. */
export function describeInvalidBoxId(id: number): string {
  return `box id ${id} is not a whole number in [0, ${MAX_BOX_ID}] (an int32 TriggerMessage/DataMessage id that is also a uint32 RequestDataMessage boxId)`;
}
