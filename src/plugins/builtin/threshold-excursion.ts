import type { TriggerType } from '../../protocol/messages.js';
import type { MetricLimit } from './threshold-settings.js';

/** The measured quantities the `threshold` plugin watches. */
export type Metric = 'voltage' | 'frequency' | 'thd';

/** Below (`sag`) or above (`swell`) the allowed band. THD only has `swell`. */
export type Direction = 'sag' | 'swell';

/** One excursion of one metric on one box, in box (event) time. */
export interface Excursion {
  readonly boxId: number;
  readonly metric: Metric;
  readonly direction: Direction;
  /** The box's limit for this metric when the excursion began. */
  readonly limit: MetricLimit;
  /** Box time of the first message beyond the limit. */
  readonly start: number;
  /**
   * Box time of the first message back inside the hysteresis band (or of the last message
   * before the box went silent or the stream ended); undefined while it lasts.
   */
  end: number | undefined;
  /** The value furthest from nominal seen so far (lowest for a sag, highest for a swell). */
  extreme: number;
  /** Lasted `minDurationMs`: it belongs to the open group. */
  confirmed: boolean;
  /** Already reported by a group closed at `maxWindowMs` while it lasted; joins no later group. */
  reported: boolean;
}

/**
 * How bad an excursion is relative to its own limit: 2 means twice as far from nominal as
 * allowed. Used to pick the worst of several metrics or boxes, so that a 1 % frequency
 * excursion (twice its ±0.5 % limit) outranks a 6 % voltage one (1.2 × its ±5 % limit).
 */
export function severity(excursion: Excursion): number {
  return Math.abs(excursion.extreme - excursion.limit.nominal) / excursion.limit.enter;
}

/** Worst deviation in percent of nominal (108 V of 120 V → 10); for THD, the THD in percent. */
export function percentOfNominal(excursion: Excursion): number {
  const { extreme, limit } = excursion;
  return excursion.metric === 'thd' ? extreme * 100 : (Math.abs(extreme - limit.nominal) / limit.nominal) * 100;
}

/** The `RequestEventMessage.TriggerType` of an excursion; THD has no type of its own (`OTHER`). */
export function triggerTypeOf(excursion: Excursion): TriggerType {
  if (excursion.metric === 'thd') return 'OTHER';
  const prefix = excursion.metric === 'voltage' ? 'VOLTAGE' : 'FREQUENCY';
  return `${prefix}_${excursion.direction === 'sag' ? 'SAG' : 'SWELL'}`;
}
