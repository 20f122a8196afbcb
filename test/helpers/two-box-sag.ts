import type { TriggerMessage } from '../../src/protocol/messages.js';
import { boxTime, recentT0 } from './fault-harness.js';

/**
 * The stream of the `makai run` tests: two boxes at 6 Hz for 5 s of box time (30 messages
 * each), starting on a minute boundary 5 minutes ago, with both boxes sagged over messages
 * 12–17 (box 1 to 96 V, box 2 to 95 V: −20.8 %, the worst). Every plugin under test must turn
 * it into one request for both boxes.
 */
export const MESSAGES_PER_BOX = 30;
export const SAG = { from: 12, to: 17 } as const;

export interface TwoBoxSag {
  readonly t0: number;
  /** Box time of message `k` of either box. */
  boxTime(k: number): number;
  message(box: 1 | 2, k: number): TriggerMessage;
  /** Every message in sending order: message k of box 1, then of box 2. */
  messages(): TriggerMessage[];
}

export function twoBoxSag(t0 = recentT0()): TwoBoxSag {
  const at = (k: number) => boxTime(t0, k);
  const message = (box: 1 | 2, k: number): TriggerMessage => {
    const sagged = k >= SAG.from && k <= SAG.to;
    return { id: box, time: at(k), frequency: 60, rms: sagged ? (box === 1 ? 96 : 95) : 120, thd: 0.02 };
  };
  return {
    t0,
    boxTime: at,
    message,
    messages: () => Array.from({ length: MESSAGES_PER_BOX }, (_, k) => [message(1, k), message(2, k)]).flat(),
  };
}
