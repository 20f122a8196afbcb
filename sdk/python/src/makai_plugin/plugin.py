"""The plugin API: what a plugin sees (Measurement), what it returns (EventRequest), and the
base class it extends (Plugin)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, NamedTuple, Optional, Sequence


class TriggerType(enum.IntEnum):
    """opq.proto.RequestEventMessage.TriggerType: the kind of anomaly an event request reports."""

    FREQUENCY_SAG = 1
    FREQUENCY_SWELL = 2
    VOLTAGE_SAG = 3
    VOLTAGE_SWELL = 4
    OTHER = 5


class Measurement(NamedTuple):
    """One box's feature summary of one window (a TriggerMessage, 6 per second per box).

    A NamedTuple rather than a dataclass: the SDK builds one per measurement, and a tuple is
    several times cheaper to build (it was the SDK's bottleneck).
    """

    box_id: int
    #: Box time of the window's first cycle, ms since the Unix epoch: the plugin's only clock.
    time_ms: int
    #: Hz.
    frequency: float
    #: Volts RMS.
    rms: float
    #: Total harmonic distortion as a ratio (0.03 = 3 %), None when the box did not send it.
    thd: Optional[float] = None


@dataclass(frozen=True)
class EventRequest:
    """A request for an event, as Makai sends it on to the acquisition broker (RequestEventMessage)."""

    start_timestamp_ms_utc: int
    end_timestamp_ms_utc: int
    trigger_type: TriggerType
    #: Worst deviation in percent of nominal.
    percent_magnitude: float
    box_ids: Sequence[int]
    requestee: str
    description: str
    #: False: record the event only, do not ask the boxes for raw data.
    request_data: bool = True


class SettingsError(Exception):
    """Raised by a plugin's constructor for a setting it refuses; Makai reports it as a config
    error at that setting of the entry (``plugins[2].thresholdPercent``) and does not start."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        #: The setting, dotted (``overrides.1001.thresholdPercent``); empty for the whole object.
        self.path = path


class Plugin:
    """Base class of a plugin. Makai creates one instance per plugin process with the entry's
    settings; a restart (after a failure) is a new process, so state in ``self`` starts afresh.

    Override ``on_measurements`` (and ``on_finish`` for an anomaly still open when the input
    ends). Validate ``settings`` in ``__init__`` and raise :class:`SettingsError`. Time is the
    measurements' ``time_ms`` only: never the wall clock, so a replay gives the same requests.
    """

    #: The instance name Makai gave the plugin (set by the runner after construction).
    name: str = ""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = settings

    def on_measurements(self, batch: List[Measurement]) -> Iterable[EventRequest]:
        """Sees every measurement of every box, in arrival order, a batch at a time; returns
        the requests the batch completed (often none)."""
        raise NotImplementedError

    def on_finish(self) -> Iterable[EventRequest]:
        """The input ended (the service is stopping): requests for what is still open."""
        return []


def known_settings(settings: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Raises SettingsError for the first key of ``settings`` not in ``allowed`` (a typo, usually)."""
    allowed = list(allowed)
    for key in settings:
        if key not in allowed:
            raise SettingsError(f'unknown setting "{key}" (settings: {", ".join(allowed)})', key)


def number_setting(settings: Mapping[str, Any], key: str, default: float, *, minimum: float, maximum: float, exclusive_minimum: bool = False) -> float:
    """A numeric setting within ``[minimum, maximum]`` (``(minimum, maximum]`` when exclusive), or its default."""
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"must be a number, got {value!r}", key)
    low_ok = value > minimum if exclusive_minimum else value >= minimum
    if not low_ok or value > maximum:
        bracket = "(" if exclusive_minimum else "["
        raise SettingsError(f"must be in {bracket}{minimum}, {maximum}], got {value}", key)
    return float(value)


__all__ = [
    "EventRequest",
    "Measurement",
    "Plugin",
    "SettingsError",
    "TriggerType",
    "known_settings",
    "number_setting",
]

