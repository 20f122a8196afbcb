import { z } from 'zod';
import { durationField, endpointField, positiveInt } from '../config/zod-fields.js';

/** Where the original looked for the acquisition broker's config (spec §1.1). */
export const DEFAULT_ACQUISITION_BROKER_CONFIG_FILE = '/etc/opq/acquisition_broker_config.json';

/** The store used when a config names neither `store` nor `mongo_uri`: the embedded SQLite file `makai run` defaults to too, so both processes share it. */
export const DEFAULT_ACQUISITION_STORE_URI = 'sqlite:./data/makai.db';

/**
 * Defaults of the admission-control fields (issue 14), shared by the schema and by callers that
 * build {@link AcquisitionBrokerSettings}-like objects without one.
 */
export const ADMISSION_DEFAULTS = {
  max_outstanding_reads: 64,
  max_outstanding_reads_per_requester: 16,
  read_timeout: 30_000,
  request_rate: 5,
  request_burst: 20,
  max_requesters: 1024,
} as const;

/** Longest `read_timeout`: boxes keep 10 minutes of data, a READ unanswered for an hour is gone. */
const MAX_READ_TIMEOUT_MS = 3_600_000;

/**
 * `acquisition_broker_config.json` (spec §6.2): the original's seven keys, each now with a
 * documented default (the original required all of them), plus our own. Unknown fields are
 * refused, so a typo is an error that names the field.
 */
export const acquisitionBrokerConfigSchema = z
  .object({
    /** Directory of box public certificates (zcert files), re-read while running. */
    client_certs: z.string().min(1).default('/etc/opq/curve/public_keys'),
    /** The server's secret certificate. */
    server_cert: z.string().min(1).default('/etc/opq/curve/private_keys/opqserver_secret'),
    /** PUB to the boxes (CURVE server): `evget` READ requests and PINGs. */
    box_pub: endpointField.default('tcp://*:8194'),
    /** PULL from the boxes (CURVE server): RESP replies with waveforms, PONGs. */
    box_pull: endpointField.default('tcp://*:8196'),
    /**
     * PULL for `RequestEventMessage`s from the triggering service, Mauka, health checkers.
     * Unauthenticated, so loopback by default (the original bound `*`); a wildcard still works
     * and is logged as a warning at start.
     */
    backend_pull: endpointField.default('tcp://127.0.0.1:9884'),
    /** PUB of `["evnew", "<event_id>"]` notices. */
    backend_pub: endpointField.default('tcp://*:9899'),
    /** MongoDB URI of the original; selects the MongoDB store when `store` is absent. */
    mongo_uri: z.string().min(1).optional(),

    // --- ours -------------------------------------------------------------------------
    /** Store URI: `sqlite:<file>` (embedded) or `mongodb://…`. Wins over `mongo_uri`. */
    store: z.string().min(1).optional(),
    /** Allow only keys from `client_certs` and the box registry (the original always did). */
    white_list: z.boolean().default(true),
    /** How often `client_certs` and the box registry are re-read. */
    key_refresh: durationField.default('10s'),
    /** Longest accepted event window (`end - start`); boxes keep 10 minutes of raw data. */
    max_event_window: durationField.default('10m'),
    /** How often boxes are pinged (their watchdog reconnects after 60 s without a message). */
    ping_interval: durationField
      .default('13s')
      .refine((ms) => ms > 0, 'must be longer than 0'),
    /**
     * Largest accepted frame on any broker socket, bytes; bigger frames are refused and counted
     * (`frame-too-large`). A frame over twice this size makes ZeroMQ drop the peer's connection
     * unread.
     */
    max_frame_bytes: positiveInt.default(1_048_576),
    /** First back-off after a retryable store failure; doubles per attempt. */
    store_retry_initial: durationField.default('100ms'),
    /** After this long of failing retries a request or reply is refused (counted) instead of retried. */
    store_retry_limit: durationField.default('1m'),

    // --- admission control of event requests (issue 14; see EventAdmission) -----------
    /** Most READs outstanding at once; a data request beyond it is refused `too-many-outstanding`. */
    max_outstanding_reads: positiveInt.max(10_000).default(ADMISSION_DEFAULTS.max_outstanding_reads),
    /** Most READs outstanding at once for one `requestee`, so one client cannot take every slot. */
    max_outstanding_reads_per_requester: positiveInt.max(10_000).default(ADMISSION_DEFAULTS.max_outstanding_reads_per_requester),
    /** A READ stops counting as outstanding after this long, even if a box it names never answered. */
    read_timeout: durationField
      .default(ADMISSION_DEFAULTS.read_timeout)
      .refine((ms) => ms > 0 && ms <= MAX_READ_TIMEOUT_MS, `must be longer than 0 and at most ${MAX_READ_TIMEOUT_MS} ms (1h)`),
    /** Event requests per second per `requestee` (token bucket refill); over it they are refused `rate-limited`. */
    request_rate: z.number().positive().max(10_000).default(ADMISSION_DEFAULTS.request_rate),
    /** Requests one `requestee` may send at once (token bucket size). */
    request_burst: positiveInt.max(100_000).default(ADMISSION_DEFAULTS.request_burst),
    /** Requesters remembered for the rate limit; beyond it, new ones share one bucket. */
    max_requesters: positiveInt.max(1_000_000).default(ADMISSION_DEFAULTS.max_requesters),
    /**
     * Count failed CURVE handshakes by kind (`makai_handshake_failures_total`) from socket
     * monitors. `false` turns the monitors off (docs/security.md: a libzmq abort at shutdown
     * that was measured with and without them).
     */
    count_handshake_failures: z.boolean().default(true),
  })
  .strict();

export type AcquisitionBrokerConfig = z.output<typeof acquisitionBrokerConfigSchema>;
