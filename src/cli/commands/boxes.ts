import { calibrationConstantProblem, type BoxRecord } from '../../protocol/documents.js';
import { readCertificate } from '../../security/curve-certificate.js';
import { z85KeyProblem } from '../../security/z85.js';
import { openStore } from '../../stores/open-store.js';
import type { Store } from '../../stores/store.js';
import { parseCommandArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { ensureStoreDirectory } from '../store-directory.js';
import { textTable } from '../text-table.js';
import { DEFAULT_STORE_URI } from '../triggering-config.js';
import { withExistingStore } from '../with-existing-store.js';

const usage = `Usage:
  makai boxes add <box id> [--public-key KEY | --key-file CERT] [--location L] [--calibration C] [--replace]
      Registers a box (the opq_boxes collection OPQ View keeps): the brokers accept its CURVE
      public key, and the triggering service and \`makai status\` know it. Refuses a box id
      that is registered already unless --replace is given (which replaces the whole entry).
  makai boxes list [--json]
      The registered boxes: id, public key, location, calibration constant.
  makai boxes remove <box id>
      Takes a box out of the registry (its measurements, trends and events stay). Exits 1
      when no such box is registered.

Options:
  --public-key KEY    the box's Z85 CURVE public key (40 characters)
  --key-file CERT     read the public key from a certificate (makai keys generate's .key file)
  --location L        where the box is: text, or JSON when it starts with { or [
  --calibration C     ADC counts per volt of the box (waveform volts = counts / C)
  --replace           add: replace an entry that exists
  --json              list: the registry entries as JSON
  --store URI         sqlite:<file>, a file path, or mongodb://… (default ${DEFAULT_STORE_URI})
  --create-store-dir  add: create the directory of a sqlite: store that does not exist yet`;

/** Box ids are the uint32 ids boxes send, kept as decimal strings (spec §2). */
const BOX_ID = /^(0|[1-9]\d{0,9})$/;

/** `makai boxes`: the box registry, from the command line. */
export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'add':
        return add(rest, io);
      case 'list':
        return list(rest, io);
      case 'remove':
        return remove(rest, io);
      case undefined:
        throw new UsageError('missing subcommand (add, list or remove)');
      default:
        throw new UsageError(`unknown subcommand "${sub}" (add, list or remove)`);
    }
  },
};

async function add(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'public-key': { type: 'string' },
      'key-file': { type: 'string' },
      location: { type: 'string' },
      calibration: { type: 'string' },
      replace: { type: 'boolean' },
      store: { type: 'string' },
      'create-store-dir': { type: 'boolean' },
    },
  });
  const boxId = boxIdArgument(positionals, 'add');
  if (values['public-key'] !== undefined && values['key-file'] !== undefined) throw new UsageError('choose one of --public-key and --key-file');
  const calibration = values.calibration === undefined ? undefined : calibrationOption(values.calibration);
  const location = values.location === undefined ? undefined : locationOption(values.location);
  const publicKey = values['key-file'] !== undefined ? (await readCertificate(values['key-file'])).publicKey : values['public-key'];
  if (publicKey !== undefined) {
    const problem = z85KeyProblem(publicKey);
    if (problem) throw new UsageError(`--public-key is not a CURVE public key: ${problem}`);
  }
  const entry: BoxRecord = {
    box_id: boxId,
    ...(publicKey === undefined ? {} : { public_key: publicKey }),
    ...(location === undefined ? {} : { location }),
    ...(calibration === undefined ? {} : { calibration_constant: calibration }),
  };

  const uri = values.store ?? DEFAULT_STORE_URI;
  await ensureStoreDirectory({ uri, origin: values.store === undefined ? {} : { configPath: '--store' } }, { create: values['create-store-dir'] === true });
  const store = await openStore(uri, values.store === undefined ? {} : { configPath: '--store' });
  try {
    if (!values.replace && (await store.getBox(boxId))) {
      io.err(`makai boxes add: box ${boxId} is registered already in ${store.location}; pass --replace to replace its entry`);
      return 1;
    }
    await store.upsertBox(entry);
    io.out(`registered box ${boxId} in ${store.location}${publicKey === undefined ? ' (no public key: it cannot connect to the brokers)' : ''}`);
    return 0;
  } finally {
    await store.close();
  }
}

async function list(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: [...argv], allowPositionals: true, options: { json: { type: 'boolean' }, store: { type: 'string' } } });
  if (positionals.length > 0) throw new UsageError(`boxes list takes no arguments (got "${positionals[0]}")`);
  return withExistingStore(values.store ?? DEFAULT_STORE_URI, 'makai boxes list', io, async (store: Store) => {
    const boxes = await store.listBoxes();
    if (values.json) {
      io.out(JSON.stringify(boxes, null, 2));
      return 0;
    }
    if (boxes.length === 0) {
      io.out(`no boxes registered in ${store.location}`);
      return 0;
    }
    io.out(boxTable(boxes));
    io.out(`${boxes.length} box${boxes.length === 1 ? '' : 'es'} in ${store.location}`);
    return 0;
  });
}

async function remove(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: [...argv], allowPositionals: true, options: { store: { type: 'string' } } });
  const boxId = boxIdArgument(positionals, 'remove');
  return withExistingStore(values.store ?? DEFAULT_STORE_URI, 'makai boxes remove', io, async (store) => {
    if (!(await store.removeBox(boxId))) {
      io.err(`makai boxes remove: box ${boxId} is not registered in ${store.location}`);
      return 1;
    }
    io.out(`removed box ${boxId} from ${store.location}`);
    return 0;
  });
}

/** The table `makai boxes list` prints. */
export function boxTable(boxes: readonly BoxRecord[]): string {
  const rows = boxes.map((box) => [
    box.box_id,
    box.public_key ?? '-',
    box.location === undefined ? '-' : typeof box.location === 'string' ? box.location : JSON.stringify(box.location),
    box.calibration_constant === undefined ? '-' : String(box.calibration_constant),
  ]);
  return textTable(['box', 'public key', 'location', 'calibration'], rows, new Set([0, 3]));
}

function boxIdArgument(positionals: readonly string[], sub: string): string {
  if (positionals.length !== 1) throw new UsageError(`boxes ${sub} needs exactly one box id (got ${positionals.length} arguments)`);
  const id = positionals[0]!;
  if (!BOX_ID.test(id) || Number(id) > 0xffff_ffff) throw new UsageError(`"${id}" is not a box id (a whole number from 0 to 4294967295)`);
  return id;
}

function calibrationOption(text: string): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (calibrationConstantProblem(value) !== undefined) throw new UsageError(`--calibration must be a positive number of counts per volt (got "${text}")`);
  return value;
}

function locationOption(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`--location starts like JSON but is not: ${(error as Error).message}`);
  }
}
