"""The reference plugin of the Python SDK: the ``sag-swell`` rule, which the TypeScript reference
and the WebAssembly examples (C, Rust) implement too, so that the contract suite
(``test/plugins/contract.ts``) holds every kind of plugin to the same requests.

- A measurement is *out of band* when ``|rms - nominalVoltage| > nominalVoltage * thresholdPercent / 100``.
- The first out-of-band measurement opens an episode; every box that goes out of band while it is
  open joins it; the episode closes when every box that went out of band has sent an in-band
  measurement again.
- A closed episode lasting at least ``minDurationMs`` is one request, from its first out-of-band
  measurement to the latest measurement of its boxes (box time), boxes ascending, of the worst
  deviation's type (VOLTAGE_SAG below nominal, VOLTAGE_SWELL above; the first of equal ones),
  ``percent_magnitude = |worst rms - nominal| / nominal * 100``, ``requestee`` the instance name,
  raw data requested. An episode still open when the input ends is reported then.
- Settings (numbers): ``nominalVoltage`` 120 (> 0), ``thresholdPercent`` 10 (in (0, 100)),
  ``minDurationMs`` 0 (>= 0); any other setting is refused.

Run by Makai as ``{"path": "sag_swell.py", "nominalVoltage": 230}`` (or with ``"command"``).
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Set

from makai_plugin import EventRequest, Measurement, Plugin, SettingsError, TriggerType, known_settings, run

SETTINGS = ("nominalVoltage", "thresholdPercent", "minDurationMs")


def _number(settings: Mapping[str, Any], key: str, default: float, ok, rule: str) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
        raise SettingsError(f"must be {rule}, got {value!r}", key)
    return float(value)


class _Episode:
    def __init__(self, m: Measurement, volts: float, kind: TriggerType) -> None:
        self.start_ms = self.end_ms = m.time_ms
        self.worst_volts, self.worst_kind = volts, kind
        self.members: Set[int] = {m.box_id}
        self.active: Set[int] = {m.box_id}


class SagSwell(Plugin):
    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        known_settings(settings, SETTINGS)
        self.nominal = _number(settings, "nominalVoltage", 120, lambda n: n > 0, "a positive number of volts")
        percent = _number(settings, "thresholdPercent", 10, lambda n: 0 < n < 100, "a percentage between 0 and 100")
        self.min_duration_ms = _number(settings, "minDurationMs", 0, lambda n: n >= 0, "a number of milliseconds >= 0")
        self.limit = self.nominal * percent / 100
        self.episode: Optional[_Episode] = None

    def on_measurements(self, batch: List[Measurement]) -> List[EventRequest]:
        requests: List[EventRequest] = []
        for m in batch:
            deviation = m.rms - self.nominal
            volts = abs(deviation)
            beyond = volts > self.limit
            kind = TriggerType.VOLTAGE_SAG if deviation < 0 else TriggerType.VOLTAGE_SWELL
            episode = self.episode
            if episode is None:
                if beyond:
                    self.episode = _Episode(m, volts, kind)
                continue
            if m.box_id not in episode.members:
                if not beyond:
                    continue
                episode.members.add(m.box_id)
            episode.end_ms = max(episode.end_ms, m.time_ms)
            if beyond:
                episode.active.add(m.box_id)
                if volts > episode.worst_volts:
                    episode.worst_volts, episode.worst_kind = volts, kind
            elif m.box_id in episode.active:
                episode.active.discard(m.box_id)
                if not episode.active:
                    requests.extend(self._close())
        return requests

    def on_finish(self) -> List[EventRequest]:
        return self._close() if self.episode is not None else []

    def _close(self) -> List[EventRequest]:
        episode, self.episode = self.episode, None
        assert episode is not None
        if episode.end_ms - episode.start_ms < self.min_duration_ms:
            return []
        boxes = sorted(episode.members)
        percent = episode.worst_volts / self.nominal * 100
        kind = "sag" if episode.worst_kind == TriggerType.VOLTAGE_SAG else "swell"
        return [
            EventRequest(
                start_timestamp_ms_utc=episode.start_ms,
                end_timestamp_ms_utc=episode.end_ms,
                trigger_type=episode.worst_kind,
                percent_magnitude=percent,
                box_ids=boxes,
                requestee=self.name,
                description=f"{self.name}: voltage {kind} of {percent:.1f} % on {'box' if len(boxes) == 1 else 'boxes'} {', '.join(str(b) for b in boxes)}",
                request_data=True,
            )
        ]


if __name__ == "__main__":
    run(SagSwell)
