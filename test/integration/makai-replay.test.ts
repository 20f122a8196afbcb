import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { MeasurementDoc } from '../../src/protocol/documents.js';
import { openSqliteStore } from '../../src/stores/sqlite-store.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { captureIo } from '../unit/cli/sag-event-fixture.js';

/** Box time of the recording: 2026-12-01T00:00:00Z. */
const T = Date.UTC(2026, 11, 1);
const EVERY_MS = 1000 / 6;

/** Two boxes at 120 V for 30 s; both sag to 110 V (−8 %) for 1 s at T+10 s, box 1 alone to 112.5 V (−6.25 %) at T+20 s. */
function recording(): MeasurementDoc[] {
  const docs: MeasurementDoc[] = [];
  for (let i = 0; i < 180; i++) {
    const time = Math.round(T + i * EVERY_MS);
    for (const box of ['1', '2']) {
      const offset = time - T;
      const sag = offset >= 10_000 && offset < 11_000 ? 110 : box === '1' && offset >= 20_000 && offset < 21_000 ? 112.5 : 120;
      docs.push({ box_id: box, timestamp_ms: time, voltage: sag, frequency: 60, thd: 0.01, expireAt: new Date(T + 86_400_000) });
    }
  }
  return docs;
}

interface JsonRequest {
  readonly via: string;
  readonly triggerType: string;
  readonly boxIds: number[];
  readonly startTimestampMsUtc: number;
  readonly endTimestampMsUtc: number;
  readonly requestData: boolean;
}

describe('makai replay', () => {
  let dir: TempDir;
  let uri: string;
  before(async () => {
    dir = await createTempDir('makai-replay-');
    uri = `sqlite:${dir.file('makai.db')}`;
    const store = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      await store.insertMeasurements(recording());
    } finally {
      await store.close();
    }
  });
  after(() => dir?.remove());

  const replay = async (...args: string[]) => {
    const { io, err, text } = captureIo();
    const code = await main(['replay', '--store', uri, ...args], io);
    return { code, out: text(), err: err.join('') };
  };

  it('prints the requests the default topology would have made, in the recording’s time', async () => {
    const { code, out, err } = await replay('--from', String(T), '--to', new Date(T + 30_000).toISOString(), '--json');
    assert.equal(code, 0, err);
    const result = JSON.parse(out) as { measurements: number; requests: JsonRequest[] };
    assert.equal(result.measurements, 360);
    assert.deepStrictEqual(
      result.requests.map((r) => [r.via, r.triggerType, r.boxIds, r.requestData]),
      [
        ['acquisition', 'VOLTAGE_SAG', [1, 2], true],
        ['acquisition', 'VOLTAGE_SAG', [1], true],
      ],
    );
    // The first sag's interval is the excursion padded by 1 s each side (threshold defaults), in box time.
    const first = result.requests[0]!;
    assert.ok(first.startTimestampMsUtc <= T + 10_000 - 1000 + 1 && first.startTimestampMsUtc >= T + 10_000 - 1000 - 170, String(first.startTimestampMsUtc - T));
    assert.ok(first.endTimestampMsUtc >= T + 11_000 + 1000 - 170 && first.endTimestampMsUtc <= T + 11_000 + 1000 + 170, String(first.endTimestampMsUtc - T));

    // It wrote nothing: no events, trends, dead letters or new measurements.
    const store = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      assert.equal(await store.countMeasurements(), 360);
      assert.deepStrictEqual(await store.listEvents(), []);
      assert.deepStrictEqual(await store.queryTrends({}), []);
      assert.deepStrictEqual(await store.listDeadLetters(), []);
    } finally {
      await store.close();
    }
  });

  it('replays only the boxes asked for', async () => {
    const { code, out } = await replay('--from', String(T), '--to', String(T + 30_000), '--boxes', '2', '--json');
    assert.equal(code, 0);
    const result = JSON.parse(out) as { measurements: number; requests: JsonRequest[] };
    assert.equal(result.measurements, 180);
    assert.deepStrictEqual(result.requests.map((r) => r.boxIds), [[2]]);
  });

  it('with a more lenient threshold (7 %), the 6.25 % dip of box 1 alone is no longer requested', async () => {
    const config = dir.file('lenient.json');
    await writeFile(config, JSON.stringify({ plugins: [{ plugin: 'threshold', voltagePercent: 7 }] }));
    const { code, out } = await replay('--from', String(T), '--to', String(T + 30_000), '--json', config);
    assert.equal(code, 0);
    assert.deepStrictEqual((JSON.parse(out) as { requests: JsonRequest[] }).requests.map((r) => r.boxIds), [[1, 2]]);
  });

  it('--against recorded: matched, only-new and only-recorded, as JSON and as a table', async () => {
    const path = dir.file('recorded.db');
    const store = await openSqliteStore({ path });
    const event = (event_id: number, type: string, boxes: string[], start: number, end: number) => ({
      event_id,
      type: type as 'VOLTAGE_SAG',
      description: '',
      boxes_triggered: boxes,
      boxes_received: [],
      latencies_ms: [],
      reply_latencies_ms: [],
      target_event_start_timestamp_ms: start,
      target_event_end_timestamp_ms: end,
    });
    try {
      await store.insertMeasurements(recording());
      // The two-box sag as recorded; box 1's dip was not (an older, laxer config); a swell that the config no longer sees.
      await store.insertEvent(event(1, 'VOLTAGE_SAG', ['1', '2'], T + 9000, T + 12_000));
      await store.insertEvent(event(2, 'VOLTAGE_SWELL', ['2'], T + 25_000, T + 27_000));
      // Outside the range: not compared.
      await store.insertEvent(event(3, 'VOLTAGE_SWELL', ['2'], T + 60_000, T + 62_000));
    } finally {
      await store.close();
    }
    const { io, text } = captureIo();
    const args = ['replay', '--store', `sqlite:${path}`, '--from', String(T), '--to', String(T + 30_000), '--against', 'recorded'];
    assert.equal(await main([...args, '--json'], io), 0);
    const comparison = JSON.parse(text()) as {
      summary: unknown;
      matched: { recorded: { event_id: number }; replayed: JsonRequest }[];
      onlyNew: JsonRequest[];
      onlyRecorded: { event_id: number }[];
    };
    assert.deepStrictEqual(comparison.summary, { matched: 1, onlyNew: 1, onlyRecorded: 1 });
    assert.equal(comparison.matched[0]!.recorded.event_id, 1);
    assert.deepStrictEqual(comparison.matched[0]!.replayed.boxIds, [1, 2]);
    assert.deepStrictEqual(comparison.onlyNew.map((r) => r.boxIds), [[1]]);
    assert.deepStrictEqual(comparison.onlyRecorded.map((e) => e.event_id), [2]);

    const table = captureIo();
    assert.equal(await main(args, table.io), 0);
    assert.match(table.text(), /1 matched, 1 only-new, 1 only-recorded/);
    assert.match(table.text(), /\nonly-new\s+-\s+2026-12-01T00:00:19/);
  });

  it('replays shadow plugins too, marking their requests as via shadow (logged live, never sent)', async () => {
    const config = dir.file('shadow.json');
    await writeFile(config, JSON.stringify({ plugins: [{ plugin: 'threshold', voltagePercent: 7 }, { plugin: 'threshold', name: 'strict', shadow: true }] }));
    const { code, out } = await replay('--from', String(T), '--to', String(T + 30_000), '--json', config);
    assert.equal(code, 0);
    const requests = (JSON.parse(out) as { requests: (JsonRequest & { sink: string })[] }).requests;
    assert.deepStrictEqual(
      requests.map((r) => [r.via, r.sink, r.boxIds]).sort(),
      [
        ['acquisition', 'acquisition', [1, 2]],
        ['shadow', 'shadow-log-1', [1, 2]],
        ['shadow', 'shadow-log-1', [1]],
      ].sort(),
    );
    const store = await openSqliteStore({ path: dir.file('makai.db') });
    try {
      assert.deepStrictEqual(await store.listShadowRequests(), [], 'the replay logged nothing');
    } finally {
      await store.close();
    }
  });

  it('skips and reports a stored measurement whose box id cannot be a box id, replaying the rest', async () => {
    const path = dir.file('odd.db');
    const store = await openSqliteStore({ path });
    try {
      await store.insertMeasurements([...recording(), { box_id: 'box-7', timestamp_ms: T + 5000, voltage: 120, frequency: 60, expireAt: new Date(T + 86_400_000) }]);
    } finally {
      await store.close();
    }
    const { io, text, err } = captureIo();
    assert.equal(await main(['replay', '--store', `sqlite:${path}`, '--from', String(T), '--to', String(T + 30_000), '--json'], io), 0);
    assert.match(err.join(''), /note: skipped 1 stored measurement whose box id is not a valid box id/);
    const result = JSON.parse(text()) as { measurements: number; requests: JsonRequest[] };
    assert.equal(result.measurements, 360);
    assert.equal(result.requests.length, 2);
  });

  it('prints a table by default', async () => {
    const { code, out } = await replay('--from', String(T), '--to', String(T + 30_000));
    assert.equal(code, 0);
    assert.match(out, /replayed 360 measurements, 2026-12-01T00:00:00.000Z – 2026-12-01T00:00:30.000Z: 2 requests/);
    assert.match(out, /VOLTAGE_SAG\s+1,2\s+8\.3\s+yes\s+acquisition/);
  });

  it('refuses a range older than the oldest stored measurement, naming it', async () => {
    const { code, err } = await replay('--from', String(T - 3_600_000), '--to', String(T - 60_000));
    assert.equal(code, 1);
    assert.match(err, /no measurements in .*: the oldest measurement in .* is from 2026-12-01T00:00:00\.000Z \(measurements are kept for their TTL/);
  });

  it('replays from the oldest measurement when the range starts before it, with a note', async () => {
    const { code, err, out } = await replay('--from', String(T - 60_000), '--to', String(T + 30_000), '--json');
    assert.equal(code, 0);
    assert.match(err, /note: measurements before 2026-12-01T00:00:00\.000Z are no longer in/);
    assert.equal((JSON.parse(out) as { from: string }).from, '2026-12-01T00:00:00.000Z');
  });

  it('refuses a malformed time, naming the flag', async () => {
    const { code, err } = await replay('--from', 'yesterday', '--to', 'now');
    assert.equal(code, 2);
    assert.match(err, /--from: "yesterday" is not a time/);
  });
});

