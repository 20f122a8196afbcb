/**
 * Box ids (spec §3: integers on the wire, decimal strings in the store). The wire types differ —
 * `TriggerMessage.id`, `DataMessage.id` and `RequestEventMessage.box_ids` are int32,
 * `RequestDataMessage.boxId` is uint32 — so the ids every message can carry are the common part:
 * whole numbers from 0 to 2^31 − 1. A negative id, or a uint32 above 2^31 − 1 (−5 sent as
 * uint32 is 4294967291), names no box: it is refused wherever a box id is taken, instead of
 * creating rows for boxes that cannot exist.
 */

/** Largest box id: int32 max, the common range of every field that carries one. */
export const MAX_BOX_ID = 2_147_483_647;

/** True when `id` is a box id (see {@link MAX_BOX_ID}). */
export function isValidBoxId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id <= MAX_BOX_ID;
}

/**
 * Why `id` is not a box id, or `undefined` when it is one.
 *
 * ```
 * boxIdProblem(1003)       → undefined
 * boxIdProblem(-5)         → 'box id -5 is not a whole number from 0 to 2147483647'
 * boxIdProblem(4294967291) → 'box id 4294967291 is not …'
 * ```
 */
export function boxIdProblem(id: number): string | undefined {
  return isValidBoxId(id) ? undefined : describeInvalidBoxId(id);
}

/** Why `id` is not a box id, for a rejection's detail. */
export function describeInvalidBoxId(id: number): string {
  return `box id ${id} is not a whole number from 0 to ${MAX_BOX_ID}`;
}
