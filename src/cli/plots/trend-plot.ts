import { DateTime } from 'luxon';
import type { TrendDoc, TrendStats } from '../../protocol/documents.js';
import { axes, legend, linearScale, px, svgDocument, text, type Frame, type LinearScale } from './svg-chart.js';
import { niceDomain, niceTicks, timeTicks } from './ticks.js';

export interface TrendPlotOptions {
  readonly boxId: string;
  /** The box's trend windows (any order). */
  readonly trends: readonly TrendDoc[];
  /** Start of the time axis, ms (default: the first window's start). */
  readonly fromMs?: number;
  /** End of the time axis, ms (default: the last window's end). */
  readonly toMs?: number;
  /** Image width, px (default 1000). */
  readonly width?: number;
  /** Height of each panel's plot area, px (default 180). */
  readonly panelHeight?: number;
}

/** One quantity of a trend document and how to show it. */
interface Series {
  readonly name: string;
  readonly title: string;
  readonly unit: string;
  readonly color: string;
  /** Multiplies stored values for display (THD ratio → %). */
  readonly factor: number;
  readonly pick: (doc: TrendDoc) => TrendStats | undefined;
}

const SERIES: readonly Series[] = [
  { name: 'voltage', title: 'Voltage', unit: 'V', color: '#4f81c7', factor: 1, pick: (doc) => doc.voltage },
  { name: 'frequency', title: 'Frequency', unit: 'Hz', color: '#2a9d58', factor: 1, pick: (doc) => doc.frequency },
  { name: 'thd', title: 'THD', unit: '%', color: '#c46a1b', factor: 100, pick: (doc) => doc.thd },
];

const MARGIN = { left: 80, right: 24, top: 70, bottom: 12 } as const;
const PANEL_HEAD = 24;
const PANEL_FOOT = 48;
/** Windows narrower than this (px) are merged, so a month of minute windows stays a small file. */
const MIN_GROUP_PX = 2;

/** A window's extent; documents without `window_start_ms` (written by the original) count as 1 minute. */
function extent(doc: TrendDoc): { startMs: number; endMs: number } {
  const endMs = doc.timestamp_ms;
  const start = doc.window_start_ms;
  return { startMs: Number.isFinite(start) && start < endMs ? start : endMs - 60_000, endMs };
}

/**
 * An SVG of a box's trend windows: one panel each for voltage, frequency and (when any window
 * has it) THD, with the min–max range of every window as a shaded band and the average as a
 * line, drawn as steps over each window's time span. Gaps between windows stay gaps.
 *
 * Marked for tools and tests: `<g class="panel" data-series="voltage|frequency|thd">`,
 * `<polygon class="band">` and `<polyline class="average">` (one each per run of adjacent windows).
 */
export function renderTrendPlot(options: TrendPlotOptions): string {
  const { boxId, width = 1000, panelHeight = 180 } = options;
  const docs = [...options.trends].sort((a, b) => extent(a).startMs - extent(b).startMs);
  const fromMs = options.fromMs ?? (docs.length > 0 ? extent(docs[0]!).startMs : 0);
  const toMs = options.toMs ?? (docs.length > 0 ? extent(docs[docs.length - 1]!).endMs : fromMs + 60_000);
  const shown = SERIES.filter((series) => series.name !== 'thd' || docs.some((doc) => series.pick(doc) !== undefined));

  const plotWidth = width - MARGIN.left - MARGIN.right;
  const panelStep = PANEL_HEAD + panelHeight + PANEL_FOOT;
  const height = MARGIN.top + shown.length * panelStep + MARGIN.bottom;
  const x = linearScale([fromMs, toMs], [MARGIN.left, MARGIN.left + plotWidth]);
  const xTicks = timeTicks(fromMs, toMs, 8);
  const title = `Trends of box ${boxId}`;
  const body: string[] = [
    text(MARGIN.left, 28, title, { size: 17, weight: 'bold', className: 'title' }),
    text(MARGIN.left, 50, `${iso(fromMs)} → ${iso(toMs)} · ${docs.length} window${docs.length === 1 ? '' : 's'} · band = min–max, line = average`, {
      size: 12,
      fill: '#555',
    }),
  ];
  shown.forEach((series, index) => {
    const frame: Frame = { x: MARGIN.left, y: MARGIN.top + index * panelStep + PANEL_HEAD, width: plotWidth, height: panelHeight };
    const windows = docs.flatMap((doc) => {
      const stats = series.pick(doc);
      return stats === undefined ? [] : [{ ...extent(doc), min: stats.min * series.factor, max: stats.max * series.factor, average: stats.average * series.factor, count: Number.isFinite(doc.count) ? doc.count : 1 }];
    });
    const low = Math.min(...windows.map((w) => w.min));
    const high = Math.max(...windows.map((w) => w.max));
    // A little room above and below, so a band that is flat at its extremes stays visible.
    const pad = (high - low) * 0.08;
    const domain = windows.length > 0 ? niceDomain(low - pad, high + pad, 4) : ([0, 1] as [number, number]);
    const y = linearScale(domain, [frame.y + frame.height, frame.y]);
    body.push(
      `<g class="panel" data-series="${series.name}">`,
      ...axes({ frame, x, y, xTicks, yTicks: niceTicks(domain[0], domain[1], 4), xTitle: 'UTC', yTitle: `${series.name} (${series.unit})` }),
      ...bands(series, windows, x, y, frame),
      text(frame.x, frame.y - 8, series.title, { size: 13, weight: 'bold' }),
      ...legend(frame.x + frame.width, frame.y - 8, [
        { label: 'min–max', color: series.color, kind: 'swatch', opacity: 0.3 },
        { label: 'average', color: series.color },
      ]),
      `</g>`,
    );
  });
  return svgDocument(width, height, `${title} ${iso(fromMs)} → ${iso(toMs)}`, body);
}

function iso(ms: number): string {
  return DateTime.fromMillis(ms, { zone: 'utc' }).toISO({ suppressMilliseconds: true }) ?? String(ms);
}

interface WindowValues {
  readonly startMs: number;
  readonly endMs: number;
  readonly min: number;
  readonly max: number;
  readonly average: number;
  readonly count: number;
}

/** Band polygons and average lines, one pair per run of adjacent windows. */
function bands(series: Series, windows: readonly WindowValues[], x: LinearScale, y: LinearScale, frame: Frame): string[] {
  if (windows.length === 0) {
    return [text(frame.x + frame.width / 2, frame.y + frame.height / 2, `no ${series.name} values`, { anchor: 'middle', size: 13, fill: '#a00' })];
  }
  const parts: string[] = [];
  for (const run of runs(windows)) {
    const groups = mergeNarrow(run, x);
    const top = groups.flatMap((g) => [`${px(x(g.startMs))},${px(y(g.max))}`, `${px(x(g.endMs))},${px(y(g.max))}`]);
    const bottom = groups.flatMap((g) => [`${px(x(g.startMs))},${px(y(g.min))}`, `${px(x(g.endMs))},${px(y(g.min))}`]).reverse();
    const average = groups.flatMap((g) => [`${px(x(g.startMs))},${px(y(g.average))}`, `${px(x(g.endMs))},${px(y(g.average))}`]);
    parts.push(
      `<polygon class="band" points="${[...top, ...bottom].join(' ')}" fill="${series.color}" fill-opacity="0.3" stroke="${series.color}" stroke-opacity="0.5" stroke-width="0.5"/>`,
      `<polyline class="average" points="${average.join(' ')}" stroke="${series.color}" stroke-width="1.5" fill="none"/>`,
    );
  }
  return parts;
}

/** Splits windows where one does not start (about) where the previous ended. */
function runs(windows: readonly WindowValues[]): WindowValues[][] {
  const result: WindowValues[][] = [];
  let run: WindowValues[] = [];
  for (const window of windows) {
    const previous = run[run.length - 1];
    if (previous !== undefined && window.startMs - previous.endMs > 0.5 * (previous.endMs - previous.startMs)) {
      result.push(run);
      run = [];
    }
    run.push(window);
  }
  if (run.length > 0) result.push(run);
  return result;
}

/**
 * Adjacent windows are merged (min of mins, max of maxes, count-weighted average) until a group
 * is at least {@link MIN_GROUP_PX} wide.
 */
function mergeNarrow(run: readonly WindowValues[], x: LinearScale): WindowValues[] {
  const groups: WindowValues[] = [];
  for (const window of run) {
    const last = groups[groups.length - 1];
    if (last !== undefined && x(last.endMs) - x(last.startMs) < MIN_GROUP_PX) {
      const count = last.count + window.count;
      groups[groups.length - 1] = {
        startMs: last.startMs,
        endMs: window.endMs,
        min: Math.min(last.min, window.min),
        max: Math.max(last.max, window.max),
        average: count > 0 ? (last.average * last.count + window.average * window.count) / count : (last.average + window.average) / 2,
        count,
      };
    } else {
      groups.push(window);
    }
  }
  return groups;
}
