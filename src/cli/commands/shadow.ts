import type { ShadowRequestDoc } from '../../protocol/documents.js';
import { parseCommandArgs, UsageError, type CliCommand } from '../command.js';
import { textTable } from '../text-table.js';
import { DEFAULT_STORE_URI } from '../triggering-config.js';
import { withExistingStore } from '../with-existing-store.js';

const DEFAULT_LIMIT = 50;

const usage = `Usage: makai shadow list [options]

Lists the event requests shadow plugins made (plugin entries with "shadow": true): they run
live beside the others, but their requests are logged here and never sent to the broker.
Newest first: when logged, plugin, type, boxes, requested interval (box time, UTC), magnitude.

Options:
  --store URI      sqlite:<file>, a file path, or mongodb://… (default ${DEFAULT_STORE_URI})
  --plugin NAME    only this plugin's
  --limit N        at most N (default ${DEFAULT_LIMIT})
  --json           print them as a JSON array

Exits 1 with a message when the store cannot be opened.`;

/** `makai shadow list`: the shadow log. */
export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const [subcommand, ...rest] = argv;
    if (subcommand !== 'list') throw new UsageError(subcommand === undefined ? 'missing subcommand (list)' : `unknown subcommand "${subcommand}" (use list)`);
    const { values, positionals } = parseCommandArgs({
      args: rest,
      allowPositionals: true,
      options: { store: { type: 'string' }, plugin: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const limit = values.limit === undefined ? DEFAULT_LIMIT : Number(values.limit);
    if (values.limit !== undefined && (!/^\d+$/.test(values.limit) || limit < 1)) throw new UsageError(`--limit must be a whole number ≥ 1 (got "${values.limit}")`);
    return withExistingStore(values.store ?? DEFAULT_STORE_URI, 'makai shadow list', io, async (store) => {
      const requests = await store.listShadowRequests({ limit, ...(values.plugin === undefined ? {} : { plugin: values.plugin }) });
      if (values.json) {
        io.out(JSON.stringify(requests, null, 2));
        return 0;
      }
      if (requests.length === 0) {
        io.out(`no shadow requests in ${store.location}`);
        return 0;
      }
      io.out(shadowTable(requests));
      io.out(`${requests.length} shadow request${requests.length === 1 ? '' : 's'}, newest first (${store.location})`);
      return 0;
    });
  },
};

function shadowTable(requests: readonly ShadowRequestDoc[]): string {
  const rows = requests.map((r) => [
    iso(r.at_ms),
    r.plugin,
    r.type,
    r.boxes.join(',') || '-',
    iso(r.start_ms),
    `${r.end_ms - r.start_ms} ms`,
    r.percent_magnitude.toFixed(1),
    r.request_data ? 'yes' : 'no',
  ]);
  return textTable(['logged (UTC)', 'plugin', 'type', 'boxes', 'start (UTC)', 'length', '% mag', 'data'], rows, new Set([5, 6]));
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
}
