import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { command } from '../../../src/cli/commands/trends.js';
import { main } from '../../../src/cli/main.js';
import type { TrendDoc } from '../../../src/protocol/documents.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';
import { T, attributesOf, captureIo, createSagStore, xmlProblems, type SagStore } from './sag-event-fixture.js';

const MINUTE = 60_000;
/** A line of a stack trace, e.g. `    at run (file.ts:12:5)`. */
const STACK_FRAME = /^\s+at .*:\d+:\d+\)?$/m;

/** Box 1: minutes 0–5 (a sag to 80 V in minute 2, THD only from minute 1) and 9–10; box 2: minute 0. */
function trendDocs(): TrendDoc[] {
  const window = (boxId: string, i: number, vMin: number): TrendDoc => ({
    box_id: boxId,
    window_start_ms: T + i * MINUTE,
    timestamp_ms: T + (i + 1) * MINUTE,
    count: 360 - i,
    voltage: { min: vMin, average: 119.5 + i / 10, max: 121.25 },
    frequency: { min: 59.981, average: 60.0004, max: 60.019 },
    ...(i === 0 ? {} : { thd: { min: 0.021, average: 0.0251, max: 0.0312 } }),
    location: 'unknown',
  });
  return [
    ...[0, 1, 2, 3, 4, 5, 9, 10].map((i) => window('1', i, i === 2 ? 80 : 118.75)),
    window('2', 0, 119),
  ];
}

/** The table rows (header and footer dropped), cells split on the column gaps. */
function tableRows(text: string): string[][] {
  const lines = text.split('\n');
  assert.match(lines[0]!, /^start \(UTC\)\s+end \(UTC\)\s+count\s+V min\s+V avg\s+V max\s+f min\s+f avg\s+f max\s+thd avg %\s+thd max %$/);
  return lines.slice(1, -1).map((line) => line.trim().split(/\s{2,}/));
}

describe('makai trends', () => {
  let fixture: SagStore;
  let dir: TempDir;
  let store: string[];
  before(async () => {
    fixture = await createSagStore(trendDocs());
    dir = await createTempDir();
    store = ['--store', fixture.uri];
  });
  after(async () => {
    await fixture.remove();
    await dir.remove();
  });

  it("should print one row per window of the box, oldest first, with min/avg/max", async () => {
    const { io, out, err } = captureIo();
    assert.equal(await command.run(['--box', '1', ...store], io), 0);
    assert.deepEqual(err, []);
    const text = out.join('\n');
    const rows = tableRows(text);
    assert.equal(rows.length, 8);
    assert.match(text, /8 windows of box 1$/);
    assert.deepEqual(rows[0], ['2024-05-01T10:00:00Z', '2024-05-01T10:01:00Z', '360', '118.75', '119.50', '121.25', '59.981', '60.000', '60.019', '-', '-']);
    assert.deepEqual(rows[2]!.slice(0, 4), ['2024-05-01T10:02:00Z', '2024-05-01T10:03:00Z', '358', '80.00']);
    assert.deepEqual(rows[1]!.slice(9), ['2.51', '3.12']);
    assert.equal(rows[7]![0], '2024-05-01T10:10:00Z');
  });

  it('should keep windows that end in [--from, --to), and print the documents with --json', async () => {
    const { io, out } = captureIo();
    assert.equal(await command.run(['--box', '1', '--from', '2024-05-01T10:02:00Z', '--to', '2024-05-01T10:05:00Z', '--json', ...store], io), 0);
    const docs = JSON.parse(out.join('')) as TrendDoc[];
    assert.deepEqual(docs.map((doc) => doc.timestamp_ms), [T + 2 * MINUTE, T + 3 * MINUTE, T + 4 * MINUTE]);
    assert.deepEqual(docs[1], trendDocs()[2]);

    // Epoch ms and a zone offset name the same instants.
    const same = captureIo();
    assert.equal(await command.run(['--box', '1', '--from', String(T + 2 * MINUTE), '--to', '2024-05-01T12:05:00+02:00', '--json', ...store], same.io), 0);
    assert.deepEqual(JSON.parse(same.out.join('')), docs);
  });

  it('should plot voltage, frequency and THD bands to an SVG, with the gap left open', async () => {
    const file = dir.file('trends.svg');
    const { io, out, err } = captureIo();
    assert.equal(await command.run(['--box', '1', '--plot', file, ...store], io), 0, err.join('\n'));
    assert.match(out.join('\n'), /wrote .*trends\.svg \(8 windows of box 1, \d+ KB\)/);
    const svg = await readFile(file, 'utf8');
    assert.deepEqual(xmlProblems(svg), []);
    assert.match(svg, /<title>Trends of box 1 2024-05-01T10:00:00Z → 2024-05-01T10:11:00Z<\/title>/);
    assert.deepEqual(attributesOf(svg, 'g', 'panel', 'data-series'), ['voltage', 'frequency', 'thd']);
    // Minutes 0–5 and 9–10 are two runs in the voltage and frequency panels; THD starts at minute 1, still two runs.
    assert.equal(attributesOf(svg, 'polygon', 'band', 'points').length, 6);
  });

  it('should refuse a box without windows, a missing store and bad options', async () => {
    const none = captureIo();
    assert.equal(await command.run(['--box', '7', ...store], none.io), 1);
    assert.match(none.err.join('\n'), /no trend windows for box 7 in /);

    const early = captureIo();
    assert.equal(await command.run(['--box', '1', '--to', '2024-05-01T10:00:30Z', ...store], early.io), 1);
    assert.match(early.err.join('\n'), /no trend windows for box 1 between the start and 2024-05-01T10:00:30Z/);

    const missing = captureIo();
    assert.equal(await command.run(['--box', '1', '--store', dir.file('nope.db')], missing.io), 1);
    assert.match(missing.err.join('\n'), /no store at .*nope\.db/);

    const cases: [string[], RegExp][] = [
      [['trends', ...store], /--box <box id> is required/],
      [['trends', '--box', '1', '--from', 'yesterday', ...store], /--from "yesterday" is not an ISO 8601 time/],
      [['trends', '--box', '1', '--from', '2024-05-02', '--to', '2024-05-01', ...store], /--to must be after --from/],
      [['trends', '--box', '1', '--plot', 'x.svg', '--json', ...store], /choose one of --plot and --json/],
    ];
    for (const [argv, message] of cases) {
      const { io, err } = captureIo();
      assert.equal(await main(argv, io), 2, argv.join(' '));
      assert.match(err.join('\n'), message);
      assert.doesNotMatch(err.join('\n'), STACK_FRAME);
    }
  });

  it('should stop at --limit windows', async () => {
    const { io, out } = captureIo();
    assert.equal(await command.run(['--box', '1', '--limit', '3', ...store], io), 0);
    assert.equal(tableRows(out.join('\n')).length, 3);
  });
});
