import { convertBoxReply } from '../../../src/brokers/box-reply.js';
import type { CliIo } from '../../../src/cli/command.js';
import type { Scenario } from '../../../src/simulator/scenario.js';
import { SimulatedBox } from '../../../src/simulator/simulated-box.js';
import type { EventDoc, TrendDoc } from '../../../src/protocol/documents.js';
import { openSqliteStore } from '../../../src/stores/sqlite-store.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';

/**
 * A real SQLite store with one voltage-sag event, shared by the `makai events` / `makai trends`
 * / plot tests: two simulated boxes recorded from T to T + 3 s; box 1 sags to 80 V (from 120 V)
 * from T + 1000 to T + 1500 ms, box 2 stays at 120 V. Both replied to event `EVENT_ID`, whose
 * requested window is T + 500 … T + 2000. The waveforms go through the same conversion as the
 * acquisition broker's (`convertBoxReply`) and the store's `recordBoxReply`.
 */
export const T = Date.UTC(2024, 4, 1, 10, 0, 0);
export const SAG = { boxId: '1', startMs: T + 1000, endMs: T + 1500, volts: 80, nominalVolts: 120 } as const;
export const REQUESTED = { startMs: T + 500, endMs: T + 2000 } as const;
export const BOXES = ['1', '2'] as const;

export interface SagStore {
  readonly dir: TempDir;
  /** `sqlite:<file>` of the store, closed (commands open it themselves). */
  readonly uri: string;
  readonly eventId: number;
  remove(): Promise<void>;
}

/** Builds the store; call `remove()` when done. `trends` are inserted as given. */
export async function createSagStore(trends: readonly TrendDoc[] = []): Promise<SagStore> {
  const dir = await createTempDir('makai-events-');
  const path = dir.file('makai.db');
  const store = await openSqliteStore({ path });
  try {
    const scenario: Scenario = {
      name: 'sag',
      disturbances: [
        { kind: 'voltage-sag', atMs: SAG.startMs - T, durationMs: SAG.endMs - SAG.startMs, boxes: [1], voltagePercent: (100 * SAG.volts) / SAG.nominalVolts },
      ],
    };
    const eventId = await store.allocateEventId();
    const event: EventDoc = {
      event_id: eventId,
      type: 'VOLTAGE_SAG',
      description: 'sag on box 1 <test>',
      boxes_triggered: [...BOXES],
      boxes_received: [],
      latencies_ms: [],
      target_event_start_timestamp_ms: REQUESTED.startMs,
      target_event_end_timestamp_ms: REQUESTED.endMs,
    };
    await store.insertEvent(event);
    for (const id of BOXES) {
      // Little noise, so the RMS assertions can be tight.
      const box = new SimulatedBox({ id: Number(id), seed: 7, startMs: T, scenario, signal: { voltsNoise: 0.05 } });
      box.tick(T + 3000);
      const data = box.read(REQUESTED.startMs, REQUESTED.endMs);
      const converted = convertBoxReply({ type: 'RESP', sequenceNumber: eventId, boxId: Number(id), time: T + 3000 }, data);
      if (!converted.ok) throw new Error(`fixture: ${converted.reason}: ${converted.detail}`);
      await store.recordBoxReply({ boxEvent: converted.boxEvent, waveform: converted.waveform, receivedAtMs: T + 3100, replyLatencyMs: 100 });
    }
    if (trends.length > 0) await store.insertTrends(trends);
    return { dir, uri: `sqlite:${path}`, eventId, remove: () => dir.remove() };
  } finally {
    await store.close();
  }
}

/** A CliIo that records what a command writes. */
export function captureIo(): { io: CliIo; out: string[]; err: string[]; text: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), stopRequested: new Promise(() => undefined) };
  return { io, out, err, text: () => out.join('') };
}

/**
 * A light well-formedness check of generated XML: every start tag is closed in order, nothing
 * is closed that was not opened, and no raw `<` or `&` sits in text. Returns the problems.
 */
export function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:lt|gt|amp|quot|apos);)/g;
  for (const match of body.matchAll(token)) {
    const [whole, closing, name, , selfClosing] = match;
    if (name === undefined) {
      problems.push(`stray "${whole}" at ${match.index}`);
    } else if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}> at ${match.index}`);
    } else if (!selfClosing) {
      stack.push(name);
    }
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  return problems;
}

/** The values of `attribute` on every `<element class="className">`. */
export function attributesOf(svg: string, element: string, className: string, attribute: string): string[] {
  const tags = svg.match(new RegExp(`<${element}\\b[^>]*class="${className}"[^>]*>`, 'g')) ?? [];
  return tags.map((tag) => new RegExp(`\\b${attribute}="([^"]*)"`).exec(tag)?.[1] ?? '');
}
