import { createCliLogger } from '../cli-logger.js';
import { parseCommandArgs, UsageError, userMessage, type CliCommand } from '../command.js';
import { ensureStoreDirectory } from '../store-directory.js';
import { DEFAULT_STORE_URI, loadTriggeringConfig } from '../triggering-config.js';
import { startTriggeringService } from '../triggering-service.js';

export { DEFAULT_STORE_URI };

const usage = `Usage: makai run [config.json | topology.ts] [options]

Runs the triggering service: subscribes to the box trigger stream and runs a topology
(measurements, 1-minute trends, plugins, acquisition requests).

  config.json     an original-format makai.json (mapped onto the default topology)
  topology.ts     a module whose default export is made with defineTopology(...)
  (nothing)       the default topology with default settings

Options:
  --store URI         sqlite:<file> or mongodb://host:port (default: the config's store,
                      else mongo_host/mongo_port, else ${DEFAULT_STORE_URI})
  --create-store-dir  create the directory of a sqlite: store named by --store or the
                      config when it does not exist (it is refused otherwise)
  --log-level LEVEL   debug | info | warn | error (default info; or MAKAI_LOG_LEVEL)
  --stop-deadline MS  longest a graceful stop may take (default 10000)
  --metrics-address HOST:PORT  serve /metrics (Prometheus) and /health there (default: the
                      config's metrics_address, else none); \`makai status\` reads /health

SIGINT/SIGTERM flush open trend windows and measurement batches, then exit 0.`;

export const command: CliCommand = {
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs({
      args: [...argv],
      allowPositionals: true,
      options: { store: { type: 'string' }, 'log-level': { type: 'string' }, 'stop-deadline': { type: 'string' }, 'metrics-address': { type: 'string' }, 'create-store-dir': { type: 'boolean' } },
    });
    if (positionals.length > 1) throw new UsageError(`expected at most one config or topology file, got ${positionals.length}`);
    const deadline = Number(values['stop-deadline'] ?? 10_000);
    if (!Number.isFinite(deadline) || deadline <= 0) throw new UsageError('--stop-deadline must be a positive number of ms');
    const logger = createCliLogger(values['log-level']);
    const { loaded, store, metricsAddress } = await loadTriggeringConfig(positionals[0], { store: values.store, metricsAddress: values['metrics-address'] }, logger);
    await ensureStoreDirectory(store, { create: values['create-store-dir'] === true });
    const service = await startTriggeringService({
      loaded,
      storeUri: store.uri,
      storeFrom: store.origin,
      logger,
      ...(metricsAddress !== undefined ? { observabilityAddress: metricsAddress } : {}),
    });

    const outcome = await Promise.race([
      io.stopRequested.then((signal) => ({ signal })),
      service.done.then(() => ({ finished: true }), (error: unknown) => ({ error })),
    ]);
    if ('error' in outcome) {
      io.err(`makai run: ${userMessage(outcome.error)}`);
      await service.stop(deadline);
      return 1;
    }
    if ('signal' in outcome) logger.info('stop requested', { signal: outcome.signal });
    const clean = await service.stop(deadline);
    return clean ? 0 : 1;
  },
};
