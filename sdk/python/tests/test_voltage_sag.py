import json
import subprocess
import sys

import pytest
from conftest import EXAMPLES, batch, handshake, host_stream, plugin_replies

from makai_plugin import Measurement, SettingsError, TriggerType
from makai_plugin import plugin_pb2 as pb
from voltage_sag import VoltageSag

T0 = 1_700_000_000_000


def at(k):
    return T0 + (k * 1000) // 6


def two_box_sag(sag=range(12, 18)):
    """Boxes 1 and 2 interleaved, 30 windows each; box 1 at 96 V and box 2 at 95 V during `sag`."""
    return [Measurement(box, at(k), 60.0, (96.0 if box == 1 else 95.0) if k in sag else 120.0, 0.02) for k in range(30) for box in (1, 2)]


def test_a_sag_on_two_boxes_is_one_request():
    plugin = VoltageSag({"nominalVrms": 120})
    (request,) = plugin.on_measurements(two_box_sag())
    assert request.start_timestamp_ms_utc == at(12) and request.end_timestamp_ms_utc == at(18)
    assert request.trigger_type == TriggerType.VOLTAGE_SAG and list(request.box_ids) == [1, 2]
    assert request.percent_magnitude == (120 - 95) / 120 * 100
    assert (request.requestee, request.description, request.request_data) == ("reference-sag", "voltage sag on boxes 1, 2", True)
    assert plugin.on_finish() == []


def test_the_result_does_not_depend_on_how_the_stream_is_batched():
    whole = VoltageSag({}).on_measurements(two_box_sag())
    plugin = VoltageSag({})
    pieces = [r for m in two_box_sag() for r in plugin.on_measurements([m])]
    assert pieces == whole


def test_a_sag_shorter_than_the_minimum_is_not_requested():
    assert VoltageSag({"minDurationMs": 1001}).on_measurements(two_box_sag()) == []
    assert len(VoltageSag({"minDurationMs": 1000}).on_measurements(two_box_sag())) == 1


def test_a_dip_within_the_threshold_is_not_a_sag():
    # 96 V and 95 V are 20 % down: a 25 % threshold ignores them.
    assert VoltageSag({"thresholdPercent": 25}).on_measurements(two_box_sag()) == []


def test_a_sag_open_at_the_end_closes_at_the_last_measurement():
    plugin = VoltageSag({})
    assert plugin.on_measurements(two_box_sag(sag=range(25, 40))) == []
    (request,) = plugin.on_finish()
    assert (request.start_timestamp_ms_utc, request.end_timestamp_ms_utc) == (at(25), at(29))


@pytest.mark.parametrize(
    "settings, path",
    [({"nominalVolts": 120}, "nominalVolts"), ({"nominalVrms": 0}, "nominalVrms"), ({"thresholdPercent": "10"}, "thresholdPercent"), ({"minDurationMs": -1}, "minDurationMs")],
)
def test_bad_settings_name_the_setting(settings, path):
    with pytest.raises(SettingsError) as error:
        VoltageSag(settings)
    assert error.value.path == path


def test_the_example_runs_as_a_program_over_pipes():
    frames = host_stream(
        handshake(json.dumps({"minDurationMs": 100}), name="sag"),
        batch(1, *[pb.Measurement(box_id=m.box_id, time_ms=m.time_ms, frequency=m.frequency, rms=m.rms, thd=m.thd) for m in two_box_sag()]),
        pb.HostMessage(finish=pb.Finish()),
    ).getvalue()
    done = subprocess.run([sys.executable, str(EXAMPLES / "voltage_sag.py")], input=frames, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    import io

    replies = plugin_replies(io.BytesIO(done.stdout))
    assert [r.WhichOneof("message") for r in replies] == ["handshake", "result", "finished"]
    assert list(replies[1].result.requests[0].box_ids) == [1, 2]
