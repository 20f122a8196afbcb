import io
import json

from conftest import batch, handshake, host_stream, plugin_replies

from makai_plugin import EventRequest, Plugin, SettingsError, TriggerType, serve
from makai_plugin import plugin_pb2 as pb
from makai_plugin.runner import EXIT_EXCEPTION, EXIT_OK, EXIT_PROTOCOL, EXIT_SETTINGS


class Echo(Plugin):
    """One request per measurement under 100 V; raises on rms 13; refuses a setting 'bad'."""

    def __init__(self, settings):
        super().__init__(settings)
        if "bad" in settings:
            raise SettingsError("must not be set", "bad.inner")
        self.seen = 0

    def on_measurements(self, batch):
        out = []
        for m in batch:
            if m.rms == 13:
                raise ValueError("thirteen")
            if m.rms < 100:
                out.append(EventRequest(m.time_ms, m.time_ms + 1, TriggerType.VOLTAGE_SAG, 100 - m.rms, [m.box_id], self.name, f"thd {m.thd}"))
        return out

    def on_finish(self):
        return [EventRequest(0, 0, TriggerType.OTHER, 0.0, [], self.name, "finished", False)]


def measurement(box, time, rms, thd=None):
    m = pb.Measurement(box_id=box, time_ms=time, frequency=60.0, rms=rms)
    if thd is not None:
        m.thd = thd
    return m


def run_plugin(*messages):
    out = io.BytesIO()
    code = serve(Echo, host_stream(*messages), out)
    return code, plugin_replies(out)


def test_handshake_batches_heartbeats_and_finish():
    code, replies = run_plugin(
        handshake(json.dumps({"x": 1}), name="echo"),
        batch(1, measurement(1, 1000, 120.0), measurement(2, 1001, 90.5, 0.02)),
        pb.HostMessage(ping=pb.Ping(id=7)),
        batch(2),
        pb.HostMessage(finish=pb.Finish()),
    )
    assert code == EXIT_OK
    assert [r.WhichOneof("message") for r in replies] == ["handshake", "result", "pong", "result", "finished"]
    assert replies[0].handshake.protocol_version == 1 and replies[0].handshake.plugin_name == "echo"
    assert replies[1].result.sequence == 1
    (request,) = replies[1].result.requests
    assert (request.start_timestamp_ms_utc, request.end_timestamp_ms_utc, request.trigger_type) == (1001, 1002, pb.VOLTAGE_SAG)
    assert list(request.box_ids) == [2] and request.percent_magnitude == 9.5 and request.request_data
    assert request.requestee == "echo" and request.description == "thd 0.02"
    assert replies[2].pong.id == 7
    assert replies[3].result.sequence == 2 and len(replies[3].result.requests) == 0
    assert replies[4].finished.requests[0].description == "finished"


def test_absent_thd_reaches_the_plugin_as_none():
    _, replies = run_plugin(handshake(), batch(1, measurement(1, 5, 50.0)))
    assert replies[1].result.requests[0].description == "thd None"


def test_a_refused_setting_is_a_settings_error_with_its_path():
    code, replies = run_plugin(handshake(json.dumps({"bad": True})), batch(1))
    assert code == EXIT_SETTINGS
    assert [r.WhichOneof("message") for r in replies] == ["error"]
    assert (replies[0].error.kind, replies[0].error.path, replies[0].error.message) == (pb.Error.SETTINGS, "bad.inner", "must not be set")


def test_settings_that_are_not_an_object_are_refused():
    code, replies = run_plugin(handshake("[1, 2]"))
    assert code == EXIT_SETTINGS and replies[0].error.kind == pb.Error.SETTINGS


def test_a_plugin_that_raises_reports_an_exception_and_stops(capsys):
    code, replies = run_plugin(handshake(), batch(1, measurement(1, 5, 13.0)), batch(2, measurement(1, 6, 50.0)))
    assert code == EXIT_EXCEPTION
    assert [r.WhichOneof("message") for r in replies] == ["handshake", "error"]
    assert replies[1].error.kind == pb.Error.EXCEPTION and replies[1].error.message == "ValueError: thirteen"
    assert "Traceback" in capsys.readouterr().err


def test_another_protocol_version_is_refused():
    code, replies = run_plugin(handshake(version=2))
    assert code == EXIT_PROTOCOL and replies[0].error.kind == pb.Error.PROTOCOL and "version" in replies[0].error.message


def test_a_first_message_that_is_not_a_handshake_is_refused():
    code, replies = run_plugin(batch(1))
    assert code == EXIT_PROTOCOL and "handshake" in replies[0].error.message


def test_garbage_from_the_host_is_a_protocol_error():
    out = io.BytesIO()
    stream = host_stream(handshake())
    stream.seek(0, io.SEEK_END)
    stream.write(b"\x03\xff\xff\xff")
    stream.seek(0)
    assert serve(Echo, stream, out) == EXIT_PROTOCOL
    assert plugin_replies(out)[-1].error.kind == pb.Error.PROTOCOL


def test_the_host_closing_stdin_ends_the_plugin_cleanly():
    code, replies = run_plugin(handshake())
    assert code == EXIT_OK and [r.WhichOneof("message") for r in replies] == ["handshake"]


class GoneHost(io.BytesIO):
    def write(self, data):
        raise BrokenPipeError("the host closed our stdout")


def test_a_host_that_has_gone_ends_the_plugin_quietly():
    assert serve(Echo, host_stream(handshake()), GoneHost()) == EXIT_OK
