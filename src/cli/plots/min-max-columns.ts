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
 * One min/max pair per pixel column, in column order.
 *
 * A column's range also includes the sample just before its first one when that sample lies in
 * a neighbouring column, so the drawn vertical strokes join into a continuous band (a steep edge
 * between two columns leaves no gap). Columns with no sample are left out, which shows missing
 * data as a gap. Samples need not be strictly in time order: cycle timestamps are whole
 * milliseconds, so the first sample of a cycle can lie a fraction of a millisecond before the
 * last sample of the previous one.
 *
 * @param count Number of samples.
 * @param columnOf Pixel column of sample `i` (fractional values are floored); samples outside
 *   `[0, columns)` are skipped.
 * @param valueOf Value of sample `i`.
 * @param columns Width of the plot in columns.
 */
export function minMaxColumns(count: number, columnOf: (i: number) => number, valueOf: (i: number) => number, columns: number): MinMaxColumn[] {
  const width = Math.max(0, Math.floor(columns));
  const min = new Float64Array(width).fill(Number.POSITIVE_INFINITY);
  const max = new Float64Array(width).fill(Number.NEGATIVE_INFINITY);
  let previousColumn = Number.NaN;
  let previousValue = 0;
  for (let i = 0; i < count; i++) {
    const column = Math.floor(columnOf(i));
    const value = valueOf(i);
    if (!(column >= 0 && column < width) || !Number.isFinite(value)) {
      previousColumn = Number.NaN;
      continue;
    }
    if (value < min[column]!) min[column] = value;
    if (value > max[column]!) max[column] = value;
    if (Math.abs(column - previousColumn) === 1) {
      if (previousValue < min[column]!) min[column] = previousValue;
      if (previousValue > max[column]!) max[column] = previousValue;
    }
    previousColumn = column;
    previousValue = value;
  }
  const result: MinMaxColumn[] = [];
  for (let column = 0; column < width; column++) {
    if (min[column]! <= max[column]!) result.push({ column, min: min[column]!, max: max[column]! });
  }
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
