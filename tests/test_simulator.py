"""The simulated wallbox through Home Assistant: plug in, charge, taper, unplug."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant

from custom_components.ev_sessions.const import EVENT_SESSION_ENDED, EVENT_SESSION_STARTED
from custom_components.ev_sessions.model.simulator import SimulatedWallbox

from .conftest import setup_entry
from .helpers import advance, number, number_now, restart, state_value

PLUG = "switch.simulated_wallbox_simulated_car_plugged_in"


def sensor(key: str) -> str:
    return f"sensor.simulated_wallbox_{key}"


async def _plug(hass: HomeAssistant, on: bool) -> None:
    await hass.services.async_call(
        SWITCH_DOMAIN,
        SERVICE_TURN_ON if on else SERVICE_TURN_OFF,
        {ATTR_ENTITY_ID: PLUG},
        blocking=True,
    )
    await hass.async_block_till_done()


async def test_a_simulated_session(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, simulator_entry: MockConfigEntry
) -> None:
    freezer.move_to(datetime(2026, 2, 3, 18, 0, tzinfo=UTC))
    started = async_capture_events(hass, EVENT_SESSION_STARTED)
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    await setup_entry(hass, simulator_entry)
    assert state_value(hass, PLUG) == "off"
    await _plug(hass, True)
    assert state_value(hass, PLUG) == "on"
    assert state_value(hass, sensor("status")) == "charging"
    # 3 phases x 230 V x 16 A = 11,040 W, capped at the wallbox's 11 kW.
    assert number(hass, sensor("power")) == pytest.approx(11000)
    assert len(started) == 1
    await advance(hass, freezer, 60, step_s=10)
    assert number(hass, sensor("session_energy")) == pytest.approx(11.0, abs=0.05)
    assert number(hass, sensor("soc")) > 40
    await _plug(hass, False)
    assert state_value(hass, sensor("status")) == "disconnected"
    assert len(ended) == 1
    assert ended[0].data["energy_kwh"] == pytest.approx(11.0, abs=0.05)
    assert number(hass, sensor("energy_total")) == pytest.approx(11.0, abs=0.05)


async def test_simulator_survives_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await setup_entry(hass, simulator_entry)
    await _plug(hass, True)
    await advance(hass, freezer, 30, step_s=10)
    before = await number_now(hass, sensor("session_energy"))
    await restart(hass, simulator_entry, hass_storage)
    assert state_value(hass, PLUG) == "on"
    assert await number_now(hass, sensor("session_energy")) == pytest.approx(before, abs=0.01)
    await advance(hass, freezer, 30, step_s=10)
    assert await number_now(hass, sensor("session_energy")) == pytest.approx(11.0, abs=0.1)


def test_simulated_car_tapers_above_80_percent_and_stops_full() -> None:
    now = datetime(2026, 2, 3, 18, 0, tzinfo=UTC)
    wallbox = SimulatedWallbox(max_power_kw=11, phases=3, battery_capacity_kwh=60)
    wallbox.plug_in(now)
    wallbox.soc = 79.0
    assert wallbox.reading(now).power_w == pytest.approx(11000)
    wallbox.soc = 90.0
    assert wallbox.reading(now).power_w == pytest.approx(11000 * 0.55)
    reading = wallbox.reading(now + timedelta(hours=5))
    assert wallbox.soc == 100.0
    assert reading.power_w == 0
    assert reading.charging is False


def test_simulated_wallbox_obeys_its_current_limit_and_switch() -> None:
    now = datetime(2026, 2, 3, 18, 0, tzinfo=UTC)
    wallbox = SimulatedWallbox(max_power_kw=22, phases=1, battery_capacity_kwh=60)
    wallbox.plug_in(now)
    wallbox.current_limit_a = 10
    assert wallbox.reading(now).power_w == pytest.approx(2300)
    wallbox.current_limit_a = 5
    assert wallbox.reading(now).power_w == 0
    wallbox.current_limit_a = 16
    wallbox.charging_enabled = False
    assert wallbox.reading(now).power_w == 0
    wallbox.unplug(now)
    assert wallbox.reading(now).connected is False


async def test_state_is_written_during_a_long_session_without_a_shutdown(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Readings every 10 s must not postpone the 30 s save forever (a crash loses nothing)."""
    await setup_entry(hass, simulator_entry)
    await _plug(hass, True)
    await advance(hass, freezer, 3, step_s=10)
    key = f"ev_sessions.{simulator_entry.entry_id}.state"
    assert key in hass_storage
    saved = hass_storage[key]["data"]["tracker"]["active"]
    assert saved is not None
    # At most 30 s (plus one reading) behind the live session.
    assert saved["energy_kwh"] == pytest.approx(
        number(hass, sensor("session_energy")), abs=11 * 40 / 3600
    )
