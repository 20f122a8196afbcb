import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { command } from '../../../src/cli/commands/events.js';
import { main } from '../../../src/cli/main.js';
import { DEFAULT_CALIBRATION } from '../../../src/protocol/box-adc.js';
import type { EventDoc } from '../../../src/protocol/documents.js';
import { openSqliteStore } from '../../../src/stores/sqlite-store.js';
import { decodeWaveform } from '../../../src/stores/waveform-bytes.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';
import { BOXES, REQUESTED, SAG, T, captureIo, createSagStore, type SagStore } from './sag-event-fixture.js';

/** `time_ms,volts` rows of a CSV export, header checked. */
function parseCsv(text: string): { time: number; volts: number }[] {
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'time_ms,volts');
  return lines.slice(1).map((line) => {
    const [time, volts] = line.split(',').map(Number);
    return { time: time!, volts: volts! };
  });
}

function rms(values: readonly number[]): number {
  return Math.sqrt(values.reduce((sum, v) => sum + v * v, 0) / values.length);
}

/** No line of a stack trace, e.g. `    at run (file.ts:12:5)`, in what the user sees. */
const noStackTrace = (lines: readonly string[]) => assert.doesNotMatch(lines.join('\n'), /^\s+at .*:\d+:\d+\)?$/m);

describe('makai events', () => {
  let fixture: SagStore;
  let store: string[];
  before(async () => {
    fixture = await createSagStore();
    store = ['--store', fixture.uri];
  });
  after(async () => {
    await fixture.remove();
  });

  /** The stored samples of a box, read straight from the store (the reference the CLI must agree with). */
  async function storedCounts(boxId: string): Promise<{ counts: Int16Array; times: readonly number[] }> {
    const db = await openSqliteStore({ path: fixture.uri.slice('sqlite:'.length) });
    try {
      const boxEvent = (await db.listBoxEvents(fixture.eventId)).find((doc) => doc.box_id === boxId)!;
      return { counts: decodeWaveform((await db.getWaveform(boxEvent.data_fs_filename))!), times: boxEvent.window_timestamps_ms };
    } finally {
      await db.close();
    }
  }

  describe('list', () => {
    it('should print one row per event with its id, UTC time, type, boxes and description', async () => {
      const { io, out, err } = captureIo();
      assert.equal(await command.run(['list', ...store], io), 0);
      assert.deepEqual(err, []);
      const lines = out.join('\n').split('\n');
      assert.match(lines[0]!, /^id\s+requested start \(UTC\)\s+type\s+triggered\s+received\s+description$/);
      assert.equal(lines.length, 2);
      const row = lines[1]!.trim().split(/\s{2,}/);
      assert.deepEqual(row, [String(fixture.eventId), new Date(REQUESTED.startMs).toISOString(), 'VOLTAGE_SAG', '1,2', '1,2', 'sag on box 1 <test>']);
    });

    it('should print the event documents with --json', async () => {
      const { io, out } = captureIo();
      assert.equal(await command.run(['list', '--json', ...store], io), 0);
      const events = JSON.parse(out.join('')) as EventDoc[];
      assert.equal(events.length, 1);
      assert.equal(events[0]!.event_id, fixture.eventId);
      assert.deepEqual(events[0]!.boxes_received, [...BOXES]);
    });
  });

  describe('show', () => {
    it('should report per box the time range, cycles, waveform bytes and the RMS range (the sag on box 1 only)', async () => {
      const { io, out } = captureIo();
      assert.equal(await command.run(['show', String(fixture.eventId), '--json', ...store], io), 0);
      const shown = JSON.parse(out.join('')) as { event: EventDoc; boxes: Array<Record<string, number | string | null>> };
      assert.equal(shown.event.event_id, fixture.eventId);
      assert.deepEqual(shown.boxes.map((box) => box['box_id']), [...BOXES]);
      for (const box of shown.boxes) {
        const { counts, times } = await storedCounts(String(box['box_id']));
        assert.equal(box['cycles'], times.length);
        assert.equal(box['waveform_bytes'], counts.length * 2);
        assert.equal(box['event_start_timestamp_ms'], times[0]);
        assert.ok(Math.abs((box['rms_max'] as number) - SAG.nominalVolts) < 1, `rms_max ${box['rms_max']}`);
      }
      const [sagged, steady] = shown.boxes;
      assert.ok(Math.abs((sagged!['rms_min'] as number) - SAG.volts) < 1, `box 1 rms_min ${sagged!['rms_min']}`);
      assert.ok(Math.abs((steady!['rms_min'] as number) - SAG.nominalVolts) < 1, `box 2 rms_min ${steady!['rms_min']}`);
    });

    it('should print a readable summary with one row per box', async () => {
      const { io, out } = captureIo();
      assert.equal(await command.run(['show', String(fixture.eventId), ...store], io), 0);
      const text = out.join('\n');
      assert.match(text, new RegExp(`^Event ${fixture.eventId}: VOLTAGE_SAG`));
      assert.match(text, /boxes received {3}1, 2/);
      const rows = text.split('\n').filter((line) => /^[12]\s{2,}2024-/.test(line));
      assert.equal(rows.length, 2);
      assert.match(rows[0]!, /\s79\.\d\d\s+120\.\d\d\s/);
    });
  });

  describe('export', () => {
    it('should write one CSV row per sample: cycle time + i/12 ms, counts / calibration volts', async () => {
      const dir = await createTempDir();
      try {
        const file = dir.file('box1.csv');
        const { io, out } = captureIo();
        assert.equal(await command.run(['export', String(fixture.eventId), '--box', '1', '--out', file, ...store], io), 0);
        assert.match(out.join('\n'), /wrote \d+ samples/);
        const rows = parseCsv(await readFile(file, 'utf8'));
        const { counts, times } = await storedCounts('1');
        assert.equal(rows.length, counts.length);
        assert.equal(rows[0]!.time, times[0]);
        assert.ok(Math.abs(rows[0]!.volts - counts[0]! / DEFAULT_CALIBRATION) < 1e-4);
        const last = rows[rows.length - 1]!;
        assert.ok(Math.abs(last.time - (times[times.length - 1]! + 199 / 12)) < 1e-3, `last time ${last.time}`);
        assert.ok(Math.abs(last.volts - counts[counts.length - 1]! / DEFAULT_CALIBRATION) < 1e-4);
        // Sample times increase within a cycle by 1/12 ms.
        assert.ok(Math.abs(rows[1]!.time - rows[0]!.time - 1 / 12) < 1e-3);

        // The sag, seen from the CSV alone: whole cycles well inside and well before it.
        const before = rows.filter((r) => r.time >= REQUESTED.startMs && r.time < SAG.startMs - 50).map((r) => r.volts);
        const during = rows.filter((r) => r.time >= SAG.startMs + 50 && r.time < SAG.endMs - 50).map((r) => r.volts);
        assert.ok(Math.abs(rms(before) - SAG.nominalVolts) < 1, `before ${rms(before)}`);
        assert.ok(Math.abs(rms(during) - SAG.volts) < 1, `during ${rms(during)}`);
      } finally {
        await dir.remove();
      }
    });

    it('should write the same CSV to stdout without --out, and scale volts by --calibration', async () => {
      const plain = captureIo();
      assert.equal(await command.run(['export', String(fixture.eventId), '--box', '2', ...store], plain.io), 0);
      const rows = parseCsv(plain.text());
      const { counts } = await storedCounts('2');
      assert.equal(rows.length, counts.length);

      const halved = captureIo();
      assert.equal(await command.run(['export', String(fixture.eventId), '--box', '2', '--calibration', String(DEFAULT_CALIBRATION / 2), ...store], halved.io), 0);
      const doubled = parseCsv(halved.text());
      const peak = rows.reduce((best, r, i) => (Math.abs(r.volts) > Math.abs(rows[best]!.volts) ? i : best), 0);
      assert.ok(Math.abs(doubled[peak]!.volts - 2 * rows[peak]!.volts) < 1e-3);
      assert.equal(doubled[peak]!.time, rows[peak]!.time);
    });
  });

  describe('errors', () => {
    it('should refuse an unknown event id with a message and exit 1', async () => {
      for (const sub of [['show', '99'], ['export', '99', '--box', '1'], ['plot', '99']]) {
        const { io, out, err } = captureIo();
        assert.equal(await command.run([...sub, ...store], io), 1, sub.join(' '));
        assert.match(err.join('\n'), /no event 99 in .*newest is 1/);
        assert.deepEqual(out, []);
        noStackTrace(err);
      }
    });

    it('should refuse a box that sent no data for the event, saying which did', async () => {
      const { io, err } = captureIo();
      assert.equal(await command.run(['export', String(fixture.eventId), '--box', '7', ...store], io), 1);
      assert.match(err.join('\n'), /event 1 has no data from box 7: box 7 was not part of it \(data from: 1, 2\)/);
    });

    it('should tell a triggered box without a reply apart, and refuse to plot an event without waveforms', async () => {
      const db = await openSqliteStore({ path: fixture.uri.slice('sqlite:'.length) });
      const id = await db.allocateEventId();
      await db.insertEvent({
        event_id: id,
        type: 'VOLTAGE_SWELL',
        description: 'nobody answered',
        boxes_triggered: ['3'],
        boxes_received: [],
        latencies_ms: [],
        target_event_start_timestamp_ms: T,
        target_event_end_timestamp_ms: T + 1000,
      });
      await db.close();
      const exported = captureIo();
      assert.equal(await command.run(['export', String(id), '--box', '3', ...store], exported.io), 1);
      assert.match(exported.err.join('\n'), /box 3 was asked but sent no data \(data from: no box\)/);
      const plotted = captureIo();
      assert.equal(await command.run(['plot', String(id), '--out', '/nonexistent/x.svg', ...store], plotted.io), 1);
      assert.match(plotted.err.join('\n'), /has no waveforms: no box sent data \(triggered: 3\)/);
      const shown = captureIo();
      assert.equal(await command.run(['show', String(id), ...store], shown.io), 0);
      assert.match(shown.out.join('\n'), /no data from {5}3[\s\S]*No box sent data/);
    });

    it('should say so when the store holds no events', async () => {
      const dir = await createTempDir();
      try {
        const path = dir.file('empty.db');
        await (await openSqliteStore({ path })).close();
        const listed = captureIo();
        assert.equal(await command.run(['list', '--store', `sqlite:${path}`], listed.io), 1);
        assert.match(listed.err.join('\n'), /no events in .*empty\.db/);
        const shown = captureIo();
        assert.equal(await command.run(['show', '1', '--store', path], shown.io), 1);
        assert.match(shown.err.join('\n'), /no event 1 .*the store holds no events/);
      } finally {
        await dir.remove();
      }
    });

    it('should refuse a missing SQLite file without creating it, and an unsupported URI', async () => {
      const dir = await createTempDir();
      try {
        const path = dir.file('typo.db');
        const missing = captureIo();
        assert.equal(await command.run(['list', '--store', `sqlite:${path}`], missing.io), 1);
        assert.match(missing.err.join('\n'), /no store at .*typo\.db/);
        await assert.rejects(access(path));

        const bad = captureIo();
        assert.equal(await command.run(['list', '--store', 'redis://localhost'], bad.io), 1);
        assert.match(bad.err.join('\n'), /unsupported store URI "redis:\/\/localhost"/);
        noStackTrace([...missing.err, ...bad.err]);
      } finally {
        await dir.remove();
      }
    });

    it('should answer usage mistakes with the usage and exit 2 (through main)', async () => {
      const cases: [string[], RegExp][] = [
        [['events'], /missing subcommand/],
        [['events', 'frobnicate'], /unknown subcommand "frobnicate"/],
        [['events', 'export', '1', ...store], /needs --box/],
        [['events', 'show', 'abc', ...store], /"abc" is not an event id/],
        [['events', 'plot', '1', '--calibration', '0', ...store], /--calibration must be a positive number/],
        [['events', 'list', '--limit', '0', ...store], /--limit must be a whole number/],
      ];
      for (const [argv, message] of cases) {
        const { io, err } = captureIo();
        assert.equal(await main(argv, io), 2, argv.join(' '));
        assert.match(err.join('\n'), message);
        assert.match(err.join('\n'), /Usage: makai events/);
        noStackTrace(err);
      }
    });
  });
});
