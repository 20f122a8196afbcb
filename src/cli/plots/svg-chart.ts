import type { Tick } from './ticks.js';

/**
 * The few SVG pieces the plots are made of, written by hand (no charting dependency): a
 * document, linear scales, a framed plot area with grid, ticks and axis titles, and text.
 * Everything returns SVG markup as strings; coordinates are rounded to 0.1 px so files stay small.
 */

/** A rectangle in SVG pixels (y grows downwards). */
export interface Frame {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Maps data values to pixels linearly. */
export interface LinearScale {
  (value: number): number;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
}

/** A scale from `domain` to `range`; a zero-width domain maps everything to the middle of the range. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const scale = (value: number): number => (span === 0 ? (r0 + r1) / 2 : r0 + ((value - d0) / span) * (r1 - r0));
  return Object.assign(scale, { domain, range });
}

/** A pixel coordinate as text, with at most one decimal. */
export function px(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** Text made safe for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Options of a `<text>` element. */
export interface TextOptions {
  readonly anchor?: 'start' | 'middle' | 'end';
  readonly size?: number;
  readonly weight?: 'normal' | 'bold';
  readonly fill?: string;
  /** Degrees, around the text's own position. */
  readonly rotate?: number;
  readonly className?: string;
}

/** A `<text>` element at (x, y) (y is the baseline). */
export function text(x: number, y: number, content: string, options: TextOptions = {}): string {
  const { anchor = 'start', size = 12, weight = 'normal', fill = '#222', rotate, className } = options;
  const attributes = [
    `x="${px(x)}"`,
    `y="${px(y)}"`,
    `font-size="${size}"`,
    anchor === 'start' ? '' : `text-anchor="${anchor}"`,
    weight === 'normal' ? '' : `font-weight="${weight}"`,
    `fill="${fill}"`,
    rotate === undefined ? '' : `transform="rotate(${rotate} ${px(x)} ${px(y)})"`,
    className === undefined ? '' : `class="${className}"`,
  ].filter(Boolean);
  return `<text ${attributes.join(' ')}>${escapeXml(content)}</text>`;
}

/** What {@link axes} draws around a frame. */
export interface AxesOptions {
  readonly frame: Frame;
  readonly x: LinearScale;
  readonly y: LinearScale;
  readonly xTicks: readonly Tick[];
  readonly yTicks: readonly Tick[];
  readonly xTitle?: string;
  readonly yTitle?: string;
}

/**
 * The frame's white background and border, horizontal and vertical grid lines at the ticks,
 * tick labels below and left of the frame, and the axis titles.
 */
export function axes(options: AxesOptions): string[] {
  const { frame, x, y, xTicks, yTicks, xTitle, yTitle } = options;
  const bottom = frame.y + frame.height;
  const right = frame.x + frame.width;
  const parts: string[] = [
    `<rect class="frame" x="${px(frame.x)}" y="${px(frame.y)}" width="${px(frame.width)}" height="${px(frame.height)}" fill="#fff" stroke="#999"/>`,
  ];
  const grid: string[] = [];
  for (const tick of yTicks) {
    const ty = y(tick.value);
    if (ty < frame.y - 0.5 || ty > bottom + 0.5) continue;
    grid.push(`M${px(frame.x)} ${px(ty)}H${px(right)}`);
    parts.push(text(frame.x - 6, ty + 4, tick.label, { anchor: 'end', size: 11, fill: '#444' }));
  }
  for (const tick of xTicks) {
    const tx = x(tick.value);
    if (tx < frame.x - 0.5 || tx > right + 0.5) continue;
    grid.push(`M${px(tx)} ${px(frame.y)}V${px(bottom)}`);
    parts.push(text(tx, bottom + 15, tick.label, { anchor: 'middle', size: 11, fill: '#444' }));
  }
  if (grid.length > 0) parts.splice(1, 0, `<path class="grid" d="${grid.join('')}" stroke="#e4e4e4" fill="none"/>`);
  if (xTitle !== undefined) parts.push(text(frame.x + frame.width / 2, bottom + 32, xTitle, { anchor: 'middle', size: 12 }));
  if (yTitle !== undefined) {
    const tx = frame.x - 48;
    const ty = frame.y + frame.height / 2;
    parts.push(text(tx, ty, yTitle, { anchor: 'middle', size: 12, rotate: -90 }));
  }
  return parts;
}

/** A complete SVG document of the given size with a white background and a `<title>`. */
export function svgDocument(width: number, height: number, title: string, body: readonly string[]): string {
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(width)}" height="${px(height)}" viewBox="0 0 ${px(width)} ${px(height)}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...body,
    `</svg>`,
    '',
  ].join('\n');
}

/** A legend entry: a short line or swatch and its label. */
export interface LegendEntry {
  readonly label: string;
  readonly color: string;
  /** `line` (default) for a series, `swatch` for a filled area. */
  readonly kind?: 'line' | 'swatch';
  readonly opacity?: number;
}

/** A one-line legend whose right edge is at `right`, baseline at `y`. Widths are estimated (no font metrics). */
export function legend(right: number, y: number, entries: readonly LegendEntry[]): string[] {
  const parts: string[] = [];
  let x = right;
  for (const entry of [...entries].reverse()) {
    const labelWidth = entry.label.length * 6.2;
    x -= labelWidth;
    parts.push(text(x, y, entry.label, { size: 11, fill: '#333' }));
    x -= 22;
    parts.push(
      entry.kind === 'swatch'
        ? `<rect x="${px(x)}" y="${px(y - 9)}" width="16" height="10" fill="${entry.color}" fill-opacity="${entry.opacity ?? 1}" stroke="none"/>`
        : `<path d="M${px(x)} ${px(y - 4)}h16" stroke="${entry.color}" stroke-width="2"/>`,
    );
    x -= 14;
  }
  return parts;
}
