import { describeTopology } from '../../topology.js';
import { parseCommandArgs, UsageError, type CliCommand } from '../command.js';
import { ensureStoreDirectory } from '../store-directory.js';
import { loadTriggeringConfig } from '../triggering-config.js';

const usage = `Usage: makai validate <config.json | topology.ts> [--store URI] [--metrics-address HOST:PORT] [--create-store-dir]

Makes every check \`makai run\` makes before it starts, without opening anything: each node's
options, plugin modules and their settings, the store URI and the metrics address. Prints the
topology as a diagram; exits 1 with the error \`makai run\` would give (naming the file and
field) when something is refused, such as a sqlite: store whose directory does not exist
(unless --create-store-dir says \`makai run\` will be told to create it).`;

export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs({
      args: [...argv],
      allowPositionals: true,
      options: { store: { type: 'string' }, 'metrics-address': { type: 'string' }, 'create-store-dir': { type: 'boolean' } },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one config or topology file');
    const { loaded, store } = await loadTriggeringConfig(positionals[0], { store: values.store, metricsAddress: values['metrics-address'] });
    await ensureStoreDirectory(store, { create: values['create-store-dir'] === true, checkOnly: true });
    io.out(describeTopology(loaded.topology));
    return 0;
  },
};
