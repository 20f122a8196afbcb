import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { DecodeError } from '../../../src/core/errors.js';
import { LengthDelimitedFrames } from '../../../src/plugins/length-delimited-frames.js';
import { PLUGIN_PROTO_FILE, decodePluginMessage, encodeHostFrame } from '../../../src/plugins/plugin-protocol-codec.js';

// The host's half of proto/plugin.proto: frames cut anywhere, garbage refused with a DecodeError,
// and messages as an independent reading of the .proto (protobufjs's own) sees them.

const root = protobuf.loadSync(PLUGIN_PROTO_FILE);
const PluginMessage = root.lookupType('makai.plugin.v1.PluginMessage');
const HostMessage = root.lookupType('makai.plugin.v1.HostMessage');
const pluginFrame = (value: Record<string, unknown>) => PluginMessage.encodeDelimited(PluginMessage.fromObject(value)).finish();

describe('LengthDelimitedFrames', () => {
  it('should put frames back together however the stream is cut', () => {
    const bytes = Buffer.concat([pluginFrame({ pong: { id: 1 } }), pluginFrame({ pong: { id: 300 } }), pluginFrame({ finished: {} })]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const frames = new LengthDelimitedFrames();
      const got = [...frames.push(bytes.subarray(0, cut)), ...frames.push(bytes.subarray(cut))].map(decodePluginMessage);
      assert.deepEqual(got, [{ kind: 'pong', id: 1 }, { kind: 'pong', id: 300 }, { kind: 'finished', requests: [] }], `cut at ${cut}`);
      assert.equal(frames.pending, 0);
    }
  });

  it('should refuse a length over the limit and a varint of more than 5 bytes instead of waiting for them', () => {
    assert.throws(() => new LengthDelimitedFrames(100).push(Uint8Array.of(0xe5, 0x00)), (error: unknown) => error instanceof DecodeError && error.reason === 'frame-too-large');
    assert.throws(() => new LengthDelimitedFrames().push(new Uint8Array(12).fill(0xff)), (error: unknown) => error instanceof DecodeError && error.reason === 'invalid-value');
  });
});

describe('plugin protocol codec', () => {
  it('should encode host messages as the .proto says, thd only when the box sent it', () => {
    const frame = encodeHostFrame({
      batch: { sequence: 7, measurements: [{ id: 1001, time: 1_700_000_000_123, frequency: 59.98, rms: 119.5, thd: 0.03 }, { id: 2, time: 5, frequency: 60, rms: 120 }] },
    });
    const decoded = HostMessage.toObject(HostMessage.decodeDelimited(frame), { longs: Number });
    assert.deepEqual(decoded, {
      batch: { sequence: 7, measurements: [{ boxId: 1001, timeMs: 1_700_000_000_123, frequency: 59.98, rms: 119.5, thd: 0.03 }, { boxId: 2, timeMs: 5, frequency: 60, rms: 120 }] },
    });
  });

  it('should decode every plugin message, keeping an unset trigger type for the request check to refuse', () => {
    const one = (value: Record<string, unknown>) => decodePluginMessage(PluginMessage.encode(PluginMessage.fromObject(value)).finish());
    assert.deepEqual(one({ handshake: { protocolVersion: 1, pluginName: 'p', sdk: 'x' } }), { kind: 'handshake', protocolVersion: 1, pluginName: 'p', sdk: 'x' });
    assert.deepEqual(one({ error: { kind: 'SETTINGS', message: 'no', path: 'a.b' } }), { kind: 'error', errorKind: 'SETTINGS', message: 'no', path: 'a.b' });
    assert.deepEqual(one({ result: { sequence: 3, requests: [{ startTimestampMsUtc: 1_700_000_000_000, endTimestampMsUtc: 1_700_000_001_000, triggerType: 'VOLTAGE_SWELL', percentMagnitude: 5.5, boxIds: [1, 2], requestee: 'r', description: 'd', requestData: true }, {}] } }), {
      kind: 'result',
      sequence: 3,
      requests: [
        { startTimestampMsUtc: 1_700_000_000_000, endTimestampMsUtc: 1_700_000_001_000, triggerType: 'VOLTAGE_SWELL', percentMagnitude: 5.5, boxIds: [1, 2], requestee: 'r', description: 'd', requestData: true },
        { startTimestampMsUtc: 0, endTimestampMsUtc: 0, triggerType: 'TRIGGER_TYPE_UNSPECIFIED', percentMagnitude: 0, boxIds: [], requestee: '', description: '', requestData: false },
      ],
    });
  });

  it('should refuse bytes that are not a plugin message, and a message with nothing set, with a DecodeError', () => {
    assert.throws(() => decodePluginMessage(Uint8Array.of(0x0a, 0x05, 0x01)), (error: unknown) => error instanceof DecodeError && error.reason === 'truncated');
    assert.throws(() => decodePluginMessage(Uint8Array.of(0x0f, 0x01)), (error: unknown) => error instanceof DecodeError && error.messageType === 'PluginMessage');
    assert.throws(() => decodePluginMessage(new Uint8Array(0)), (error: unknown) => error instanceof DecodeError && error.reason === 'missing-field');
  });
});
