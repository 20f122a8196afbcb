import { open } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { DEFAULT_CALIBRATION, SAMPLES_PER_CYCLE } from '../../protocol/box-adc.js';
import type { BoxEventDoc, EventDoc } from '../../protocol/documents.js';
import type { Store } from '../../stores/store.js';
import { cycleRmsEnvelope, decodeWaveform, sampleTimeMs } from '../../stores/waveform-bytes.js';
import { parseCommandArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { renderEventPlot, type EventPlotBox } from '../plots/event-plot.js';
import { writePlot } from '../plots/write-plot.js';
import { textTable } from '../text-table.js';
import { withExistingStore } from '../with-existing-store.js';
import { DEFAULT_STORE_URI } from './run.js';

const DEFAULT_LIMIT = 20;

const usage = `Usage: makai events <list | show | export | plot> [options]

Looks at the events the acquisition broker stored, on any store.

  makai events list [--limit N] [--json]
      newest first: id, requested start (UTC), type, boxes triggered, boxes received,
      description (default --limit ${DEFAULT_LIMIT})
  makai events show <id> [--json]
      the event and, per box that sent data: time range, cycles, waveform bytes and the
      lowest and highest per-cycle RMS
  makai events export <id> --box <b> [--out file.csv]
      the box's waveform as CSV "time_ms,volts", one row per sample (box time in ms:
      the cycle's timestamp + i/12 ms); to stdout without --out
  makai events plot <id> [--out file.svg] [--width PX]
      an SVG with one panel per box: the waveform, the RMS of every cycle and the requested
      window (default file event-<id>.svg; a .png file needs rsvg-convert on the PATH)

Options:
  --store URI          sqlite:<file>, a file path, or mongodb://… (default ${DEFAULT_STORE_URI})
  --calibration C      ADC counts per volt (default ${DEFAULT_CALIBRATION})

Exits 1 with a message when the store, the event or the box does not exist.`;

/** `makai events`: list, show, export and plot stored events (spec §4.3–4.5). */
export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const [subcommand, ...rest] = argv;
    switch (subcommand) {
      case 'list':
        return listCommand(rest, io);
      case 'show':
        return showCommand(rest, io);
      case 'export':
        return exportCommand(rest, io);
      case 'plot':
        return plotCommand(rest, io);
      case undefined:
        throw new UsageError('missing subcommand (list, show, export or plot)');
      default:
        throw new UsageError(`unknown subcommand "${subcommand}" (use list, show, export or plot)`);
    }
  },
};

const STORE_OPTION = { store: { type: 'string' } } as const;
const CALIBRATION_OPTION = { calibration: { type: 'string' } } as const;

async function listCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: [...argv], allowPositionals: true, options: { ...STORE_OPTION, limit: { type: 'string' }, json: { type: 'boolean' } } });
  if (positionals.length > 0) throw new UsageError(`events list takes no arguments (got "${positionals[0]}")`);
  const limit = values.limit === undefined ? DEFAULT_LIMIT : positiveInteger(values.limit, '--limit');
  return withExistingStore(values.store ?? DEFAULT_STORE_URI, 'makai events list', io, async (store) => {
    const events = await store.listEvents({ limit });
    if (events.length === 0) {
      io.err(`makai events list: no events in ${store.location}`);
      return 1;
    }
    if (values.json) {
      io.out(JSON.stringify(events, null, 2));
      return 0;
    }
    const rows = events.map((event) => [
      String(event.event_id),
      iso(event.target_event_start_timestamp_ms),
      event.type,
      event.boxes_triggered.join(',') || '-',
      event.boxes_received.join(',') || '-',
      event.description,
    ]);
    io.out(textTable(['id', 'requested start (UTC)', 'type', 'triggered', 'received', 'description'], rows, new Set([0])));
    if (events.length === limit) io.out(`(the ${limit} newest; --limit N shows more)`);
    return 0;
  });
}

/** What `events show` reports about one box's data. */
export interface BoxEventSummary {
  readonly box_id: string;
  readonly event_start_timestamp_ms: number;
  readonly event_end_timestamp_ms: number;
  readonly cycles: number;
  /** Stored waveform size, or null when the bytes are missing. */
  readonly waveform_bytes: number | null;
  /** Lowest and highest per-cycle RMS in volts, or null without a readable waveform. */
  readonly rms_min: number | null;
  readonly rms_max: number | null;
  /** Request-to-reply latency, ms, when the event recorded it. */
  readonly reply_latency_ms: number | null;
  /** Why the waveform could not be read, if it could not. */
  readonly problem?: string;
}

async function showCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: [...argv], allowPositionals: true, options: { ...STORE_OPTION, ...CALIBRATION_OPTION, json: { type: 'boolean' } } });
  const eventId = eventIdArgument(positionals, 'show');
  const calibration = calibrationOption(values.calibration);
  return withExistingStore(values.store ?? DEFAULT_STORE_URI, 'makai events show', io, async (store) => {
    const event = await findEvent(store, eventId, io, 'show');
    if (event === undefined) return 1;
    const boxEvents = await store.listBoxEvents(eventId);
    const boxes = await Promise.all(boxEvents.map((boxEvent) => summarize(store, event, boxEvent, calibration)));
    if (values.json) {
      io.out(JSON.stringify({ event, calibration, boxes }, null, 2));
      return 0;
    }
    const start = event.target_event_start_timestamp_ms;
    const end = event.target_event_end_timestamp_ms;
    const missing = event.boxes_triggered.filter((id) => !boxEvents.some((boxEvent) => boxEvent.box_id === id));
    const lines = [
      `Event ${event.event_id}: ${event.type}`,
      `  description      ${event.description || '-'}`,
      `  requested        ${iso(start)} → ${iso(end)} (${end - start} ms)`,
      `  boxes triggered  ${event.boxes_triggered.join(', ') || '-'}`,
      `  boxes received   ${event.boxes_received.join(', ') || '-'}`,
      ...(missing.length > 0 ? [`  no data from     ${missing.join(', ')}`] : []),
      '',
    ];
    if (boxes.length === 0) {
      lines.push('No box sent data for this event.');
    } else {
      const rows = boxes.map((box) => [
        box.box_id,
        iso(box.event_start_timestamp_ms),
        iso(box.event_end_timestamp_ms),
        String(box.event_end_timestamp_ms - box.event_start_timestamp_ms),
        String(box.cycles),
        box.waveform_bytes === null ? 'missing' : String(box.waveform_bytes),
        box.rms_min === null ? '-' : box.rms_min.toFixed(2),
        box.rms_max === null ? '-' : box.rms_max.toFixed(2),
        box.reply_latency_ms === null ? '-' : String(box.reply_latency_ms),
        box.problem ?? '',
      ]);
      lines.push(
        textTable(
          ['box', 'from (UTC, box clock)', 'to (UTC, box clock)', 'ms', 'cycles', 'waveform bytes', 'RMS min V', 'RMS max V', 'latency ms', ''],
          rows,
          new Set([3, 4, 5, 6, 7, 8]),
        ),
        '',
        `RMS per cycle at ${calibration} counts/V; \`makai events plot ${event.event_id}\` draws it.`,
      );
    }
    io.out(lines.join('\n'));
    return 0;
  });
}

async function summarize(store: Store, event: EventDoc, boxEvent: BoxEventDoc, calibration: number): Promise<BoxEventSummary> {
  const received = event.boxes_received.indexOf(boxEvent.box_id);
  const latency = received >= 0 ? event.reply_latencies_ms?.[received] : undefined;
  const base = {
    box_id: boxEvent.box_id,
    event_start_timestamp_ms: boxEvent.event_start_timestamp_ms,
    event_end_timestamp_ms: boxEvent.event_end_timestamp_ms,
    cycles: boxEvent.window_timestamps_ms.length,
    reply_latency_ms: latency ?? null,
  };
  const bytes = await store.getWaveform(boxEvent.data_fs_filename);
  if (bytes === undefined) return { ...base, waveform_bytes: null, rms_min: null, rms_max: null, problem: `no bytes under ${boxEvent.data_fs_filename}` };
  let counts: Int16Array;
  try {
    counts = decodeWaveform(bytes);
  } catch (error) {
    return { ...base, waveform_bytes: bytes.length, rms_min: null, rms_max: null, problem: error instanceof Error ? error.message : String(error) };
  }
  let low: number | null = null;
  let high: number | null = null;
  for (const { rms } of cycleRmsEnvelope(counts, boxEvent.window_timestamps_ms, calibration)) {
    low = low === null ? rms : Math.min(low, rms);
    high = high === null ? rms : Math.max(high, rms);
  }
  return { ...base, waveform_bytes: bytes.length, rms_min: low, rms_max: high };
}

/** Rows per write: large enough to be fast, small enough that a 10-minute waveform never sits in memory as one string. */
const CSV_CHUNK_ROWS = 50_000;

async function exportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: [...argv],
    allowPositionals: true,
    options: { ...STORE_OPTION, ...CALIBRATION_OPTION, box: { type: 'string' }, out: { type: 'string' } },
  });
  const eventId = eventIdArgument(positionals, 'export');
  const calibration = calibrationOption(values.calibration);
  const boxId = values.box;
  if (boxId === undefined || boxId === '') throw new UsageError('events export needs --box <box id>');
  return withExistingStore(values.store ?? DEFAULT_STORE_URI, 'makai events export', io, async (store) => {
    const event = await findEvent(store, eventId, io, 'export');
    if (event === undefined) return 1;
    const boxEvents = await store.listBoxEvents(eventId);
    const boxEvent = boxEvents.find((candidate) => candidate.box_id === boxId);
    if (boxEvent === undefined) {
      const known = boxEvents.map((candidate) => candidate.box_id);
      const asked = event.boxes_triggered.includes(boxId) ? `box ${boxId} was asked but sent no data` : `box ${boxId} was not part of it`;
      io.err(`makai events export: event ${eventId} has no data from box ${boxId}: ${asked} (data from: ${known.join(', ') || 'no box'})`);
      return 1;
    }
    const bytes = await store.getWaveform(boxEvent.data_fs_filename);
    if (bytes === undefined) {
      io.err(`makai events export: the store has no waveform bytes under ${boxEvent.data_fs_filename}`);
      return 1;
    }
    const counts = decodeWaveform(bytes);
    const times = boxEvent.window_timestamps_ms;
    const chunks = csvChunks(counts, times, calibration);
    if (values.out === undefined) {
      for (const chunk of chunks) io.out(chunk);
      return 0;
    }
    const file = await open(values.out, 'w');
    try {
      for (const chunk of chunks) await file.write(chunk);
    } finally {
      await file.close();
    }
    io.out(`wrote ${counts.length} samples (${Math.ceil(counts.length / SAMPLES_PER_CYCLE)} cycles) of box ${boxId}, event ${eventId}, to ${values.out}`);
    return 0;
  });
}

/** The CSV text in pieces of {@link CSV_CHUNK_ROWS} rows, the first with the header; every piece ends with a newline. */
function* csvChunks(counts: Int16Array, times: readonly number[], calibration: number): Generator<string> {
  let rows: string[] = ['time_ms,volts'];
  for (let i = 0; i < counts.length; i++) {
    rows.push(`${sampleTimeMs(times, i).toFixed(3)},${(counts[i]! / calibration).toFixed(4)}`);
    if (rows.length >= CSV_CHUNK_ROWS) {
      yield rows.join('\n') + '\n';
      rows = [];
    }
  }
  if (rows.length > 0) yield rows.join('\n') + '\n';
}

async function plotCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: [...argv],
    allowPositionals: true,
    options: { ...STORE_OPTION, ...CALIBRATION_OPTION, out: { type: 'string' }, width: { type: 'string' } },
  });
  const eventId = eventIdArgument(positionals, 'plot');
  const calibration = calibrationOption(values.calibration);
  const width = values.width === undefined ? 1000 : positiveInteger(values.width, '--width');
  if (width < 400 || width > 8000) throw new UsageError(`--width must be between 400 and 8000 px (got ${width})`);
  const out = values.out ?? `event-${eventId}.svg`;
  return withExistingStore(values.store ?? DEFAULT_STORE_URI, 'makai events plot', io, async (store) => {
    const event = await findEvent(store, eventId, io, 'plot');
    if (event === undefined) return 1;
    const boxEvents = await store.listBoxEvents(eventId);
    if (boxEvents.length === 0) {
      io.err(`makai events plot: event ${eventId} has no waveforms: no box sent data (triggered: ${event.boxes_triggered.join(', ') || 'none'})`);
      return 1;
    }
    const boxes: EventPlotBox[] = [];
    for (const boxEvent of boxEvents) {
      const bytes = await store.getWaveform(boxEvent.data_fs_filename);
      let counts: Int16Array | undefined;
      try {
        counts = bytes === undefined ? undefined : decodeWaveform(bytes);
      } catch (error) {
        // One unreadable waveform should not hide the others: its panel says it has none.
        io.err(`makai events plot: box ${boxEvent.box_id}: ${error instanceof Error ? error.message : String(error)}`);
      }
      boxes.push({ boxEvent, counts });
    }
    const svg = renderEventPlot({ event, boxes, calibration, width });
    const size = await writePlot(out, svg);
    io.out(`wrote ${out} (${boxes.length} panel${boxes.length === 1 ? '' : 's'}, ${Math.ceil(size / 1024)} KB)`);
    return 0;
  });
}

/** The event, or undefined after telling the user it does not exist (and what does). */
async function findEvent(store: Store, eventId: number, io: CliIo, subcommand: string): Promise<EventDoc | undefined> {
  const event = await store.getEvent(eventId);
  if (event !== undefined) return event;
  const newest = (await store.listEvents({ limit: 1 }))[0];
  const hint = newest === undefined ? 'the store holds no events' : `the newest is ${newest.event_id}; \`makai events list\` shows them`;
  io.err(`makai events ${subcommand}: no event ${eventId} in ${store.location} (${hint})`);
  return undefined;
}

function eventIdArgument(positionals: readonly string[], subcommand: string): number {
  if (positionals.length !== 1) throw new UsageError(`events ${subcommand} needs exactly one event id (got ${positionals.length} arguments)`);
  const text = positionals[0]!;
  const id = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(id)) throw new UsageError(`"${text}" is not an event id (a whole number)`);
  return id;
}

function positiveInteger(text: string, option: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new UsageError(`${option} must be a whole number ≥ 1 (got "${text}")`);
  return value;
}

function calibrationOption(text: string | undefined): number {
  if (text === undefined) return DEFAULT_CALIBRATION;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new UsageError(`--calibration must be a positive number of counts per volt (got "${text}")`);
  return value;
}

function iso(ms: number): string {
  return DateTime.fromMillis(ms, { zone: 'utc' }).toISO() ?? String(ms);
}
