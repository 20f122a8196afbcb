import type { RequestEventMessage, TriggerMessage } from '../protocol/messages.js';

/**
 * Value builders for the messages a plugin test feeds in and expects out. Each returns a
 * complete, valid message with plain defaults; `overrides` replace any field, so a test names
 * only what it is about. Units are the wire's: `time` in box ms (UTC), `rms` in volts,
 * `frequency` in Hz, `thd` a ratio (0.05 = 5 %).
 */

/**
 * A normal reading: box 1001 at box time 0, 120 V RMS, 60 Hz, no THD (absent, not undefined).
 *
 * @example triggerMessage({ time: 1500, rms: 96 }) // a sag at 1500 ms
 */
export function triggerMessage(overrides: Partial<TriggerMessage> = {}): TriggerMessage {
  return { id: 1001, time: 0, frequency: 60, rms: 120, ...overrides };
}

/**
 * An event request: a 2 s voltage sag on box 1003 that asks for data, from requestee `test`.
 *
 * @example eventRequest({ startTimestampMsUtc: 1000, endTimestampMsUtc: 2000, requestData: false })
 */
export function eventRequest(overrides: Partial<RequestEventMessage> = {}): RequestEventMessage {
  return {
    startTimestampMsUtc: 1_700_000_000_000,
    endTimestampMsUtc: 1_700_000_002_000,
    triggerType: 'VOLTAGE_SAG',
    percentMagnitude: 8.5,
    boxIds: [1003],
    requestee: 'test',
    description: 'a test event',
    requestData: true,
    ...overrides,
  };
}
