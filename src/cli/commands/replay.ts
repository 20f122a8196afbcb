import type { EventDoc } from '../../protocol/documents.js';
import type { RequestEventMessage } from '../../protocol/messages.js';
import type { Store } from '../../stores/store.js';
import { compareWithRecorded, type ReplayComparison } from '../../topologies/replay-comparison.js';
import type { ReplayedRequest } from '../../topologies/replay-topology.js';
import { runReplay } from '../../topologies/run-replay.js';
import { parseCommandArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { parseReplayTime } from '../replay-time.js';
import { textTable } from '../text-table.js';
import { loadTriggeringConfig } from '../triggering-config.js';
import { withExistingStore } from '../with-existing-store.js';

const usage = `Usage: makai replay --from T --to T [options] [makai.json | topology.ts]

Feeds the stored measurements of a time range through the plugins and dedupe of a config
(default: the default topology), in the recording's time (box timestamps drive the clock),
and prints the event requests it would have made. Writes nothing: the stores, the broker
and the shadow log are left alone.

Options:
  --from T, --to T      the range [from, to): ISO-8601, ms since the epoch, "now", or relative
                        to now ("-24h", "-30m")
  --boxes 1,2,…         only these boxes (default all)
  --store URI           where the measurements are (default: the config's, else sqlite:./data/makai.db)
  --against recorded    side by side with the events recorded in the range: matched, only-new
                        (what the config would add), only-recorded (what it would no longer ask for)
  --json                print the result as JSON

A range older than what the store still holds (measurements are kept 24 h) is an error; one that
starts before the oldest stored measurement is replayed from there, with a note.
Exits 0 when the replay ran, 1 with a message when it could not.`;

/** `makai replay`: what a config would have requested over stored history. */
export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        boxes: { type: 'string' },
        store: { type: 'string' },
        against: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (positionals.length > 1) throw new UsageError('expected at most one config or topology file');
    if (values.from === undefined || values.to === undefined) throw new UsageError('--from and --to are required');
    if (values.against !== undefined && values.against !== 'recorded') throw new UsageError(`--against takes "recorded" (got "${values.against}")`);
    const now = Date.now();
    let fromMs = parseReplayTime(values.from, '--from', now);
    const toMs = parseReplayTime(values.to, '--to', now);
    if (toMs <= fromMs) throw new UsageError(`--to (${iso(toMs)}) must be after --from (${iso(fromMs)})`);
    const boxes = values.boxes === undefined ? undefined : boxList(values.boxes);

    const { loaded, store: choice } = await loadTriggeringConfig(positionals[0], { store: values.store });
    return withExistingStore(choice.uri, 'makai replay', io, async (store) => {
      const held = await heldRange(store, fromMs, toMs);
      if ('error' in held) {
        io.err(`makai replay: ${held.error}`);
        return 1;
      }
      if (held.fromMs > fromMs) {
        io.err(`makai replay: note: measurements before ${iso(held.fromMs)} are no longer in ${store.location} (older than the measurement TTL, or not recorded); replaying from there`);
        fromMs = held.fromMs;
      }
      const progress = progressBar(fromMs, toMs);
      const result = await runReplay(loaded.topology, { store, fromMs, toMs, ...(boxes ? { boxes } : {}), onProgress: progress.update });
      progress.done();
      if (result.skipped > 0) io.err(`makai replay: note: skipped ${result.skipped} stored measurement${result.skipped === 1 ? '' : 's'} whose box id is not a valid box id (a whole number in [0, 2^31 − 1])`);
      const range = { from: iso(fromMs), to: iso(toMs), measurements: result.measurements };
      if (values.against === 'recorded') {
        const comparison = compareWithRecorded(result.requests, await recordedEvents(store, fromMs, toMs, boxes));
        if (values.json) io.out(JSON.stringify({ ...range, ...comparisonJson(comparison) }, null, 2));
        else io.out(comparisonText(comparison, range));
        return 0;
      }
      if (values.json) io.out(JSON.stringify({ ...range, requests: result.requests.map(requestJson) }, null, 2));
      else io.out(requestsText(result.requests, range));
      return 0;
    });
  },
};

/** Where the store's measurements start, checked against the range asked for. */
async function heldRange(store: Store, fromMs: number, toMs: number): Promise<{ fromMs: number } | { error: string }> {
  const [oldest] = await store.queryMeasurements({ limit: 1 });
  if (oldest === undefined) return { error: `${store.location} holds no measurements` };
  if (toMs <= oldest.timestamp_ms) {
    return {
      error: `no measurements in ${iso(fromMs)} – ${iso(toMs)}: the oldest measurement in ${store.location} is from ${iso(oldest.timestamp_ms)} (measurements are kept for their TTL, 24 h by default); pick a later range`,
    };
  }
  return { fromMs: Math.max(fromMs, oldest.timestamp_ms) };
}

/** Events whose requested start is in the range (and that name one of `boxes`, when given). */
async function recordedEvents(store: Store, fromMs: number, toMs: number, boxes: readonly string[] | undefined): Promise<EventDoc[]> {
  const events = await store.listEvents({ fromMs, toMs });
  return boxes === undefined ? events : events.filter((event) => event.boxes_triggered.some((box) => boxes.includes(box)));
}

function boxList(text: string): string[] {
  const boxes = text.split(',').map((box) => box.trim()).filter((box) => box !== '');
  const bad = boxes.find((box) => !/^\d+$/.test(box));
  if (boxes.length === 0 || bad !== undefined) throw new UsageError(`--boxes takes box ids separated by commas, e.g. 1,2 (got "${text}")`);
  return boxes;
}

/** A progress line on stderr, only when it is a terminal (never in pipes, logs or tests). */
function progressBar(fromMs: number, toMs: number): { update: (fed: number, timeMs: number) => void; done: () => void } {
  const stream = process.stderr;
  if (!stream.isTTY) return { update: () => undefined, done: () => undefined };
  let shownAt = 0;
  return {
    update: (fed, timeMs) => {
      const wall = Date.now();
      if (wall - shownAt < 200) return;
      shownAt = wall;
      const share = Math.min(1, Math.max(0, (timeMs - fromMs) / (toMs - fromMs)));
      const width = 30;
      const filled = Math.round(share * width);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${fed} measurements  ${iso(timeMs)}`);
    },
    done: () => stream.write('\r\x1b[2K'),
  };
}

type Range = { from: string; to: string; measurements: number };

function requestJson(replayed: ReplayedRequest) {
  return { via: replayed.channel, sink: replayed.sink, ...replayed.request };
}

function requestCells(request: RequestEventMessage): string[] {
  return [
    iso(request.startTimestampMsUtc),
    `${request.endTimestampMsUtc - request.startTimestampMsUtc} ms`,
    request.triggerType,
    request.boxIds.join(','),
    request.percentMagnitude.toFixed(1),
    request.requestData ? 'yes' : 'no',
  ];
}

function requestsText(requests: readonly ReplayedRequest[], range: Range): string {
  const header = `replayed ${range.measurements} measurements, ${range.from} – ${range.to}: ${requests.length} request${requests.length === 1 ? '' : 's'}`;
  if (requests.length === 0) return header;
  const rows = requests.map((r) => [...requestCells(r.request), r.channel, r.request.requestee]);
  return [header, '', textTable(['start (UTC)', 'length', 'type', 'boxes', '% mag', 'data', 'via', 'requestee'], rows, new Set([1, 4]))].join('\n');
}

function comparisonJson(comparison: ReplayComparison) {
  return {
    summary: { matched: comparison.matched.length, onlyNew: comparison.onlyNew.length, onlyRecorded: comparison.onlyRecorded.length },
    matched: comparison.matched.map((m) => ({ replayed: requestJson(m.replayed), recorded: m.recorded })),
    onlyNew: comparison.onlyNew.map(requestJson),
    onlyRecorded: comparison.onlyRecorded,
  };
}

function comparisonText(comparison: ReplayComparison, range: Range): string {
  const { matched, onlyNew, onlyRecorded } = comparison;
  const rows: string[][] = [
    ...matched.map((m) => ['matched', String(m.recorded.event_id), ...requestCells(m.replayed.request), m.replayed.channel]),
    ...onlyNew.map((r) => ['only-new', '-', ...requestCells(r.request), r.channel]),
    ...onlyRecorded.map((e) => [
      'only-recorded',
      String(e.event_id),
      iso(e.target_event_start_timestamp_ms),
      `${e.target_event_end_timestamp_ms - e.target_event_start_timestamp_ms} ms`,
      e.type,
      e.boxes_triggered.join(','),
      '-',
      '-',
      'recorded',
    ]),
  ];
  return [
    `replayed ${range.measurements} measurements, ${range.from} – ${range.to}, against the events recorded then:`,
    `${matched.length} matched, ${onlyNew.length} only-new, ${onlyRecorded.length} only-recorded`,
    ...(rows.length > 0 ? ['', textTable(['', 'event', 'start (UTC)', 'length', 'type', 'boxes', '% mag', 'data', 'via'], rows, new Set([1, 3, 6]))] : []),
  ].join('\n');
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
}
