import { TRIGGER_TYPE, type RequestEventMessage } from '../protocol/messages.js';

/** Why a plugin's request was refused: the field and what is wrong with it. */
export interface EventRequestProblem {
  /** The offending field of `RequestEventMessage` (camelCase), or `(request)` for a non-object. */
  readonly field: string;
  readonly problem: string;
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/**
 * Checks that a value emitted by a plugin is a complete, encodable `RequestEventMessage`: every
 * proto2 `required` field set and of the right type, timestamps whole non-negative ms within
 * `Number.MAX_SAFE_INTEGER`, `end ≥ start` (spec §9 item 15), box ids int32.
 *
 * The original serialised with `write_to_bytes().unwrap()` under a shared mutex, so one plugin
 * leaving a field unset panicked and poisoned every other plugin (spec §9 item 5); here the
 * caller refuses the request and counts it.
 *
 * @param value What the plugin emitted.
 * @returns `undefined` when the request is valid, else the first problem found.
 */
export function checkEventRequest(value: unknown): EventRequestProblem | undefined {
  if (typeof value !== 'object' || value === null) return { field: '(request)', problem: `expected an object, got ${describe(value)}` };
  const r = value as Partial<Record<keyof RequestEventMessage, unknown>>;
  for (const field of ['startTimestampMsUtc', 'endTimestampMsUtc'] as const) {
    const ms = r[field];
    if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) {
      return { field, problem: `expected whole non-negative ms, got ${describe(ms)}` };
    }
  }
  if ((r.endTimestampMsUtc as number) < (r.startTimestampMsUtc as number)) {
    return { field: 'endTimestampMsUtc', problem: 'ends before it starts' };
  }
  if (typeof r.triggerType !== 'string' || !Object.hasOwn(TRIGGER_TYPE, r.triggerType)) {
    return { field: 'triggerType', problem: `expected one of ${Object.keys(TRIGGER_TYPE).join(', ')}, got ${describe(r.triggerType)}` };
  }
  if (typeof r.percentMagnitude !== 'number' || !Number.isFinite(r.percentMagnitude)) {
    return { field: 'percentMagnitude', problem: `expected a finite number, got ${describe(r.percentMagnitude)}` };
  }
  if (!Array.isArray(r.boxIds)) return { field: 'boxIds', problem: `expected an array of box ids, got ${describe(r.boxIds)}` };
  for (const id of r.boxIds as unknown[]) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < INT32_MIN || id > INT32_MAX) {
      return { field: 'boxIds', problem: `expected int32 box ids, got ${describe(id)}` };
    }
  }
  for (const field of ['requestee', 'description'] as const) {
    if (typeof r[field] !== 'string') return { field, problem: `expected a string, got ${describe(r[field])}` };
  }
  if (typeof r.requestData !== 'boolean') return { field: 'requestData', problem: `expected a boolean, got ${describe(r.requestData)}` };
  return undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (unset)';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value);
}
