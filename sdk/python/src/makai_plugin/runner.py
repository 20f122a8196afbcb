"""The plugin's main loop: the handshake, batches, heartbeats and finish of the out-of-process
protocol (docs/plugin-protocol.md), over stdin and stdout."""

from __future__ import annotations

import json
import logging
import signal
import sys
import traceback
from typing import Any, BinaryIO, Callable, Iterable, List, Mapping, Optional

from . import plugin_pb2 as pb
from .framing import FramingError, read_frame, write_frame
from .plugin import EventRequest, Measurement, Plugin, SettingsError

#: The protocol version this SDK speaks (Handshake.protocol_version).
PROTOCOL_VERSION = 1
SDK = "makai-plugin-python 0.1.0"

#: Exit codes: 0 finished or the host closed stdin; 1 the plugin raised; 2 protocol error; 3 settings refused.
EXIT_OK, EXIT_EXCEPTION, EXIT_PROTOCOL, EXIT_SETTINGS = 0, 1, 2, 3

PluginFactory = Callable[[Mapping[str, Any]], Plugin]


def _to_wire(request: EventRequest) -> pb.EventRequest:
    if not isinstance(request, EventRequest):
        raise TypeError(f"a plugin returns EventRequest values, got {type(request).__name__}")
    return pb.EventRequest(
        start_timestamp_ms_utc=request.start_timestamp_ms_utc,
        end_timestamp_ms_utc=request.end_timestamp_ms_utc,
        trigger_type=int(request.trigger_type),
        percent_magnitude=request.percent_magnitude,
        box_ids=list(request.box_ids),
        requestee=request.requestee,
        description=request.description,
        request_data=request.request_data,
    )


def _measurements(batch: pb.MeasurementBatch) -> List[Measurement]:
    make = Measurement
    return [make(m.box_id, m.time_ms, m.frequency, m.rms, m.thd if m.HasField("thd") else None) for m in batch.measurements]


class _Channel:
    def __init__(self, stdin: BinaryIO, stdout: BinaryIO) -> None:
        self.stdin = stdin
        self.stdout = stdout

    def receive(self) -> Optional[pb.HostMessage]:
        payload = read_frame(self.stdin)
        if payload is None:
            return None
        message = pb.HostMessage()
        message.ParseFromString(payload)
        return message

    def send(self, message: pb.PluginMessage) -> None:
        write_frame(self.stdout, message.SerializeToString())

    def error(self, kind: int, text: str, path: str = "") -> None:
        self.send(pb.PluginMessage(error=pb.Error(kind=kind, message=text, path=path)))


def serve(factory: PluginFactory, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Runs one plugin over the given binary streams until the host finishes it or closes stdin.

    Returns the exit code (see EXIT_*). A plugin that raises is reported to the host as an
    EXCEPTION error (the traceback goes to stderr, which Makai logs) and the process should
    exit: Makai starts a fresh one. A host that has gone (stdout closed) ends it quietly.
    """
    try:
        return _serve(factory, _Channel(stdin, stdout))
    except BrokenPipeError:
        return EXIT_OK


def _serve(factory: PluginFactory, channel: "_Channel") -> int:
    try:
        first = channel.receive()
    except (FramingError, Exception) as error:  # a frame that is not a HostMessage
        channel.error(pb.Error.PROTOCOL, f"could not read the handshake: {error}")
        return EXIT_PROTOCOL
    if first is None:
        return EXIT_OK
    if first.WhichOneof("message") != "handshake":
        channel.error(pb.Error.PROTOCOL, f"expected a handshake first, got {first.WhichOneof('message')}")
        return EXIT_PROTOCOL
    handshake = first.handshake
    if handshake.protocol_version != PROTOCOL_VERSION:
        channel.error(pb.Error.PROTOCOL, f"this SDK speaks protocol version {PROTOCOL_VERSION}, the host {handshake.protocol_version}")
        return EXIT_PROTOCOL
    try:
        settings = json.loads(handshake.settings_json or "{}")
        if not isinstance(settings, dict):
            raise SettingsError("the settings must be a JSON object")
        plugin = factory(settings)
    except SettingsError as error:
        channel.error(pb.Error.SETTINGS, error.message, error.path)
        return EXIT_SETTINGS
    except Exception as error:  # noqa: BLE001 - any failure of the plugin's constructor is reported
        traceback.print_exc()
        channel.error(pb.Error.EXCEPTION, f"the plugin failed to start: {type(error).__name__}: {error}")
        return EXIT_EXCEPTION
    plugin.name = handshake.plugin_name
    channel.send(pb.PluginMessage(handshake=pb.HandshakeReply(protocol_version=PROTOCOL_VERSION, plugin_name=plugin.name, sdk=SDK)))

    while True:
        try:
            message = channel.receive()
        except Exception as error:  # noqa: BLE001 - FramingError or a DecodeError of protobuf
            channel.error(pb.Error.PROTOCOL, f"could not read a message from the host: {error}")
            return EXIT_PROTOCOL
        if message is None:
            return EXIT_OK
        kind = message.WhichOneof("message")
        if kind == "ping":
            channel.send(pb.PluginMessage(pong=pb.Pong(id=message.ping.id)))
        elif kind == "batch":
            requests = _call(channel, plugin.on_measurements, _measurements(message.batch))
            if requests is None:
                return EXIT_EXCEPTION
            channel.send(pb.PluginMessage(result=pb.BatchResult(sequence=message.batch.sequence, requests=requests)))
        elif kind == "finish":
            requests = _call(channel, plugin.on_finish)
            if requests is None:
                return EXIT_EXCEPTION
            channel.send(pb.PluginMessage(finished=pb.Finished(requests=requests)))
            return EXIT_OK
        else:
            channel.error(pb.Error.PROTOCOL, f"unexpected host message {kind!r}")
            return EXIT_PROTOCOL


def _call(channel: _Channel, method: Callable[..., Optional[Iterable[EventRequest]]], *args: Any) -> Optional[List[pb.EventRequest]]:
    """The plugin's requests on the wire, or None after reporting that it raised."""
    try:
        return [_to_wire(request) for request in (method(*args) or [])]
    except Exception as error:  # noqa: BLE001 - the plugin's bug is reported, the host restarts it
        traceback.print_exc()
        channel.error(pb.Error.EXCEPTION, f"{type(error).__name__}: {error}")
        return None


def run(factory: PluginFactory) -> None:
    """The main function of a plugin program: ``if __name__ == "__main__": run(MyPlugin)``.

    Speaks the protocol on the process's real stdin and stdout. ``print`` and ``sys.stdout``
    are redirected to stderr, which Makai logs line by line, so stray output cannot corrupt the
    protocol; ``logging`` is set up on stderr too (``WARNING:name:message``, whose level Makai
    keeps). SIGINT is ignored: Makai ends the plugin itself. Exits with the code of :func:`serve`.
    """
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    # Ctrl-C on `makai run` reaches the whole process group; Makai ends its plugins itself
    # (finish, then end of input, or SIGKILL), so a plugin must not die first on SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    sys.exit(serve(factory, stdin, stdout))
