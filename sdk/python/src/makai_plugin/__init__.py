"""makai-plugin: write Makai triggering plugins in Python.

A plugin is a class with ``on_measurements(batch) -> list[EventRequest]``, run as its own
program by Makai (``"command": ["python3", "my_plugin.py"]`` or ``"path": "my_plugin.py"`` in
the config) over the out-of-process protocol of ``proto/plugin.proto``::

    from makai_plugin import EventRequest, Plugin, TriggerType, run

    class Quiet(Plugin):
        def on_measurements(self, batch):
            return []

    if __name__ == "__main__":
        run(Quiet)
"""

from .plugin import EventRequest, Measurement, Plugin, SettingsError, TriggerType, known_settings, number_setting
from .runner import PROTOCOL_VERSION, run, serve

__all__ = [
    "EventRequest",
    "Measurement",
    "PROTOCOL_VERSION",
    "Plugin",
    "SettingsError",
    "TriggerType",
    "known_settings",
    "number_setting",
    "run",
    "serve",
]
