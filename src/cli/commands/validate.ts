import { describeTopology } from '../../topology.js';
import { parseCommandArgs, UsageError, type CliCommand } from '../command.js';
import { loadTriggeringConfig } from '../triggering-config.js';

const usage = `Usage: makai validate <config.json | topology.ts> [--store URI] [--metrics-address HOST:PORT]

Makes every check \`makai run\` makes before it starts, without opening anything: each node's
options, plugin modules and their settings, the store URI and the metrics address. Prints the
topology as a diagram; exits 1 with the error \`makai run\` would give (naming the file and
field) when something is refused.`;

export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs({
      args: [...argv],
      allowPositionals: true,
      options: { store: { type: 'string' }, 'metrics-address': { type: 'string' } },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one config or topology file');
    const { loaded } = await loadTriggeringConfig(positionals[0], { store: values.store, metricsAddress: values['metrics-address'] });
    io.out(describeTopology(loaded.topology));
    return 0;
  },
};
