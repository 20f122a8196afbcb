import { z } from 'zod';
import { duration, endpointField, wholeNumber } from '../config/zod-fields.js';

/** Where the original looked for the triggering broker's config (spec §1.1). */
export const DEFAULT_TRIGGER_BROKER_CONFIG_FILE = '/etc/opq/triggering_broker_config.json';

/**
 * `triggering_broker_config.json` (spec §7): the original's five keys, each now with a
 * documented default (the original required all of them), plus a few of our own. Unknown fields
 * are refused, so a typo is an error that names the field instead of a silently ignored setting.
 */
export const triggerBrokerConfigSchema = z
  .object({
    /**
     * Directory of box public certificates (zcert files). Every public key found there may
     * connect; the directory is re-read while running, so dropping a file in adds a box.
     */
    client_certs: z.string().min(1).default('/etc/opq/curve/public_keys'),
    /** The server's secret certificate (zcert with `public-key` and `secret-key`). */
    server_cert: z.string().min(1).default('/etc/opq/curve/private_keys/opqserver_secret'),
    /** Box-facing XSUB endpoint (CURVE server). */
    interface: endpointField.default('tcp://*:9880'),
    /**
     * Backend XPUB endpoint (plain TCP, meant for local subscribers). Loopback by default (the
     * original bound `*`); a wildcard still works and is logged as a warning at start.
     */
    backend: endpointField.default('tcp://127.0.0.1:9881'),
    /**
     * Only keys from `client_certs` and the box registry may connect. The original shipped
     * `false` (any key); we default to `true` and warn loudly when it is turned off.
     */
    white_list: z.boolean().default(true),

    // --- ours -------------------------------------------------------------------------
    /**
     * Store URI whose box registry (`opq_boxes.public_key`) adds allowed keys: `sqlite:<file>`
     * or `mongodb://…`. Without it only `client_certs` is used.
     */
    store: z.string().min(1).optional(),
    /** Also accepted, as in the acquisition broker: a MongoDB URI used when `store` is absent. */
    mongo_uri: z.string().min(1).optional(),
    /** How often `client_certs` and the box registry are re-read (10 s); 100 ms to 1 day (0 would re-read in a tight loop). */
    key_refresh: duration({ min: '100ms', max: '1d' }).default('10s'),
    /** Largest accepted inbound message part from a box, bytes (1 MiB); 1 KiB to 1 GiB. ZeroMQ disconnects a peer sending more. */
    max_frame_bytes: wholeNumber({ min: 1024, max: 1_073_741_824 }).default(1_048_576),
    /**
     * Count failed CURVE handshakes by kind (`makai_handshake_failures_total`) from socket
     * monitors. `false` turns the monitors off (docs/security.md: a libzmq abort at shutdown
     * that was measured with and without them).
     */
    count_handshake_failures: z.boolean().default(false),
  })
  .strict();

export type TriggerBrokerConfig = z.output<typeof triggerBrokerConfigSchema>;
