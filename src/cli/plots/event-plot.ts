import { DateTime } from 'luxon';
import type { BoxEventDoc, EventDoc } from '../../protocol/documents.js';
import { CYCLE_DURATION_MS, SAMPLE_PERIOD_MS } from '../../protocol/box-adc.js';
import { cycleRmsEnvelope, sampleTimeMs } from '../../stores/waveform-bytes.js';
import { minMaxColumns, thinPolyline, type Point } from './min-max-columns.js';
import { axes, escapeXml, legend, linearScale, px, svgDocument, text, type Frame, type LinearScale } from './svg-chart.js';
import { formatNumber, niceDomain, niceTicks } from './ticks.js';

/** One box's data for {@link renderEventPlot}. */
export interface EventPlotBox {
  readonly boxEvent: BoxEventDoc;
  /** The decoded waveform, counts; undefined when the store has no bytes for this box. */
  readonly counts: Int16Array | undefined;
}

export interface EventPlotOptions {
  readonly event: EventDoc;
  /** One panel each, in this order. */
  readonly boxes: readonly EventPlotBox[];
  /** Counts per volt. */
  readonly calibration: number;
  /** Image width, px (default 1000). */
  readonly width?: number;
  /** Height of each panel's plot area, px (default 200). */
  readonly panelHeight?: number;
}

const WAVEFORM_COLOR = '#4f81c7';
const RMS_COLOR = '#d62728';
const WINDOW_COLOR = '#f2c200';
const MARGIN = { left: 80, right: 24, top: 70, bottom: 12 } as const;
/** Space above a panel's frame (its title line) and below it (tick labels and axis title). */
const PANEL_HEAD = 24;
const PANEL_FOOT = 48;
/** Consecutive cycles further apart than this are not joined in the RMS line (missing data). */
const RMS_GAP_MS = 2.5 * CYCLE_DURATION_MS;

/**
 * An SVG of an event: one panel per box with the waveform in volts against time (min/max per
 * pixel column) and the per-cycle RMS envelope on the same volt axis, the requested window
 * shaded, and a title naming the event. All panels share the time and volt axes, so a sag on
 * several boxes lines up and a deeper sag looks deeper.
 *
 * Time is box time, shown in ms from the requested start. Marked for tools and tests:
 * `<g class="panel" data-box="…" data-t0-ms="…" data-t1-ms="…">` (the time domain),
 * `<rect class="frame">` (the plot area), `<path class="waveform">`,
 * `<polyline class="rms-envelope">` (one per run of consecutive cycles),
 * `<rect class="requested-window">`.
 */
export function renderEventPlot(options: EventPlotOptions): string {
  const { event, boxes, calibration, width = 1000, panelHeight = 200 } = options;
  const requestedStart = event.target_event_start_timestamp_ms;
  const requestedEnd = event.target_event_end_timestamp_ms;

  // Shared axes: the union of the requested window and every box's data.
  let t0 = requestedStart;
  let t1 = requestedEnd;
  let peak = 0;
  const prepared = boxes.map((box) => {
    const { boxEvent, counts } = box;
    const times = boxEvent.window_timestamps_ms;
    const envelope = counts === undefined ? [] : cycleRmsEnvelope(counts, times, calibration);
    if (counts !== undefined && counts.length > 0) {
      t0 = Math.min(t0, sampleTimeMs(times, 0));
      t1 = Math.max(t1, sampleTimeMs(times, counts.length - 1));
      for (const count of counts) peak = Math.max(peak, Math.abs(count));
    }
    return { boxEvent, counts, envelope };
  });
  const vMax = niceDomain(0, peak > 0 ? peak / calibration : 1)[1];
  const voltDomain: [number, number] = [-vMax, vMax];
  const inSeconds = t1 - t0 > 5000;
  const unit = inSeconds ? 1000 : 1;
  const relativeTicks = niceTicks((t0 - requestedStart) / unit, (t1 - requestedStart) / unit, 10);
  const xTicks = relativeTicks.map((tick) => ({ value: requestedStart + tick.value * unit, label: tick.label }));
  const xTitle = `box time from the requested start (${iso(requestedStart)}), ${inSeconds ? 's' : 'ms'}`;

  const plotWidth = width - MARGIN.left - MARGIN.right;
  const panelStep = PANEL_HEAD + panelHeight + PANEL_FOOT;
  const height = MARGIN.top + Math.max(1, prepared.length) * panelStep + MARGIN.bottom;

  const title = `Event ${event.event_id} · ${event.type}${event.description ? ` · ${event.description}` : ''}`;
  const missing = event.boxes_triggered.filter((id) => !boxes.some((box) => box.boxEvent.box_id === id));
  const subtitle = [
    `requested ${iso(requestedStart)} → ${iso(requestedEnd)} (${requestedEnd - requestedStart} ms)`,
    `boxes triggered: ${event.boxes_triggered.join(', ') || 'none'}`,
    ...(missing.length > 0 ? [`no data from: ${missing.join(', ')}`] : []),
    `calibration ${calibration} counts/V`,
  ].join(' · ');
  const body: string[] = [
    text(MARGIN.left, 28, title, { size: 17, weight: 'bold', className: 'title' }),
    text(MARGIN.left, 50, subtitle, { size: 12, fill: '#555' }),
  ];
  if (prepared.length === 0) {
    body.push(text(width / 2, MARGIN.top + panelStep / 2, 'No box sent data for this event.', { anchor: 'middle', size: 14 }));
  }

  prepared.forEach((box, index) => {
    const frame: Frame = { x: MARGIN.left, y: MARGIN.top + index * panelStep + PANEL_HEAD, width: plotWidth, height: panelHeight };
    const x = linearScale([t0, t1], [frame.x, frame.x + frame.width]);
    const y = linearScale(voltDomain, [frame.y + frame.height, frame.y]);
    body.push(
      `<g class="panel" data-box="${escapeXml(box.boxEvent.box_id)}" data-t0-ms="${t0}" data-t1-ms="${t1}">`,
      ...axes({ frame, x, y, xTicks, yTicks: niceTicks(voltDomain[0], voltDomain[1], 6), xTitle, yTitle: 'volts' }),
      ...requestedWindow(frame, x, requestedStart, requestedEnd),
      ...panelData(frame, x, y, box.counts, box.boxEvent.window_timestamps_ms, box.envelope, calibration),
      ...panelTitle(frame, box.boxEvent, box.envelope, requestedStart),
      ...legend(frame.x + frame.width, frame.y - 8, [
        { label: 'waveform', color: WAVEFORM_COLOR },
        { label: 'RMS per cycle', color: RMS_COLOR },
        { label: 'requested window', color: WINDOW_COLOR, kind: 'swatch', opacity: 0.3 },
      ]),
      `</g>`,
    );
  });
  return svgDocument(width, height, title, body);
}

function iso(ms: number): string {
  return DateTime.fromMillis(ms, { zone: 'utc' }).toISO() ?? String(ms);
}

/** The requested window as a shaded band with dashed edges, clipped to the frame. */
function requestedWindow(frame: Frame, x: LinearScale, startMs: number, endMs: number): string[] {
  const left = Math.max(frame.x, x(startMs));
  const right = Math.min(frame.x + frame.width, x(endMs));
  if (!(right >= left)) return [];
  const bottom = frame.y + frame.height;
  return [
    `<rect class="requested-window" x="${px(left)}" y="${px(frame.y)}" width="${px(Math.max(1, right - left))}" height="${px(frame.height)}" fill="${WINDOW_COLOR}" fill-opacity="0.18"/>`,
    `<path d="M${px(left)} ${px(frame.y)}V${px(bottom)}M${px(right)} ${px(frame.y)}V${px(bottom)}" stroke="${WINDOW_COLOR}" stroke-dasharray="4 3" stroke-width="1.5"/>`,
  ];
}

/** The waveform band and the RMS line(s), or a note when there are no samples. */
function panelData(
  frame: Frame,
  x: LinearScale,
  y: LinearScale,
  counts: Int16Array | undefined,
  times: readonly number[],
  envelope: ReturnType<typeof cycleRmsEnvelope>,
  calibration: number,
): string[] {
  if (counts === undefined || counts.length === 0) {
    const note = counts === undefined ? 'no waveform stored for this box' : 'the stored waveform is empty';
    return [text(frame.x + frame.width / 2, frame.y + frame.height / 2, note, { anchor: 'middle', size: 13, fill: '#a00' })];
  }
  const columns = minMaxColumns(
    counts.length,
    (i) => x(sampleTimeMs(times, i)) - frame.x,
    (i) => counts[i]! / calibration,
    Math.ceil(frame.width),
  );
  // A vertical stroke per column; 0.5 px in, so a 1 px stroke covers exactly its column.
  const d = columns.map((c) => `M${px(frame.x + c.column + 0.5)} ${px(y(c.max))}V${px(y(c.min))}`).join('');
  const parts = [`<path class="waveform" d="${d}" stroke="${WAVEFORM_COLOR}" stroke-width="1" stroke-linecap="square" fill="none"/>`];

  // The RMS line, split where cycles are missing so a gap is not drawn as a straight ramp.
  let run: Point[] = [];
  const runs: Point[][] = [];
  envelope.forEach((point, i) => {
    const previous = envelope[i - 1];
    if (previous !== undefined && point.startMs - previous.startMs > RMS_GAP_MS && run.length > 0) {
      runs.push(run);
      run = [];
    }
    // Drawn at the middle of the cycle it summarizes.
    run.push({ x: x(point.startMs + (point.samples * SAMPLE_PERIOD_MS) / 2), y: y(point.rms) });
  });
  if (run.length > 0) runs.push(run);
  for (const points of runs) {
    const list = thinPolyline(points).map((p) => `${px(p.x)},${px(p.y)}`).join(' ');
    parts.push(`<polyline class="rms-envelope" points="${list}" stroke="${RMS_COLOR}" stroke-width="2" stroke-linejoin="round" fill="none"/>`);
  }
  return parts;
}

/** "Box 1  90 cycles · RMS 80.0 V at +516 ms … 120.1 V at −300 ms" (lowest and highest cycle) above the frame. */
function panelTitle(frame: Frame, boxEvent: BoxEventDoc, envelope: ReturnType<typeof cycleRmsEnvelope>, requestedStart: number): string[] {
  const parts = [text(frame.x, frame.y - 8, `Box ${boxEvent.box_id}`, { size: 13, weight: 'bold' })];
  if (envelope.length === 0) return parts;
  let low = envelope[0]!;
  let high = envelope[0]!;
  for (const point of envelope) {
    if (point.rms < low.rms) low = point;
    if (point.rms > high.rms) high = point;
  }
  const relative = (point: { startMs: number }): string => {
    const at = point.startMs - requestedStart;
    return `${at >= 0 ? '+' : ''}${at} ms`;
  };
  const summary = `${envelope.length} cycles · RMS ${formatNumber(low.rms, 1)} V at ${relative(low)} … ${formatNumber(high.rms, 1)} V at ${relative(high)}`;
  parts.push(text(frame.x + 14 + 7.5 * (4 + boxEvent.box_id.length), frame.y - 8, summary, { size: 12, fill: '#444' }));
  return parts;
}
