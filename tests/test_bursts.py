"""A wallbox writes its entities one after the other: one reading per burst, in any order.

Home Assistant 2025.4 ran state-change listeners with ``loop.call_soon``; 2026.x runs them
inside ``hass.states.async_set``. Either way a burst of writes must give one reading that
sees all of them, and a change in a later turn must give a new reading.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import permutations
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from homeassistant.core import HomeAssistant, callback

from custom_components.ev_sessions.bursts import async_track_state_bursts
from custom_components.ev_sessions.const import EVENT_SESSION_ENDED, EVENT_SESSION_STARTED

from .conftest import ENERGY, PLUG, POWER, SOC, setup_entry
from .helpers import advance, number, state_value

WRITES: dict[str, Callable[[HomeAssistant, str], None]] = {
    "power": lambda hass, value: hass.states.async_set(
        POWER, value, {"unit_of_measurement": "W", "device_class": "power"}
    ),
    "energy": lambda hass, value: hass.states.async_set(
        ENERGY, value, {"unit_of_measurement": "kWh", "device_class": "energy"}
    ),
    "plug": lambda hass, value: hass.states.async_set(PLUG, value, {"device_class": "plug"}),
    "soc": lambda hass, value: hass.states.async_set(
        SOC, value, {"unit_of_measurement": "%", "device_class": "battery"}
    ),
}
ORDERS = list(permutations(WRITES))


def burst(hass: HomeAssistant, order: tuple[str, ...], values: dict[str, str]) -> None:
    """Write the wallbox's entities in one event-loop turn, in the given order."""
    for name in order:
        WRITES[name](hass, values[name])


async def test_one_call_per_burst(hass: HomeAssistant) -> None:
    calls: list[tuple[str, str]] = []

    @callback
    def _action() -> None:
        calls.append((state_value(hass, "sensor.a"), state_value(hass, "sensor.b")))

    unsubscribe = async_track_state_bursts(hass, ["sensor.a", "sensor.b"], _action)
    hass.states.async_set("sensor.a", "1")
    hass.states.async_set("sensor.b", "1")
    hass.states.async_set("sensor.a", "2")
    assert calls == []  # not inside async_set, whatever the Home Assistant version
    await hass.async_block_till_done()
    assert calls == [("2", "1")]

    # A change in a later turn is a new call; nothing is lost.
    hass.states.async_set("sensor.b", "2")
    await hass.async_block_till_done()
    assert calls == [("2", "1"), ("2", "2")]

    # Other entities do not count.
    hass.states.async_set("sensor.c", "1")
    await hass.async_block_till_done()
    assert len(calls) == 2

    # Unsubscribed with a burst pending: the pending call is dropped too.
    hass.states.async_set("sensor.a", "3")
    unsubscribe()
    await hass.async_block_till_done()
    assert len(calls) == 2


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(order) for order in ORDERS])
async def test_any_write_order_gives_the_same_session(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entities_entry: MockConfigEntry,
    order: tuple[str, ...],
) -> None:
    freezer.move_to(datetime(2026, 1, 20, 17, 0, tzinfo=UTC))
    started = async_capture_events(hass, EVENT_SESSION_STARTED)
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    await setup_entry(hass, entities_entry)
    coordinator = entities_entry.runtime_data
    assert state_value(hass, "sensor.wallbox_status") == "disconnected"

    with patch.object(coordinator.tracker, "update", wraps=coordinator.tracker.update) as update:
        # Plug in: the car at 40 %, the register at 1000.0, charging at 7 kW.
        burst(hass, order, {"plug": "on", "power": "7000", "energy": "1000.0", "soc": "40"})
        await hass.async_block_till_done()
        assert update.call_count == 1
        reading = update.call_args.args[0]
        assert (reading.connected, reading.power_w, reading.energy_kwh, reading.soc) == (
            True,
            7000.0,
            1000.0,
            40.0,
        )
    assert state_value(hass, "sensor.wallbox_status") == "charging"
    assert number(hass, "sensor.wallbox_soc") == 40
    assert len(started) == 1
    session = coordinator.tracker.active
    assert session is not None
    assert session.soc_start == 40

    await advance(hass, freezer, 60)
    # Unplug one hour later: 7 kWh on the register, the car at 52 %.
    burst(
        hass,
        tuple(reversed(order)),
        {"plug": "off", "power": "0", "energy": "1007.0", "soc": "52"},
    )
    await hass.async_block_till_done()
    assert state_value(hass, "sensor.wallbox_status") == "disconnected"
    assert len(ended) == 1
    assert ended[0].data["energy_kwh"] == pytest.approx(7.0)
    last = hass.states.get("sensor.wallbox_last_session_energy")
    assert last is not None
    assert last.attributes["soc_start"] == 40
    assert last.attributes["soc_end"] == 52
    assert number(hass, "sensor.wallbox_energy_total") == pytest.approx(7.0)
