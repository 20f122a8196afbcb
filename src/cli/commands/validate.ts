import { parseArgs } from 'node:util';
import { describeTopology } from '../../topology.js';
import { UsageError, type CliCommand } from '../command.js';
import { loadTopology } from '../load-topology.js';

const usage = `Usage: makai validate <config.json | topology.ts>

Loads and validates a triggering-service config or topology module without opening anything,
and prints the topology as a diagram. Exits 1 with an error naming the file and field when it
is invalid.`;

export const command: CliCommand = {
  summary: 'check a config or topology file and print its diagram',
  usage,
  async run(argv, io) {
    const { positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: {} });
    if (positionals.length !== 1) throw new UsageError('expected exactly one config or topology file');
    const loaded = await loadTopology(positionals[0]);
    io.out(describeTopology(loaded.topology));
    return 0;
  },
};
