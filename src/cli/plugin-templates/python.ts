/**
 * `--lang python`: a Python plugin written with the SDK (`sdk/python`, package `makai_plugin`),
 * run by Makai as a separate process over the out-of-process protocol (docs/plugin-protocol.md),
 * with its own pytest.
 *
 * Shaped as the `PluginTemplate` of `./template.ts` (summary, entryFile, nextSteps, files), so
 * it is one more entry in the lang → template table. It implements the rule every template
 * implements (a sustained voltage sag per box, reported once when the box recovers).
 */

/** The Python module name for a plugin name: `my-sag` → `my_sag` (a file pytest can import). */
export function pythonModuleName(name: string): string {
  const snake = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(snake) ? `plugin_${snake}` : snake;
}

/** A class name for a plugin name: `my-sag` → `MySag`. */
function className(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const joined = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return /^[A-Za-z]/.test(joined) ? joined : `Plugin${joined}`;
}

export const pythonTemplate = {
  summary: 'a Python plugin (makai_plugin SDK), run out of process over stdin/stdout, with a pytest',
  entryFile: (name: string) => `${pythonModuleName(name)}.py`,
  nextSteps: (name: string): readonly string[] => [
    'python3 -m venv .venv && .venv/bin/pip install -e <path to makai>/sdk/python pytest',
    `.venv/bin/python -m pytest test_${pythonModuleName(name)}.py`,
    `# in makai.json: { "command": [".venv/bin/python", "${pythonModuleName(name)}.py"], "name": "${name}" }`,
  ],
  files: (name: string): readonly { readonly path: string; readonly content: string; readonly executable?: boolean }[] => {
    const module = pythonModuleName(name);
    const cls = className(name);
    return [
      {
        path: `${module}.py`,
        content: `"""${name}: a Makai plugin in Python.

A box whose RMS voltage stays below nominalVoltage * (1 - sagPercent / 100) (defaults 120 V and
10 %) for at least minMessages consecutive measurements (default 3; 6 arrive per second) is
reported once, when it recovers, with the whole sag as the interval.

Makai runs it as its own process: { "command": ["python3", "${module}.py"], "name": "${name}" }.
"""

from makai_plugin import EventRequest, Plugin, SettingsError, TriggerType, known_settings, run


class ${cls}(Plugin):
    def __init__(self, settings):
        super().__init__(settings)
        # Checked once at start-up (and by \`makai validate\`): a SettingsError names the setting.
        known_settings(settings, ("nominalVoltage", "sagPercent", "minMessages"))
        self.nominal = self._number(settings, "nominalVoltage", 120, lambda n: n > 0, "a positive number of volts")
        percent = self._number(settings, "sagPercent", 10, lambda n: 0 < n < 100, "a percentage between 0 and 100")
        self.min_messages = self._number(settings, "minMessages", 3, lambda n: n == int(n) and n >= 1, "a whole number >= 1")
        self.limit = self.nominal * (1 - percent / 100)
        # State lives in the instance: a restart after a failure is a new process, so it starts clean.
        self.sags = {}  # box id -> [start ms, count, lowest volts]

    @staticmethod
    def _number(settings, key, default, ok, rule):
        value = settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
            raise SettingsError(f"must be {rule}, got {value!r}", key)
        return value

    def on_measurements(self, batch):
        requests = []
        for m in batch:
            sag = self.sags.get(m.box_id)
            if m.rms < self.limit:
                if sag:
                    sag[1] += 1
                    sag[2] = min(sag[2], m.rms)
                else:
                    self.sags[m.box_id] = [m.time_ms, 1, m.rms]
                continue
            if not sag:
                continue
            del self.sags[m.box_id]
            start_ms, count, lowest = sag
            if count < self.min_messages:
                continue
            requests.append(
                EventRequest(
                    start_timestamp_ms_utc=start_ms,
                    end_timestamp_ms_utc=m.time_ms,
                    trigger_type=TriggerType.VOLTAGE_SAG,
                    percent_magnitude=(self.nominal - lowest) / self.nominal * 100,
                    box_ids=[m.box_id],
                    requestee=self.name,
                    description=f"voltage below {self.limit} V for {count} measurements",
                    request_data=True,
                )
            )
        return requests


if __name__ == "__main__":
    run(${cls})
`,
      },
      {
        path: `test_${module}.py`,
        content: `"""The test of ${name}: run with \`python -m pytest test_${module}.py\`."""

import pytest

from makai_plugin import Measurement, SettingsError, TriggerType
from ${module} import ${cls}


def box(rms, box_id=1001):
    """One box's measurements, 1/6 s apart from box time 1000 ms, with these RMS voltages."""
    return [Measurement(box_id, 1000 + k * 167, 60.0, v) for k, v in enumerate(rms)]


def plugin(**settings):
    p = ${cls}(settings)
    p.name = "${name}"
    return p


def test_reports_a_sag_of_three_measurements_once_when_the_box_recovers():
    (request,) = plugin().on_measurements(box([120, 100, 96, 104, 120]))
    assert (request.start_timestamp_ms_utc, request.end_timestamp_ms_utc, request.trigger_type) == (1167, 1668, TriggerType.VOLTAGE_SAG)
    assert list(request.box_ids) == [1001] and request.percent_magnitude == (120 - 96) / 120 * 100 and request.requestee == "${name}"


def test_ignores_a_dip_shorter_than_min_messages_and_keeps_boxes_apart():
    requests = plugin(minMessages=4).on_measurements(box([120, 100, 96, 120], 1) + box([100, 100, 100, 100, 120], 2))
    assert [list(r.box_ids) for r in requests] == [[2]]


def test_refuses_an_out_of_range_setting_naming_it():
    with pytest.raises(SettingsError) as error:
        ${cls}({"sagPercent": 150})
    assert error.value.path == "sagPercent"
`,
      },
    ];
  },
};
