/**
 * A plain-text table for terminal output: a header row, then one row per record, columns
 * separated by two spaces and padded to their widest cell (numbers right-aligned).
 *
 * @param header Column titles.
 * @param rows Cells, one array per row, as long as `header`.
 * @param rightAligned Indexes of the columns to right-align (numbers).
 */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number> = new Set()): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (rightAligned.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
