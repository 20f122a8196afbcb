/**
 * Downsampling for plots: a waveform of 24 000 samples per second cannot be drawn point by point
 * in a file a person wants to open, and a screen cannot show more than one value range per pixel
 * column anyway. Keeping the minimum and maximum of every column draws exactly what a full
 * rendering would show (the band the signal sweeps), at a size set by the width, not the data.
 */

/** The range of the samples that fall in one pixel column. */
export interface MinMaxColumn {
  /** Column index, 0 = the left edge of the plot. */
  readonly column: number;
  readonly min: number;
  readonly max: number;
}

/**
 * One min/max pair per pixel column, for samples in time order.
 *
 * A column's range also includes the last sample of the column just before it, so the drawn
 * vertical strokes join into a continuous band (a steep edge between two columns leaves no gap).
 * Columns with no sample are left out, which shows missing data as a gap.
 *
 * @param count Number of samples.
 * @param columnOf Pixel column of sample `i` (fractional values are floored); samples outside
 *   `[0, columns)` are skipped.
 * @param valueOf Value of sample `i`.
 * @param columns Width of the plot in columns.
 */
export function minMaxColumns(count: number, columnOf: (i: number) => number, valueOf: (i: number) => number, columns: number): MinMaxColumn[] {
  const result: MinMaxColumn[] = [];
  let current = Number.NaN;
  let min = 0;
  let max = 0;
  let previousColumn = Number.NaN;
  let previousValue = 0;
  const flush = (): void => {
    if (!Number.isNaN(current)) result.push({ column: current, min, max });
  };
  for (let i = 0; i < count; i++) {
    const column = Math.floor(columnOf(i));
    const value = valueOf(i);
    if (!(column >= 0 && column < columns) || !Number.isFinite(value)) continue;
    if (column !== current) {
      flush();
      current = column;
      min = value;
      max = value;
      if (previousColumn === column - 1) {
        min = Math.min(min, previousValue);
        max = Math.max(max, previousValue);
      }
    } else {
      if (value < min) min = value;
      if (value > max) max = value;
    }
    previousColumn = column;
    previousValue = value;
  }
  flush();
  return result;
}

/** A point in pixels. */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * A polyline with at most two points per pixel column: where several points share a column,
 * the lowest and the highest are kept (in their original order), so dips and peaks survive.
 * Lines with fewer points than twice their width in columns are returned unchanged.
 */
export function thinPolyline(points: readonly Point[]): Point[] {
  if (points.length < 3) return [...points];
  const first = points[0]!.x;
  const last = points[points.length - 1]!.x;
  if (points.length <= 2 * Math.abs(last - first)) return [...points];
  const result: Point[] = [];
  let start = 0;
  while (start < points.length) {
    const column = Math.floor(points[start]!.x);
    let end = start;
    let low = start;
    let high = start;
    while (end < points.length && Math.floor(points[end]!.x) === column) {
      if (points[end]!.y < points[low]!.y) low = end;
      if (points[end]!.y > points[high]!.y) high = end;
      end++;
    }
    const kept = low === high ? [low] : low < high ? [low, high] : [high, low];
    for (const index of kept) result.push(points[index]!);
    start = end;
  }
  return result;
}
