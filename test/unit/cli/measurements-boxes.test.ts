import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { main } from '../../../src/cli/main.js';
import { openSqliteStore } from '../../../src/stores/sqlite-store.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';
import { captureIo } from './sag-event-fixture.js';

const T = Date.UTC(2024, 4, 1, 10, 0, 0); // 2024-05-01T10:00:00Z
const KEY = 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7';

describe('makai measurements and makai boxes', () => {
  let dir: TempDir;
  let uri: string;
  before(async () => {
    dir = await createTempDir('makai-cli-measurements-');
    uri = `sqlite:${dir.file('makai.db')}`;
    const store = await openSqliteStore({ path: dir.file('makai.db') });
    const expireAt = new Date(T + 86_400_000);
    await store.insertMeasurements([
      { box_id: '1', timestamp_ms: T, voltage: 120.01, frequency: 60.002, thd: 0.0123, expireAt },
      { box_id: '1', timestamp_ms: T + 166, voltage: 119.5, frequency: 59.998, expireAt },
      { box_id: '1', timestamp_ms: T + 60_000, voltage: 121, frequency: 60, thd: 0.02, expireAt },
      { box_id: '2', timestamp_ms: T + 10, voltage: 118, frequency: 60.1, expireAt },
    ]);
    await store.close();
  });
  after(async () => {
    await dir.remove();
  });
  const makai = async (...args: string[]) => {
    const captured = captureIo();
    const code = await main(args, captured.io);
    return { code, out: captured.out.join('\n'), err: captured.err.join('\n') };
  };

  it('measurements --csv prints one box in the range, oldest first, with a header', async () => {
    const { code, out } = await makai('measurements', '--box', '1', '--from', '2024-05-01T10:00Z', '--to', '2024-05-01T10:01Z', '--csv', '--store', uri);
    assert.equal(code, 0);
    assert.equal(
      out,
      [
        'box_id,timestamp_ms,time_utc,voltage,frequency,thd',
        `1,${T},2024-05-01T10:00:00Z,120.01,60.002,0.0123`,
        `1,${T + 166},2024-05-01T10:00:00.166Z,119.5,59.998,`,
      ].join('\n'),
    );
  });

  it('measurements prints a table, says when --limit cut it short, and exits 1 for an empty range', async () => {
    let { code, out, err } = await makai('measurements', '--box', '1', '--limit', '2', '--store', uri);
    assert.equal(code, 0);
    assert.match(out, /^time \(UTC, box clock\) +Vrms +f \(Hz\) +thd %\n2024-05-01T10:00:00Z +120\.01 +60\.002 +1\.23\n/);
    assert.match(out, /2 measurements of box 1$/);
    assert.match(err, /stopped at --limit 2; there are more/);

    ({ code, err } = await makai('measurements', '--box', '3', '--store', uri));
    assert.equal(code, 1);
    assert.match(err, /^makai measurements: no measurements for box 3 in /);

    ({ code, err } = await makai('measurements', '--box', '1', '--from', 'yesterday', '--store', uri));
    assert.equal(code, 2);
    assert.match(err, /--from "yesterday" is not an ISO 8601 time/);
  });

  it('boxes add, list and remove the registry; a second add needs --replace', async () => {
    let { code, out, err } = await makai('boxes', 'add', '7', '--public-key', KEY, '--location', '{"name":"Manoa","lat":21.3}', '--store', uri);
    assert.equal(code, 0, err);
    assert.match(out, /^registered box 7 in /);
    ({ code, err } = await makai('boxes', 'add', '7', '--store', uri));
    assert.equal(code, 1);
    assert.match(err, /box 7 is registered already .*; pass --replace/);
    ({ code } = await makai('boxes', 'add', '8', '--location', 'Kailua', '--store', uri));
    assert.equal(code, 0);

    ({ code, out } = await makai('boxes', 'list', '--json', '--store', uri));
    assert.equal(code, 0);
    assert.deepStrictEqual(JSON.parse(out), [
      { box_id: '7', location: { name: 'Manoa', lat: 21.3 }, public_key: KEY },
      { box_id: '8', location: 'Kailua' },
    ]);
    ({ out } = await makai('boxes', 'list', '--store', uri));
    assert.match(out, /^box +public key +location +calibration\n/);
    assert.match(out, /^ +8 +- +Kailua +-$/m);

    ({ code, out } = await makai('boxes', 'remove', '7', '--store', uri));
    assert.equal(code, 0);
    assert.match(out, /^removed box 7 from /);
    ({ code, err } = await makai('boxes', 'remove', '7', '--store', uri));
    assert.equal(code, 1);
    assert.match(err, /box 7 is not registered/);
    ({ out } = await makai('boxes', 'list', '--json', '--store', uri));
    assert.deepStrictEqual(JSON.parse(out).map((b: { box_id: string }) => b.box_id), ['8']);
  });

  it('boxes add refuses a bad box id, key, calibration or location as usage errors', async () => {
    for (const [args, message] of [
      [['x1'], /"x1" is not a box id/],
      [['1', '--public-key', 'short'], /--public-key is not a CURVE public key: bad length/],
      [['1', '--calibration=-3'], /--calibration must be a positive number/],
      [['1', '--location', '{nope'], /--location starts like JSON but is not/],
    ] as const) {
      const { code, err } = await makai('boxes', 'add', ...args, '--store', uri);
      assert.equal(code, 2, args.join(' '));
      assert.match(err, message);
    }
  });

  it('boxes add --calibration keeps the constant in the registry, and list shows it', async () => {
    const { code, err } = await makai('boxes', 'add', '9', '--calibration', '152.1', '--store', uri);
    assert.equal(code, 0, err);
    const { out } = await makai('boxes', 'list', '--json', '--store', uri);
    assert.equal(JSON.parse(out).find((b: { box_id: string }) => b.box_id === '9')?.calibration_constant, 152.1);
    const table = (await makai('boxes', 'list', '--store', uri)).out;
    assert.match(table, /^ +9 +- +- +152\.1$/m);
  });
});
