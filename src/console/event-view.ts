import { DEFAULT_CALIBRATION } from '../protocol/box-adc.js';
import type { BoxEventDoc, EventDoc } from '../protocol/documents.js';
import type { Store } from '../stores/store.js';
import { cycleRmsEnvelope, decodeWaveform, sampleTimeMs } from '../stores/waveform-bytes.js';

/** One box's waveform of an event, in volts, for the console's event page. */
export interface BoxWaveformView {
  readonly box_id: string;
  readonly location?: unknown;
  /** Sample times, ms (box time), and the instantaneous voltage at each, V. */
  readonly t: readonly number[];
  readonly v: readonly number[];
  /** RMS per cycle: cycle start times (ms) and volts. */
  readonly rms_t: readonly number[];
  readonly rms_v: readonly number[];
  /** Counts per volt used (the box's `calibration_constant`, else the default). */
  readonly calibration: number;
}

/** What the event page draws: the event, the trigger interval, each box's waveform and RMS. */
export interface EventView {
  readonly event: EventDoc;
  readonly boxes: readonly BoxWaveformView[];
}

/**
 * The event page's data: every box reply of `eventId` with its waveform converted to volts
 * (the box's calibration constant, as OPQ Mauka does) and its per-cycle RMS envelope.
 *
 * @returns undefined when there is no such event.
 */
export async function eventView(store: Store, eventId: number): Promise<EventView | undefined> {
  const event = await store.getEvent(eventId);
  if (!event) return undefined;
  const [boxEvents, registry] = await Promise.all([store.listBoxEvents(eventId), store.listBoxes()]);
  const calibrationOf = new Map(registry.map((box) => [box.box_id, calibrationConstant(box)]));
  const boxes = await Promise.all(boxEvents.map((boxEvent) => boxView(store, boxEvent, calibrationOf.get(boxEvent.box_id) ?? DEFAULT_CALIBRATION)));
  return { event, boxes };
}

async function boxView(store: Store, boxEvent: BoxEventDoc, calibration: number): Promise<BoxWaveformView> {
  const bytes = await store.getWaveform(boxEvent.data_fs_filename);
  const counts = bytes ? decodeWaveform(bytes) : new Int16Array(0);
  const times = boxEvent.window_timestamps_ms;
  const t = new Array<number>(counts.length);
  const v = new Array<number>(counts.length);
  for (let i = 0; i < counts.length; i++) {
    t[i] = round(sampleTimeMs(times, i), 3);
    v[i] = round((counts[i] as number) / calibration, 2);
  }
  const envelope = cycleRmsEnvelope(counts, times, calibration);
  return {
    box_id: boxEvent.box_id,
    ...(boxEvent.location === undefined ? {} : { location: boxEvent.location }),
    t,
    v,
    rms_t: envelope.map((point) => round(point.startMs, 3)),
    rms_v: envelope.map((point) => round(point.rms, 2)),
    calibration,
  };
}

function calibrationConstant(box: object): number {
  const value = (box as { calibration_constant?: unknown }).calibration_constant;
  return typeof value === 'number' && value > 0 ? value : DEFAULT_CALIBRATION;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
