import type { MeasurementDoc } from '../../protocol/documents.js';
import { parseCommandArgs, UsageError, type CliCommand } from '../command.js';
import { textTable } from '../text-table.js';
import { describeRange, isoTime, limitOption, timeRangeOptions } from '../time-range-options.js';
import { withExistingStore } from '../with-existing-store.js';
import { DEFAULT_STORE_URI } from '../triggering-config.js';

/** Most rows printed without `--limit`: a day of one box at 6 per second is half a million. */
export const DEFAULT_MEASUREMENT_LIMIT = 100_000;

const usage = `Usage: makai measurements --box <b> [--from ISO] [--to ISO] [options]

Prints a box's stored measurements (the 6-per-second frequency, Vrms and THD of the
\`measurements\` collection, kept for its TTL), oldest first, as a table or as CSV.

Options:
  --box B          the box id (required)
  --from ISO       measurements at or after this box time (e.g. 2024-05-01T10:00Z; UTC unless
                   the time says otherwise; or epoch ms)
  --to ISO         measurements before this box time
  --limit N        at most N measurements (default ${DEFAULT_MEASUREMENT_LIMIT})
  --csv            CSV with a header: box_id,timestamp_ms,time_utc,voltage,frequency,thd
  --json           the measurement documents as JSON
  --store URI      sqlite:<file>, a file path, or mongodb://… (default ${DEFAULT_STORE_URI})

Exits 1 with a message when the store does not exist or holds no measurements for the box.`;

/** `makai measurements`: a box's raw measurements in a time range (spec §4.1). */
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
        csv: { type: 'boolean' },
        json: { type: 'boolean' },
        store: { type: 'string' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const boxId = values.box;
    if (boxId === undefined || boxId === '') throw new UsageError('--box <box id> is required');
    if (values.csv && values.json) throw new UsageError('choose one of --csv and --json');
    const range = timeRangeOptions(values);
    const limit = values.limit === undefined ? DEFAULT_MEASUREMENT_LIMIT : limitOption(values.limit);

    return withExistingStore(values.store ?? DEFAULT_STORE_URI, 'makai measurements', io, async (store) => {
      // One more than asked, to say whether the limit cut the answer short.
      const found = await store.queryMeasurements({ box_id: boxId, ...range, limit: limit + 1 });
      if (found.length === 0) {
        io.err(`makai measurements: no measurements for box ${boxId}${describeRange(range)} in ${store.location}`);
        return 1;
      }
      const shown = found.slice(0, limit);
      if (values.json) io.out(JSON.stringify(shown, null, 2));
      else if (values.csv) io.out(measurementCsv(shown));
      else {
        io.out(measurementTable(shown));
        io.out(`${shown.length} measurement${shown.length === 1 ? '' : 's'} of box ${boxId}`);
      }
      if (found.length > limit) io.err(`makai measurements: stopped at --limit ${limit}; there are more (narrow --from/--to or raise --limit)`);
      return 0;
    });
  },
};

/** The CSV `makai measurements --csv` prints: a header, then one line per measurement. */
export function measurementCsv(docs: readonly MeasurementDoc[]): string {
  const lines = ['box_id,timestamp_ms,time_utc,voltage,frequency,thd'];
  for (const doc of docs) {
    lines.push([csvField(doc.box_id), doc.timestamp_ms, isoTime(doc.timestamp_ms), doc.voltage, doc.frequency, doc.thd ?? ''].join(','));
  }
  return lines.join('\n');
}

/** The table `makai measurements` prints. */
export function measurementTable(docs: readonly MeasurementDoc[]): string {
  const rows = docs.map((doc) => [isoTime(doc.timestamp_ms), doc.voltage.toFixed(2), doc.frequency.toFixed(3), doc.thd === undefined ? '-' : (doc.thd * 100).toFixed(2)]);
  return textTable(['time (UTC, box clock)', 'Vrms', 'f (Hz)', 'thd %'], rows, new Set([1, 2, 3]));
}

/** A box id quoted when it holds a comma, quote or line break (RFC 4180). */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
