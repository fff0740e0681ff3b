"""Learned habits through Home Assistant: sensors, and as departure and target when unset."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from homeassistant.core import HomeAssistant

from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.model.session import Session

from .conftest import make_simulator_entry, make_wallbox_entry, setup_entry, wallbox_states
from .helpers import number, state_value

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SIM = "simulated_wallbox"

pytestmark = pytest.mark.usefixtures("entities_enabled")


def _history() -> list[dict[str, Any]]:
    """Three weeks of evenings: plug in 18:00, 12 kWh, leave 06:30 (Saturdays 09:00)."""
    sessions = []
    for day in range(21):
        start = datetime(2026, 1, 5, 18, 0, tzinfo=STOCKHOLM) + timedelta(days=day)
        leave = (start + timedelta(days=1)).replace(hour=6, minute=30)
        if leave.weekday() == 5:
            leave = leave.replace(hour=9, minute=0)
        session = Session(id=f"h{day}", start=start, end=leave)
        session.energy_kwh = 12.0
        sessions.append(session.as_dict())
    return sessions


@pytest.fixture(autouse=True)
async def _stockholm(hass: HomeAssistant) -> None:
    await hass.config.async_update(time_zone="Europe/Stockholm")


async def test_learned_habits_are_shown_and_used_when_nothing_is_set(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    freezer.move_to(datetime(2026, 1, 28, 17, 0, tzinfo=STOCKHOLM))  # a Wednesday
    entry = make_simulator_entry(charging_mode="cheapest", fixed_price=1.0)
    hass_storage[f"{DOMAIN}.{entry.entry_id}.history"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{entry.entry_id}.history",
        "data": {"sessions": _history()},
    }
    await setup_entry(hass, entry)
    assert state_value(hass, f"sensor.{SIM}_usual_plug_in") == "18:00"
    assert state_value(hass, f"sensor.{SIM}_usual_unplug") == "06:30"
    unplug = hass.states.get(f"sensor.{SIM}_usual_unplug")
    assert unplug is not None
    assert unplug.attributes["sat"] == "09:00"
    assert unplug.attributes["sessions"] == 21
    assert number(hass, f"sensor.{SIM}_typical_session_energy") == 12.0
    # The preferences show what applies, labelled as learned.
    departure = hass.states.get(f"time.{SIM}_departure_time")
    assert departure is not None
    assert (departure.state, departure.attributes["source"]) == ("06:30:00", "learned")
    target = hass.states.get(f"number.{SIM}_target_energy")
    assert target is not None
    assert (float(target.state), target.attributes["source"]) == (12.0, "learned")

    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": f"switch.{SIM}_simulated_car_plugged_in"}, blocking=True
    )
    await hass.async_block_till_done()
    charge_now = hass.states.get(f"binary_sensor.{SIM}_charge_now")
    assert charge_now is not None
    assert charge_now.attributes["departure_source"] == "learned"
    assert charge_now.attributes["departure"] == "2026-01-29T06:30:00+01:00"
    assert charge_now.attributes["target_source"] == "learned"
    assert number(hass, f"sensor.{SIM}_plan_energy") == pytest.approx(12.0)

    # A one-off departure overrides the learned one, once.
    await hass.services.async_call(
        "datetime",
        "set_value",
        {"entity_id": f"datetime.{SIM}_next_departure", "datetime": "2026-01-29 05:00:00"},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert state_value(hass, f"datetime.{SIM}_next_departure") == "2026-01-29T04:00:00+00:00"
    charge_now = hass.states.get(f"binary_sensor.{SIM}_charge_now")
    assert charge_now is not None
    assert charge_now.attributes["departure_source"] == "set"
    assert charge_now.attributes["departure"] == "2026-01-29T05:00:00+01:00"
    # Once it has passed it no longer applies; a car still plugged in after its usual
    # departure is planned for the next usual one (Friday 06:30).
    freezer.move_to(datetime(2026, 1, 29, 12, 0, tzinfo=STOCKHOLM))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    charge_now = hass.states.get(f"binary_sensor.{SIM}_charge_now")
    assert charge_now is not None
    assert charge_now.attributes["departure_source"] == "learned"
    assert charge_now.attributes["departure"] == "2026-01-30T06:30:00+01:00"
    assert state_value(hass, f"datetime.{SIM}_next_departure") == "unknown"  # it has passed
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": f"switch.{SIM}_simulated_car_plugged_in"}, blocking=True
    )
    await hass.async_block_till_done()
    assert state_value(hass, f"datetime.{SIM}_next_departure") == "unknown"


async def test_without_history_the_defaults_apply(
    hass: HomeAssistant, simulator_entry: Any
) -> None:
    await setup_entry(hass, simulator_entry)
    assert state_value(hass, f"sensor.{SIM}_usual_unplug") == "unknown"
    assert state_value(hass, f"sensor.{SIM}_typical_session_energy") == "unknown"
    departure = hass.states.get(f"time.{SIM}_departure_time")
    assert departure is not None
    assert (departure.state, departure.attributes["source"]) == ("07:00:00", "default")
    assert state_value(hass, f"datetime.{SIM}_next_departure") == "unknown"
    await hass.services.async_call(
        "number", "set_value", {"entity_id": f"number.{SIM}_target_soc", "value": 80}, blocking=True
    )
    assert simulator_entry.options["target_soc"] == 80
    assert number(hass, f"number.{SIM}_target_soc") == 80


async def test_a_default_departure_within_the_hour_is_tomorrows(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Plugged in at 06:54 with nothing set or learned: the car leaves tomorrow at 07:00, not
    in six minutes (the session was "at risk" from its first second)."""
    freezer.move_to(datetime(2026, 1, 28, 6, 54, tzinfo=STOCKHOLM))
    wallbox_states(hass)
    entry = make_wallbox_entry()
    await setup_entry(hass, entry)
    wallbox_states(hass, plug="on", power="0", energy="0.0")
    await hass.async_block_till_done()
    charge_now = hass.states.get("binary_sensor.wallbox_charge_now")
    assert charge_now is not None
    assert charge_now.attributes["departure_source"] == "default"
    assert charge_now.attributes["departure"] == "2026-01-29T07:00:00+01:00"
    assert state_value(hass, "binary_sensor.wallbox_departure_target") == "off"
    # Plugged in at 05:30, 07:00 is today's.
    wallbox_states(hass, plug="off", power="0", energy="0.0")
    await hass.async_block_till_done()
    freezer.move_to(datetime(2026, 1, 29, 5, 30, tzinfo=STOCKHOLM))
    wallbox_states(hass, plug="on", power="0", energy="0.0")
    await hass.async_block_till_done()
    charge_now = hass.states.get("binary_sensor.wallbox_charge_now")
    assert charge_now is not None
    assert charge_now.attributes["departure"] == "2026-01-29T07:00:00+01:00"
