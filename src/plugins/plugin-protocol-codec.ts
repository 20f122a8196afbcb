/**
 * Encoder and decoder of the out-of-process plugin protocol (`proto/plugin.proto`, package
 * `makai.plugin.v1`; docs/plugin-protocol.md). The schema is read from the `.proto` file itself by
 * protobufjs, so the host cannot drift from what the SDKs generate their code from.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type protobuf from 'protobufjs';
import { DecodeError } from '../core/errors.js';
import type { EventRequest, Measurement } from './plugin.js';

/** The protocol version this host speaks (`Handshake.protocol_version`). */
export const PLUGIN_PROTOCOL_VERSION = 1;

/** `proto/plugin.proto`, next to `src/` (and to `dist/` in the package: `files` ships `proto`). */
export const PLUGIN_PROTO_FILE = fileURLToPath(new URL('../../proto/plugin.proto', import.meta.url));

/**
 * The two top-level types, read from the .proto on first use (not at import: most runs have no
 * such plugin). The full protobufjs, with its .proto parser, is required then too: the wire codecs
 * need only `protobufjs/minimal`, and the full build's 46 modules cost the daemon about 1 MB of RSS.
 */
let types: { readonly host: protobuf.Type; readonly plugin: protobuf.Type } | undefined;
function schema() {
  if (!types) {
    const protobufjs = createRequire(import.meta.url)('protobufjs') as typeof protobuf;
    const { root } = protobufjs.parse(readFileSync(PLUGIN_PROTO_FILE, 'utf8'), { keepCase: false });
    types = { host: root.lookupType('makai.plugin.v1.HostMessage'), plugin: root.lookupType('makai.plugin.v1.PluginMessage') };
  }
  return types;
}

const TO_OBJECT = { longs: Number, enums: String, defaults: true, oneofs: true } as const;

/** A host → plugin message. */
export type HostMessage =
  | { readonly handshake: { readonly protocolVersion: number; readonly pluginName: string; readonly settingsJson: string } }
  | { readonly batch: { readonly sequence: number; readonly measurements: readonly Measurement[] } }
  | { readonly ping: { readonly id: number } }
  | { readonly finish: Record<string, never> };

/** `Error.Kind` of plugin.proto. */
export type PluginErrorKind = 'KIND_UNSPECIFIED' | 'SETTINGS' | 'EXCEPTION' | 'PROTOCOL';

/** A plugin → host message, decoded. Requests are as the plugin sent them: check them before use. */
export type PluginMessage =
  | { readonly kind: 'handshake'; readonly protocolVersion: number; readonly pluginName: string; readonly sdk: string }
  | { readonly kind: 'result'; readonly sequence: number; readonly requests: readonly EventRequest[] }
  | { readonly kind: 'pong'; readonly id: number }
  | { readonly kind: 'finished'; readonly requests: readonly EventRequest[] }
  | { readonly kind: 'error'; readonly errorKind: PluginErrorKind; readonly message: string; readonly path: string };

/**
 * Encodes one host message with its varint length prefix, ready for the child's stdin.
 * Measurements go out as `makai.plugin.v1.Measurement` (`box_id`, `time_ms`, `frequency`, `rms`,
 * `thd` when the box sent it).
 */
export function encodeHostFrame(message: HostMessage): Uint8Array {
  const value =
    'batch' in message
      ? { batch: { sequence: message.batch.sequence, measurements: message.batch.measurements.map(toWireMeasurement) } }
      : message;
  const { host } = schema();
  return host.encodeDelimited(host.fromObject(value)).finish();
}

function toWireMeasurement(m: Measurement): Record<string, number> {
  const wire: Record<string, number> = { boxId: m.id, timeMs: m.time, frequency: m.frequency, rms: m.rms };
  if (m.thd !== undefined) wire['thd'] = m.thd;
  return wire;
}

/**
 * Decodes one plugin message (a frame's payload, without the length prefix).
 *
 * @throws DecodeError `truncated` or `invalid-value` for bytes that are not a PluginMessage,
 *   `missing-field` for a PluginMessage with none of its cases set.
 */
export function decodePluginMessage(bytes: Uint8Array): PluginMessage {
  const { plugin } = schema();
  let decoded: Record<string, unknown>;
  try {
    decoded = plugin.toObject(plugin.decode(bytes), TO_OBJECT) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof RangeError ? 'truncated' : 'invalid-value';
    throw new DecodeError(reason, 'PluginMessage', `not a plugin message: ${(error as Error).message}`, undefined, { cause: error });
  }
  const kind = decoded['message'];
  const body = (typeof kind === 'string' ? decoded[kind] : undefined) as Record<string, unknown> | undefined;
  switch (kind) {
    case 'handshake':
      return { kind, protocolVersion: body!['protocolVersion'] as number, pluginName: body!['pluginName'] as string, sdk: body!['sdk'] as string };
    case 'result':
      return { kind, sequence: body!['sequence'] as number, requests: (body!['requests'] as Record<string, unknown>[]).map(toEventRequest) };
    case 'pong':
      return { kind, id: body!['id'] as number };
    case 'finished':
      return { kind, requests: (body!['requests'] as Record<string, unknown>[]).map(toEventRequest) };
    case 'error':
      return { kind, errorKind: body!['kind'] as PluginErrorKind, message: body!['message'] as string, path: body!['path'] as string };
    default:
      throw new DecodeError('missing-field', 'PluginMessage', 'none of handshake, result, pong, finished, error is set', 'message');
  }
}

/**
 * A wire EventRequest as the plugin contract's request. `TRIGGER_TYPE_UNSPECIFIED` (and an
 * unknown number) is kept as it came, so `checkEventRequest` refuses and counts it.
 */
function toEventRequest(wire: Record<string, unknown>): EventRequest {
  return {
    startTimestampMsUtc: wire['startTimestampMsUtc'] as number,
    endTimestampMsUtc: wire['endTimestampMsUtc'] as number,
    triggerType: wire['triggerType'] as EventRequest['triggerType'],
    percentMagnitude: wire['percentMagnitude'] as number,
    boxIds: wire['boxIds'] as number[],
    requestee: wire['requestee'] as string,
    description: wire['description'] as string,
    requestData: wire['requestData'] as boolean,
  };
}

