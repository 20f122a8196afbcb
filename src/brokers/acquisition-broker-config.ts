import { z } from 'zod';
import { duration, endpointField, numberIn, wholeNumber } from '../config/zod-fields.js';

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
    /** How often `client_certs` and the box registry are re-read (10 s); 100 ms to 1 day (0 would re-read in a tight loop). */
    key_refresh: duration({ min: '100ms', max: '1d' }).default('10s'),
    /** Longest accepted event window (`end - start`; 10 min); 100 ms to 1 h. Boxes keep 10 minutes of raw data. */
    max_event_window: duration({ min: '100ms', max: '1h' }).default('10m'),
    /** How often boxes are pinged (13 s); 10 ms to 1 h. Their watchdog reconnects after 60 s without a message. */
    ping_interval: duration({ min: '10ms', max: '1h' }).default('13s'),
    /**
     * Largest accepted frame on any broker socket, bytes; bigger frames are refused and counted
     * (`frame-too-large`). A frame over twice this size makes ZeroMQ drop the peer's connection
     * unread. 1 MiB; 1 KiB to 1 GiB.
     */
    max_frame_bytes: wholeNumber({ min: 1024, max: 1_073_741_824 }).default(1_048_576),
    /** First back-off after a retryable store failure (100 ms); doubles per attempt. 1 ms to 1 min. */
    store_retry_initial: duration({ min: '1ms', max: '1m' }).default('100ms'),
    /** After this long of failing retries a request or reply is refused (counted) instead of retried (1 min); 0 (no retry) to 1 day. */
    store_retry_limit: duration({ min: 0, max: '1d' }).default('1m'),

    // --- admission control of event requests (issue 14; see EventAdmission) -----------
    /** Most READs outstanding at once; a data request beyond it is refused `too-many-outstanding`. */
    max_outstanding_reads: wholeNumber({ min: 1, max: 10_000 }).default(ADMISSION_DEFAULTS.max_outstanding_reads),
    /** Most READs outstanding at once for one `requestee`, so one client cannot take every slot. */
    max_outstanding_reads_per_requester: wholeNumber({ min: 1, max: 10_000 }).default(ADMISSION_DEFAULTS.max_outstanding_reads_per_requester),
    /** A READ stops counting as outstanding after this long, even if a box it names never answered. */
    read_timeout: duration({ min: '1ms', max: MAX_READ_TIMEOUT_MS }).default(ADMISSION_DEFAULTS.read_timeout),
    /** Event requests per second per `requestee` (token bucket refill); over it they are refused `rate-limited`. */
    request_rate: numberIn({ min: 0.001, max: 10_000 }).default(ADMISSION_DEFAULTS.request_rate),
    /** Requests one `requestee` may send at once (token bucket size). */
    request_burst: wholeNumber({ min: 1, max: 100_000 }).default(ADMISSION_DEFAULTS.request_burst),
    /** Requesters remembered for the rate limit; beyond it, new ones share one bucket. */
    max_requesters: wholeNumber({ min: 1, max: 1_000_000 }).default(ADMISSION_DEFAULTS.max_requesters),
    /**
     * Count failed CURVE handshakes by kind (`makai_handshake_failures_total`) from socket
     * monitors. `false` turns the monitors off (docs/security.md: a libzmq abort at shutdown
     * that was measured with and without them).
     */
    count_handshake_failures: z.boolean().default(false),
  })
  .strict();

export type AcquisitionBrokerConfig = z.output<typeof acquisitionBrokerConfigSchema>;
