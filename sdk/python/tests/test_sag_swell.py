import io
import json
import subprocess
import sys

import pytest
from conftest import EXAMPLES, batch, handshake, host_stream, plugin_replies

from makai_plugin import Measurement, SettingsError, TriggerType
from makai_plugin import plugin_pb2 as pb
from sag_swell import SagSwell

T0 = 1_000_000
STEP = 167


def at(k):
    return T0 + k * STEP


def m(box, time, rms):
    return Measurement(box, time, 60.0, rms, 0.02)


def two_box_sag(sag=range(12, 18)):
    """Boxes 1 and 2 in turn, 30 rounds; box 1 at 96 V and box 2 at 95 V during `sag`."""
    return [m(box, at(k), (96.0 if box == 1 else 95.0) if k in sag else 120.0) for k in range(30) for box in (1, 2)]


def plugin(**settings):
    p = SagSwell(settings)
    p.name = "ref"
    return p


def fixed(request):
    return (request.start_timestamp_ms_utc, request.end_timestamp_ms_utc, request.trigger_type, request.percent_magnitude, list(request.box_ids))


def test_a_sag_on_two_boxes_is_one_request_once_both_recovered():
    p = plugin()
    (request,) = p.on_measurements(two_box_sag())
    assert fixed(request) == (at(12), at(18), TriggerType.VOLTAGE_SAG, abs(95 - 120) / 120 * 100, [1, 2])
    assert (request.requestee, request.description, request.request_data) == ("ref", "ref: voltage sag of 20.8 % on boxes 1, 2", True)
    assert p.on_finish() == []


def test_the_result_does_not_depend_on_how_the_stream_is_batched():
    whole = plugin().on_measurements(two_box_sag())
    p = plugin()
    assert [r for x in two_box_sag() for r in p.on_measurements([x])] == whole


def test_the_band_limit_is_exclusive():
    assert plugin().on_measurements([m(box, at(k), 108.0 if k % 2 == 0 else 132.0) for k in range(20) for box in (1, 2, 3)]) == []


def test_the_worst_deviation_decides_the_type_the_first_of_equal_ones():
    (request,) = plugin().on_measurements([m(7, 1000, 100), m(7, 1167, 145), m(7, 1333, 95), m(7, 1500, 120)])
    assert fixed(request) == (1000, 1500, TriggerType.VOLTAGE_SWELL, 25 / 120 * 100, [7])


def test_the_episode_stays_open_while_any_box_is_out_of_band():
    requests = plugin().on_measurements(
        [m(30, 0, 100), m(10, 50, 120), m(20, 100, 100), m(30, 167, 120), m(10, 217, 99), m(20, 267, 100), m(10, 384, 120), m(20, 434, 120), m(30, 500, 100)]
    )
    assert [fixed(r) for r in requests] == [(0, 434, TriggerType.VOLTAGE_SAG, 21 / 120 * 100, [10, 20, 30])]


def test_a_short_episode_is_ignored():
    requests = plugin(minDurationMs=300).on_measurements([m(1, 0, 100), m(1, 167, 120), m(1, 333, 100), m(1, 500, 100), m(1, 667, 120)])
    assert [fixed(r)[:2] for r in requests] == [(333, 667)]


def test_an_episode_open_at_the_end_reaches_the_last_measurement_of_its_boxes():
    p = plugin()
    assert p.on_measurements([m(1, 0, 120), m(1, 167, 80), m(2, 200, 120), m(1, 333, 80)]) == []
    assert [fixed(r)[:2] for r in p.on_finish()] == [(167, 333)]


@pytest.mark.parametrize(
    "settings, path",
    [({"thresholdPercent": 150}, "thresholdPercent"), ({"nominalVoltage": -1}, "nominalVoltage"), ({"minDurationMs": -5}, "minDurationMs"), ({"thresholdPercnt": 10}, "thresholdPercnt"), ({"nominalVoltage": "120"}, "nominalVoltage")],
)
def test_bad_settings_name_the_setting(settings, path):
    with pytest.raises(SettingsError) as error:
        SagSwell(settings)
    assert error.value.path == path


def test_the_example_runs_as_a_program_over_pipes():
    frames = host_stream(
        handshake(json.dumps({"minDurationMs": 100}), name="sag"),
        batch(1, *[pb.Measurement(box_id=x.box_id, time_ms=x.time_ms, frequency=x.frequency, rms=x.rms, thd=x.thd) for x in two_box_sag()]),
        pb.HostMessage(finish=pb.Finish()),
    ).getvalue()
    done = subprocess.run([sys.executable, str(EXAMPLES / "sag_swell.py")], input=frames, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    replies = plugin_replies(io.BytesIO(done.stdout))
    assert [r.WhichOneof("message") for r in replies] == ["handshake", "result", "finished"]
    (request,) = replies[1].result.requests
    assert list(request.box_ids) == [1, 2] and request.requestee == "sag"
