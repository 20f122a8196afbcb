import { dirname, resolve } from 'node:path';
import type { Observer } from 'rxjs';
import type { z } from 'zod';
import { loadJsonConfig } from '../config/load-json-config.js';
import { chooseStore, type StoreField } from '../config/store-choice.js';
import type { Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import type { Rejection } from '../core/rejection.js';
import type { ServiceObservability } from '../observability/service-observability.js';
import { openStore } from '../stores/open-store.js';
import type { Store } from '../stores/store.js';
import { createCliLogger } from './cli-logger.js';
import { parseCommandArgs, UsageError, type CliCommand } from './command.js';
import { serveBroker } from './serve-broker.js';
import { ensureStoreDirectory } from './store-directory.js';

/** The fields every broker config file has and this module reads. */
export interface BrokerConfigFields {
  readonly client_certs: string;
  readonly server_cert: string;
  readonly store?: string | undefined;
  readonly mongo_uri?: string | undefined;
}

/** A zod schema whose output is a broker config (its input is the raw JSON). */
export type BrokerConfigSchema = z.ZodType<BrokerConfigFields, z.ZodTypeDef, unknown>;

/** `Store` when the command has a default store URI (it always has a store); else maybe none. */
export type BrokerStore<D extends string | undefined> = D extends string ? Store : Store | undefined;

/** What {@link BrokerCommandOptions.create} builds a broker from. */
export interface BrokerCommandContext<C, S extends Store | undefined> {
  /** The validated config, with `client_certs` and `server_cert` resolved against the config file's directory. */
  readonly config: C;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Opened from `--store`, else the config's `store`, else `mongo_uri`, else the command's default. */
  readonly store: S;
  /** The dead-letter observer the serve loop owns. */
  readonly rejected: Observer<Rejection>;
  readonly observability: ServiceObservability;
}

/** What differs between the broker commands; everything else is {@link brokerCommand}'s. */
export interface BrokerCommandOptions<S extends BrokerConfigSchema, D extends string | undefined, B> {
  /** `trigger-broker` or `acquisition-broker`: the `service` of health reports and logs. */
  readonly service: string;
  /** Full usage text for `makai <name> --help`. */
  readonly usage: string;
  /** The config file read when no positional argument names one. */
  readonly defaultConfigFile: string;
  readonly schema: S;
  /** The store when neither `--store` nor the config names one; without it the broker may run with no store. */
  readonly defaultStoreUri?: D;
  /** Builds the (not yet started) broker; the serve loop starts and closes it. */
  create(context: BrokerCommandContext<z.output<S>, BrokerStore<D>>): B;
}

/**
 * A broker subcommand: `makai <name> [config.json] [--store URI] [--log-level LEVEL]
 * [--metrics-address HOST:PORT] [--create-store-dir]`. It loads and validates the config, creates the logger,
 * metrics and store, then runs the broker under {@link serveBroker} until SIGINT/SIGTERM.
 *
 * @throws UsageError (rejected) for more than one positional argument.
 * @throws ConfigError (rejected) for an unreadable or invalid config file or store URI.
 */
export function brokerCommand<
  S extends BrokerConfigSchema,
  B extends { start(): Promise<void>; close(): Promise<void> },
  D extends string | undefined = undefined,
>(options: BrokerCommandOptions<S, D, B>): CliCommand {
  return {
    usage: options.usage,
    async run(argv, io) {
      const { values, positionals } = parseCommandArgs({
        args: [...argv],
        allowPositionals: true,
        options: { store: { type: 'string' }, 'log-level': { type: 'string' }, 'metrics-address': { type: 'string' }, 'create-store-dir': { type: 'boolean' } },
      });
      if (positionals.length > 1) throw new UsageError(`expected at most one config file, got ${positionals.length}`);
      const file = resolve(positionals[0] ?? options.defaultConfigFile);
      const config: z.output<S> = await loadJsonConfig(file, options.schema);
      const logger = createCliLogger(values['log-level']);
      const metrics = new Metrics();
      const fields: StoreField[] = [['store', config.store], ['mongo_uri', config.mongo_uri]];
      const choice = chooseStore(values.store, file, fields, options.defaultStoreUri);
      // As before the commands shared this: an empty URI means no store only where a store is optional.
      const opensStore = !(choice === undefined || (choice.uri === '' && options.defaultStoreUri === undefined));
      if (opensStore) await ensureStoreDirectory(choice, { create: values['create-store-dir'] === true });
      const store = (opensStore ? await openStore(choice.uri, { logger, metrics, ...choice.origin }) : undefined) as BrokerStore<D>;
      const base = dirname(file);
      const resolved = { ...config, client_certs: resolve(base, config.client_certs), server_cert: resolve(base, config.server_cert) };
      return serveBroker({
        service: options.service,
        store,
        logger,
        metrics,
        metricsAddress: values['metrics-address'],
        io,
        create: (rejected, observability) => options.create({ config: resolved, logger, metrics, store, rejected, observability }),
      });
    },
  };
}
