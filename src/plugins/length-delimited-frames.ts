import { DecodeError } from '../core/errors.js';

/** Largest frame a plugin may send (16 MiB): a length beyond it is garbage, not a message to wait for. */
export const MAX_PLUGIN_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Splits a byte stream (a child's stdout) into length-delimited frames: each frame is preceded by
 * its length as a base-128 varint, protobuf's "delimited" framing (`writeDelimitedTo` in Java and
 * C++, `encodeDelimited` in protobufjs).
 *
 * Chunks arrive cut anywhere; {@link push} keeps the unfinished tail for the next chunk. A
 * length over `maxFrameBytes` or a varint longer than 5 bytes cannot come from a well-behaved
 * peer, so it throws a {@link DecodeError} instead of buffering without bound; after a throw the
 * stream is out of step and the reader must not be used again.
 */
export class LengthDelimitedFrames {
  private buffer: Buffer = Buffer.alloc(0);

  /** @param maxFrameBytes Longest frame accepted. Default {@link MAX_PLUGIN_FRAME_BYTES}. */
  constructor(private readonly maxFrameBytes = MAX_PLUGIN_FRAME_BYTES) {}

  /** Bytes received but not yet part of a complete frame (for a "truncated" report at EOF). */
  get pending(): number {
    return this.buffer.length;
  }

  /**
   * Appends a chunk and returns the frames it completed, in order.
   *
   * @throws DecodeError `frame-too-large` for a length over the limit, `invalid-value` for a
   *   varint of more than 5 bytes.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    const frames: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      const header = readVarint(this.buffer, offset);
      if (header === undefined) break;
      const [length, headerBytes] = header;
      if (length > this.maxFrameBytes) {
        throw new DecodeError('frame-too-large', 'PluginMessage', `frame length ${length} bytes is over the limit of ${this.maxFrameBytes} (garbage on the plugin's stdout?)`);
      }
      const start = offset + headerBytes;
      if (this.buffer.length - start < length) break;
      frames.push(this.buffer.subarray(start, start + length));
      offset = start + length;
    }
    this.buffer = offset === 0 ? this.buffer : this.buffer.subarray(offset);
    return frames;
  }
}

/** `[value, bytes used]`, or undefined when the varint is not complete yet. */
function readVarint(buffer: Buffer, offset: number): [number, number] | undefined {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (offset + i >= buffer.length) return undefined;
    const byte = buffer[offset + i] as number;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return [value, i + 1];
  }
  throw new DecodeError('invalid-value', 'PluginMessage', 'frame length is a varint of more than 5 bytes (garbage on the plugin\'s stdout?)');
}
