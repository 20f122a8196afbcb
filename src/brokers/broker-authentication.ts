import type { SchedulerLike } from 'rxjs';
import type * as zmq from 'zeromq';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { readCertificate } from '../security/curve-certificate.js';
import { secretFileModeProblem } from '../security/secret-file-mode.js';
import { ZapAuthenticator } from '../security/zap-authenticator.js';
import { StoreBoxDirectory } from '../stores/box-directory.js';
import type { Store } from '../stores/store.js';
import { BoxAllowList } from './box-allow-list.js';

/** The ZAP domain of the original brokers and boxes (spec §3). */
export const BROKER_ZAP_DOMAIN = 'global';

export interface BrokerAuthenticationOptions {
  /** `server_cert`: the server's secret certificate. */
  readonly serverCertFile: string;
  /** `client_certs`: directory of allowed box certificates. */
  readonly clientCertsDir: string;
  /** `white_list`: false lets any CURVE key in (logged loudly). */
  readonly whiteList: boolean;
  /** How often certificates and the registry are re-read, ms. */
  readonly keyRefreshMs: number;
  /** The ZeroMQ context of the broker's CURVE server sockets (one ZAP handler per context). */
  readonly context: zmq.Context;
  /** Box registry source; without it only `client_certs` is used. */
  readonly store?: Store | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly scheduler: SchedulerLike;
}

/**
 * CURVE authentication of a broker's box sockets, shared by both brokers: the server key pair,
 * the live allow-list (client_certs ∪ registry, see {@link BoxAllowList}) and the ZAP handler
 * that consults it on every handshake. The registry view is also the broker's source of box
 * locations.
 */
export interface BrokerAuthentication {
  readonly serverSecretKey: string;
  readonly serverPublicKey: string;
  readonly allowList: BoxAllowList;
  /** The box registry, when a store was given (refreshed by the allow-list). */
  readonly registry: StoreBoxDirectory | undefined;
  close(): Promise<void>;
}

/**
 * Loads the server certificate, the allow-list and starts the ZAP handler in `context`.
 *
 * @throws ConfigError when the server certificate is unreadable or holds no secret key, or
 *   `client_certs` is not a directory (the original refused to start too)
 * @throws ConnectionError when another ZAP handler is already bound in `context`
 */
export async function startBrokerAuthentication(options: BrokerAuthenticationOptions): Promise<BrokerAuthentication> {
  const { logger } = options;
  const certificate = await readCertificate(options.serverCertFile);
  if (certificate.secretKey === undefined) {
    throw new ConfigError('the server certificate holds no secret-key line (a public certificate was given?)', {
      file: options.serverCertFile,
    });
  }
  logger.info('server public key', { publicKey: certificate.publicKey });
  // Loaded anyway (refusing would take the brokers down over a chmod), but loudly and visibly.
  const exposed = options.metrics.gauge('makai_secret_certificate_exposed', 'Whether the server secret certificate is readable by group or others (1) or only its owner (0)');
  const modeProblem = await secretFileModeProblem(options.serverCertFile);
  exposed.set(modeProblem ? 1 : 0);
  if (modeProblem) logger.warn(`SECRET CERTIFICATE EXPOSED: the server secret certificate is ${modeProblem}`, { file: options.serverCertFile });
  const registry = options.store
    ? new StoreBoxDirectory({ store: options.store, refreshMs: options.keyRefreshMs, scheduler: options.scheduler, logger })
    : undefined;
  const allowList = new BoxAllowList({
    clientCertsDir: options.clientCertsDir,
    ...(registry ? { registry } : {}),
    allowAny: !options.whiteList,
    refreshMs: options.keyRefreshMs,
    scheduler: options.scheduler,
    logger,
  });
  await allowList.start();
  const zap = new ZapAuthenticator({
    ...(options.whiteList ? { isAllowed: (key: string) => allowList.isAllowed(key) } : { allowAny: true }),
    domains: [BROKER_ZAP_DOMAIN],
    logger,
    metrics: options.metrics,
    context: options.context,
  });
  try {
    await zap.start();
  } catch (error) {
    allowList.close();
    throw error;
  }
  return {
    serverSecretKey: certificate.secretKey,
    serverPublicKey: certificate.publicKey,
    allowList,
    registry,
    async close() {
      allowList.close();
      registry?.close();
      await zap.close();
    },
  };
}
