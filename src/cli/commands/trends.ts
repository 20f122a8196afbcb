import type { TrendDoc, TrendStats } from '../../protocol/documents.js';
import type { TimeRangeQuery } from '../../stores/store.js';
import { parseCommandArgs, UsageError, type CliCommand } from '../command.js';
import { renderTrendPlot } from '../plots/trend-plot.js';
import { writePlot } from '../plots/write-plot.js';
import { textTable } from '../text-table.js';
import { describeRange, isoTime as iso, limitOption, timeRangeOptions } from '../time-range-options.js';
import { withExistingStore } from '../with-existing-store.js';
import { DEFAULT_STORE_URI } from './run.js';

const usage = `Usage: makai trends --box <b> [--from ISO] [--to ISO] [options]

Prints a box's trend windows (one per minute by default: count and min/avg/max of voltage,
frequency and THD), or plots them as min–max bands with the average as a line.

Options:
  --box B          the box id (required)
  --from ISO       only windows that end at or after this time (e.g. 2024-05-01T10:00Z;
                   UTC unless the time says otherwise; or epoch ms)
  --to ISO         only windows that end before this time
  --limit N        at most N windows, oldest first
  --plot FILE      write an SVG (or .png, with rsvg-convert on the PATH) instead of the table
  --json           print the trend documents as JSON
  --store URI      sqlite:<file>, a file path, or mongodb://… (default ${DEFAULT_STORE_URI})

Exits 1 with a message when the store does not exist or holds no windows for the box.`;

/** `makai trends`: a box's trend windows as a table, JSON or a plot (spec §4.2). */
export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        box: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        limit: { type: 'string' },
        plot: { type: 'string' },
        json: { type: 'boolean' },
        store: { type: 'string' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const boxId = values.box;
    if (boxId === undefined || boxId === '') throw new UsageError('--box <box id> is required');
    if (values.plot !== undefined && values.json) throw new UsageError('choose one of --plot and --json');
    const range = timeRangeOptions(values);
    const { fromMs, toMs } = range;
    const limit = values.limit === undefined ? undefined : limitOption(values.limit);
    const query: TimeRangeQuery = {
      box_id: boxId,
      ...range,
      ...(limit === undefined ? {} : { limit }),
    };

    return withExistingStore(values.store ?? DEFAULT_STORE_URI, 'makai trends', io, async (store) => {
      const trends = await store.queryTrends(query);
      if (trends.length === 0) {
        io.err(`makai trends: no trend windows for box ${boxId}${describeRange(range)} in ${store.location}`);
        return 1;
      }
      if (values.json) {
        io.out(JSON.stringify(trends, null, 2));
        return 0;
      }
      if (values.plot !== undefined) {
        const svg = renderTrendPlot({ boxId, trends, ...(fromMs === undefined ? {} : { fromMs }), ...(toMs === undefined ? {} : { toMs }) });
        const size = await writePlot(values.plot, svg);
        io.out(`wrote ${values.plot} (${trends.length} window${trends.length === 1 ? '' : 's'} of box ${boxId}, ${Math.ceil(size / 1024)} KB)`);
        return 0;
      }
      io.out(trendTable(trends));
      io.out(`${trends.length} window${trends.length === 1 ? '' : 's'} of box ${boxId}`);
      return 0;
    });
  },
};

/** The table `makai trends` prints: one row per window. */
export function trendTable(trends: readonly TrendDoc[]): string {
  const stats = (s: TrendStats | undefined, decimals: number, factor = 1): string[] =>
    s === undefined ? ['-', '-', '-'] : [s.min, s.average, s.max].map((v) => (v * factor).toFixed(decimals));
  const rows = trends.map((doc) => {
    const thd = stats(doc.thd, 2, 100);
    return [
      iso(doc.window_start_ms),
      iso(doc.timestamp_ms),
      String(doc.count),
      ...stats(doc.voltage, 2),
      ...stats(doc.frequency, 3),
      thd[1]!,
      thd[2]!,
    ];
  });
  const header = ['start (UTC)', 'end (UTC)', 'count', 'V min', 'V avg', 'V max', 'f min', 'f avg', 'f max', 'thd avg %', 'thd max %'];
  return textTable(header, rows, new Set([2, 3, 4, 5, 6, 7, 8, 9, 10]));
}
