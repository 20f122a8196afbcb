"""The reference plugin of the Python SDK: a voltage sag relative to nominal, lasting at least a
minimum duration, on one or more boxes, becomes one event request.

The rule (the same in every language's reference plugin, see docs/plugin-protocol.md):

- a measurement is *sagged* when ``rms < nominalVrms * (1 - thresholdPercent / 100)``;
- a sag episode opens at the first sagged measurement of any box and closes at the first
  measurement that leaves no box sagged; the boxes that sagged in between are its boxes;
- a closed episode of at least ``minDurationMs`` (closing time minus opening time, box time)
  is requested: VOLTAGE_SAG from opening to closing time, percent magnitude the deepest
  drop ``(nominal - lowest rms) / nominal * 100``, box ids ascending, requestee
  ``"reference-sag"``, description ``"voltage sag on boxes 1, 2"``, raw data requested;
- an episode still open when the input ends closes at the last measurement's time.

Run by Makai as ``{"path": "voltage_sag.py", "nominalVrms": 120}`` (or with ``"command"``).
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Set

from makai_plugin import EventRequest, Measurement, Plugin, TriggerType, known_settings, number_setting, run

SETTINGS = ("nominalVrms", "thresholdPercent", "minDurationMs")


class VoltageSag(Plugin):
    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        known_settings(settings, SETTINGS)
        self.nominal = number_setting(settings, "nominalVrms", 120.0, minimum=0, maximum=1e6, exclusive_minimum=True)
        threshold = number_setting(settings, "thresholdPercent", 10.0, minimum=0, maximum=100, exclusive_minimum=True)
        self.min_duration_ms = number_setting(settings, "minDurationMs", 0.0, minimum=0, maximum=86_400_000)
        self.below = self.nominal * (1 - threshold / 100)
        self.sagged: Set[int] = set()
        self.episode_boxes: Set[int] = set()
        self.start_ms: Optional[int] = None
        self.lowest = 0.0
        self.last_ms = 0

    def on_measurements(self, batch: List[Measurement]) -> List[EventRequest]:
        requests = []
        for m in batch:
            self.last_ms = m.time_ms
            if m.rms < self.below:
                if self.start_ms is None:
                    self.start_ms, self.lowest = m.time_ms, m.rms
                self.sagged.add(m.box_id)
                self.episode_boxes.add(m.box_id)
                self.lowest = min(self.lowest, m.rms)
            else:
                self.sagged.discard(m.box_id)
                if self.start_ms is not None and not self.sagged:
                    requests.extend(self._close(m.time_ms))
        return requests

    def on_finish(self) -> List[EventRequest]:
        return self._close(self.last_ms) if self.start_ms is not None else []

    def _close(self, end_ms: int) -> List[EventRequest]:
        start_ms, boxes = self.start_ms, sorted(self.episode_boxes)
        self.start_ms, self.episode_boxes, self.sagged = None, set(), set()
        assert start_ms is not None
        if end_ms - start_ms < self.min_duration_ms:
            return []
        return [
            EventRequest(
                start_timestamp_ms_utc=start_ms,
                end_timestamp_ms_utc=end_ms,
                trigger_type=TriggerType.VOLTAGE_SAG,
                percent_magnitude=(self.nominal - self.lowest) / self.nominal * 100,
                box_ids=boxes,
                requestee="reference-sag",
                description="voltage sag on boxes " + ", ".join(str(b) for b in boxes),
                request_data=True,
            )
        ]


if __name__ == "__main__":
    run(VoltageSag)
