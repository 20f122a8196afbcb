import io
import sys
from pathlib import Path
from typing import List

import pytest

from makai_plugin import plugin_pb2 as pb
from makai_plugin.framing import read_frame, write_frame

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

REPO = Path(__file__).resolve().parents[3]


def host_stream(*messages: pb.HostMessage) -> io.BytesIO:
    """The bytes a host would write to the plugin's stdin."""
    stream = io.BytesIO()
    for message in messages:
        write_frame(stream, message.SerializeToString())
    stream.seek(0)
    return stream


def plugin_replies(stream: io.BytesIO) -> List[pb.PluginMessage]:
    """Every PluginMessage the plugin wrote."""
    stream.seek(0)
    replies = []
    while (payload := read_frame(stream)) is not None:
        message = pb.PluginMessage()
        message.ParseFromString(payload)
        replies.append(message)
    return replies


def handshake(settings_json: str = "{}", version: int = 1, name: str = "test") -> pb.HostMessage:
    return pb.HostMessage(handshake=pb.Handshake(protocol_version=version, plugin_name=name, settings_json=settings_json))


def batch(sequence: int, *measurements: pb.Measurement) -> pb.HostMessage:
    return pb.HostMessage(batch=pb.MeasurementBatch(sequence=sequence, measurements=list(measurements)))


@pytest.fixture
def repo() -> Path:
    return REPO
