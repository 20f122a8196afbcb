"""Length-delimited framing of the plugin protocol: each message is preceded by its length as a
base-128 varint (protobuf's "delimited" format), on the plugin's stdin and stdout."""

from __future__ import annotations

from typing import BinaryIO, Optional

#: Largest frame accepted from the host (16 MiB): a larger length means the stream is out of step.
MAX_FRAME_BYTES = 16 * 1024 * 1024


class FramingError(Exception):
    """The input is not a sequence of length-delimited frames (bad varint, oversize, cut short)."""


def encode_varint(value: int) -> bytes:
    """The base-128 varint of a non-negative integer."""
    if value < 0:
        raise ValueError("a frame length is never negative")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def write_frame(stream: BinaryIO, payload: bytes) -> None:
    """Writes one frame and flushes, so the host sees it at once."""
    stream.write(encode_varint(len(payload)) + payload)
    stream.flush()


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> Optional[bytes]:
    """Reads one frame's payload; None at a clean end of input (the host closed our stdin).

    Raises FramingError for a varint over 5 bytes, a length over MAX_FRAME_BYTES, or input that
    ends inside a frame.
    """
    length = 0
    for index in range(5):
        byte = stream.read(1)
        if not byte:
            if index == 0:
                return None
            raise FramingError("input ended inside a frame length")
        value = byte[0]
        length |= (value & 0x7F) << (7 * index)
        if not value & 0x80:
            break
    else:
        raise FramingError("frame length is a varint of more than 5 bytes")
    if length > MAX_FRAME_BYTES:
        raise FramingError(f"frame length {length} is over the limit of {MAX_FRAME_BYTES} bytes")
    payload = _read_exactly(stream, length)
    if len(payload) != length:
        raise FramingError(f"input ended inside a frame ({len(payload)} of {length} bytes)")
    return payload
