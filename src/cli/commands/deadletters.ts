import type { DeadLetterDoc } from '../../protocol/documents.js';
import { parseCommandArgs, UsageError, type CliCommand } from '../command.js';
import { textTable } from '../text-table.js';
import { withExistingStore } from '../with-existing-store.js';
import { DEFAULT_STORE_URI } from './run.js';

const DEFAULT_LIMIT = 50;

const usage = `Usage: makai deadletters [options]

Lists the newest refused inputs the services kept (bounded: the newest 1000 by default):
when, which socket or stage refused it, the reason, the explanation, and the first bytes of
the offending frame as hex.

Options:
  --store URI   sqlite:<file>, a file path, or mongodb://… (default ${DEFAULT_STORE_URI})
  --limit N     at most N, newest first (default ${DEFAULT_LIMIT})
  --json        print them as a JSON array

Exits 1 with a message when the store cannot be opened.`;

/** `makai deadletters`: the kept refused inputs, newest first. */
export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs({
      args: [...argv],
      allowPositionals: true,
      options: { store: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const limit = values.limit === undefined ? DEFAULT_LIMIT : limitOption(values.limit);

    return withExistingStore(values.store ?? DEFAULT_STORE_URI, 'makai deadletters', io, async (store) => {
      const letters = await store.listDeadLetters({ limit });
      if (values.json) {
        io.out(JSON.stringify(letters, null, 2));
        return 0;
      }
      if (letters.length === 0) {
        io.out(`no refused input kept in ${store.location}`);
        return 0;
      }
      io.out(deadLetterTable(letters));
      io.out(`${letters.length} refused input${letters.length === 1 ? '' : 's'}, newest first (${store.location})`);
      return 0;
    });
  },
};

/** The table `makai deadletters` prints: one row per refused input. */
export function deadLetterTable(letters: readonly DeadLetterDoc[]): string {
  const rows = letters.map((d) => [
    Number.isFinite(d.at_ms) ? new Date(d.at_ms).toISOString() : String(d.at_ms),
    d.source,
    d.reason,
    oneLine(d.detail, 80),
    d.preview === '' ? '-' : d.preview,
  ]);
  return textTable(['time (UTC)', 'source', 'reason', 'detail', 'first bytes (hex)'], rows);
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= max ? flat : flat.slice(0, max - 1) + '…';
}

function limitOption(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new UsageError(`--limit must be a whole number ≥ 1 (got "${text}")`);
  return value;
}
