import io

import pytest

from makai_plugin.framing import MAX_FRAME_BYTES, FramingError, encode_varint, read_frame, write_frame


@pytest.mark.parametrize("value, encoded", [(0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02")])
def test_varints_are_protobufs(value, encoded):
    assert encode_varint(value) == encoded


def test_frames_round_trip_in_order():
    stream = io.BytesIO()
    for payload in (b"", b"a", b"x" * 200):
        write_frame(stream, payload)
    stream.seek(0)
    assert [read_frame(stream), read_frame(stream), read_frame(stream), read_frame(stream)] == [b"", b"a", b"x" * 200, None]


def test_input_cut_inside_a_frame_is_an_error_not_an_end():
    with pytest.raises(FramingError, match="inside a frame"):
        read_frame(io.BytesIO(b"\x05abc"))
    with pytest.raises(FramingError, match="frame length"):
        read_frame(io.BytesIO(b"\x80"))


def test_garbage_lengths_are_refused():
    with pytest.raises(FramingError, match="more than 5 bytes"):
        read_frame(io.BytesIO(b"\xff" * 6))
    with pytest.raises(FramingError, match="over the limit"):
        read_frame(io.BytesIO(encode_varint(MAX_FRAME_BYTES + 1)))
