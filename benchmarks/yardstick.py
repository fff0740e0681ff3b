"""The machine's speed, measured in the benchmark's own Home Assistant: the Riemann helper.

The issue gave absolute targets (MeterValues per CPU-second) measured on its own machine,
where Home Assistant's ``integration`` (Riemann) helper took 15-23 µs per power reading.
This machine's speed drifts by a third or more from hour to hour. A benchmark that measures
the same helper in the same process can say what its figures would be on the issue's
machine: a figure per CPU-second scales by (the helper here) / (the helper there).
"""

from __future__ import annotations

import statistics
import time

from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

# The Riemann helper per reading on the issue's machine (µs): fastest and slowest; on the
# Home Assistant it measured with.
ISSUE_HELPER_US = (15.0, 23.0)
ISSUE_HA_VERSION = "2025.4.4"
BARE = "sensor.yardstick_bare"
SOURCE = "sensor.yardstick_source"
POWER_ATTRIBUTES = {"unit_of_measurement": "W", "device_class": "power"}


async def set_up_helper(hass: HomeAssistant, bare: str, source: str, name: str) -> None:
    """A bare sensor, the helper's source and the helper (``sensor.<name>``), set up.

    Call it before anything sets the sensor platform up: the helper is set up from
    configuration, which is read when the platform is.
    """
    for entity_id in (bare, source):
        hass.states.async_set(entity_id, "0", POWER_ATTRIBUTES)
    assert await async_setup_component(
        hass,
        "sensor",
        {
            "sensor": [
                {
                    "platform": "integration",
                    "source": source,
                    "name": name,
                    "method": "left",
                    "round": 3,
                }
            ]
        },
    )


async def riemann_helper_us(hass: HomeAssistant, readings: int = 1000, rounds: int = 5) -> float:
    """CPU µs the Riemann helper takes per power reading here (the median of the rounds).

    Two sensors get the same readings, one in turn with the other: one nobody listens to
    (what ``async_set`` itself costs) and the helper's source; the helper's figure is the
    CPU above the bare sensor's. Call it before anything sets the sensor platform up (see
    set_up_helper).
    """
    await set_up_helper(hass, BARE, SOURCE, "yardstick")
    await hass.async_block_till_done()
    figures = []
    for n in range(rounds + 1):  # the first round warms up
        cpu = dict.fromkeys((BARE, SOURCE), 0.0)
        for reading in range(readings):
            power = "11000" if reading % 2 else "11050"
            for entity_id in cpu:
                begin = time.process_time()
                hass.states.async_set(entity_id, power, POWER_ATTRIBUTES)
                await hass.async_block_till_done()
                cpu[entity_id] += time.process_time() - begin
        if n:
            figures.append((cpu[SOURCE] - cpu[BARE]) / readings * 1e6)
    assert hass.states.get("sensor.yardstick") is not None
    return statistics.median(figures)


def issues_helper() -> str:
    """The helper's time on the issue's machine, as printed."""
    return f"{ISSUE_HELPER_US[0]:.0f}-{ISSUE_HELPER_US[1]:.0f} µs"


def on_the_issues_machine(per_cpu_second: float, helper_us: float) -> str:
    """A figure per CPU-second as it would be on the issue's machine (its range)."""
    fast, slow = ISSUE_HELPER_US
    return f"{per_cpu_second * helper_us / slow:,.0f}-{per_cpu_second * helper_us / fast:,.0f}"


def caveat() -> str:
    """What to keep in mind: on another Home Assistant than the issue's, the helper differs."""
    if HA_VERSION == ISSUE_HA_VERSION:
        return ""
    return (
        f" (a guide only: this is Home Assistant {HA_VERSION}, whose helper is not the"
        f" {ISSUE_HA_VERSION} one the issue timed)"
    )
