import { TriggerBroker } from '../src/brokers/trigger-broker.js';
import { createJsonLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { serveParent, tellParent } from './child-process.js';

/**
 * The triggering broker (`TriggerBroker`) in a process of its own, as in production: boxes
 * publish to its CURVE XSUB, the triggering service subscribes to its plain XPUB.
 *
 * Protocol: `start` (certificate paths) → `ready` (bound endpoints); `stop` → `stopped` (the
 * broker's own in/out and dropped counters, CPU time).
 */

export type BrokerRequest =
  | { readonly type: 'start'; readonly serverCertFile: string; readonly clientCertsDir: string }
  | { readonly type: 'stop' }
  | { readonly type: 'exit' };

export type BrokerReport =
  | { readonly type: 'ready'; readonly interface: string; readonly backend: string }
  | {
      readonly type: 'stopped';
      readonly messagesIn: number;
      readonly messagesOut: number;
      /** Dropped at the backend XPUB because the subscriber's queue was full (`backend-hwm`). */
      readonly dropped: number;
      readonly cpuMs: number;
    };

let broker: TriggerBroker | undefined;
let metrics = new Metrics();
let cpuStart = process.cpuUsage();

serveParent<BrokerRequest>(async (message) => {
  switch (message.type) {
    case 'start': {
      metrics = new Metrics();
      broker = new TriggerBroker(
        {
          client_certs: message.clientCertsDir,
          server_cert: message.serverCertFile,
          interface: 'tcp://127.0.0.1:*',
          backend: 'tcp://127.0.0.1:*',
          white_list: true,
          key_refresh: 600_000,
        },
        { logger: createJsonLogger({ level: 'warn', now: Date.now }), metrics },
      );
      await broker.start();
      cpuStart = process.cpuUsage();
      await tellParent({ type: 'ready', ...broker.endpoints } satisfies BrokerReport);
      return;
    }
    case 'stop': {
      const cpu = process.cpuUsage(cpuStart);
      await broker?.close();
      await tellParent({
        type: 'stopped',
        messagesIn: await metrics.value('makai_trigger_broker_messages_total', { direction: 'in' }),
        messagesOut: await metrics.value('makai_trigger_broker_messages_total', { direction: 'out' }),
        dropped: await metrics.value('makai_trigger_broker_dropped_total'),
        cpuMs: (cpu.user + cpu.system) / 1000,
      } satisfies BrokerReport);
      return;
    }
    case 'exit':
      process.exit(0);
  }
});
