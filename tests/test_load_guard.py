"""The load guard and under-delivery through Home Assistant, with the simulated wallbox."""

from __future__ import annotations

from datetime import UTC, datetime

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from custom_components.ev_sessions.const import (
    CONF_CONNECTED_ENTITY,
    CONF_CURRENT_LIMIT_ENTITY,
    CONF_POWER_ENTITY,
    CONF_SOURCE,
    DOMAIN,
    SOURCE_ENTITIES,
)

from .conftest import CURRENT, PLUG, POWER, make_simulator_entry, setup_entry, wallbox_states
from .helpers import advance, number, state_value

PHASES = [f"sensor.house_current_l{p}" for p in (1, 2, 3)]
SIM = "simulated_wallbox"

pytestmark = pytest.mark.usefixtures("entities_enabled")


def _house(hass: HomeAssistant, l1: float, l2: float, l3: float) -> None:
    for entity_id, value in zip(PHASES, (l1, l2, l3), strict=True):
        hass.states.async_set(entity_id, str(value), {"unit_of_measurement": "A"})


async def _plug_in(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": f"switch.{SIM}_simulated_car_plugged_in"}, blocking=True
    )
    await hass.async_block_till_done()


async def test_guard_lowers_pauses_and_restores_the_charger(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime(2026, 1, 20, 17, 0, tzinfo=UTC))
    _house(hass, 2, 2, 2)
    entry = await setup_entry(
        hass,
        make_simulator_entry(
            main_fuse_a=20, phases=3, house_current_entities=PHASES, safety_margin_a=1
        ),
    )
    wallbox = entry.runtime_data.source.wallbox
    await _plug_in(hass)
    await advance(hass, freezer, 0.5, step_s=10)
    # The car draws 15.9 A (11 kW on 3 phases); the house meter sees it too.
    _house(hass, 17.9, 17.9, 17.9)
    await hass.async_block_till_done()
    assert state_value(hass, f"binary_sensor.{SIM}_house_connection") == "off"
    assert number(hass, f"sensor.{SIM}_current_limit") == pytest.approx(15.94, abs=0.01)

    # A 12 A load comes on L2: 29.9 A is above the fuse; the limit drops at once.
    _house(hass, 17.9, 29.9, 17.9)
    await hass.async_block_till_done()
    assert state_value(hass, f"binary_sensor.{SIM}_house_connection") == "on"
    # Others on L2: 29.9 - 15.94 = 13.96 A -> room 20 - 1 - 13.96 = 5.04 A: below 6 A, pause.
    assert number(hass, f"sensor.{SIM}_current_limit") == 0
    assert wallbox.charging_enabled is False
    await advance(hass, freezer, 0.5, step_s=10)
    assert number(hass, f"sensor.{SIM}_power") == 0
    _house(hass, 2, 14, 2)
    await hass.async_block_till_done()
    assert state_value(hass, f"binary_sensor.{SIM}_house_connection") == "off"
    # The load goes away: charging resumes after a minute, then steps up 2 A a minute.
    _house(hass, 2, 2, 2)
    await advance(hass, freezer, 1.2, step_s=10)
    assert wallbox.charging_enabled is True
    assert wallbox.current_limit_a == 6
    await advance(hass, freezer, 6, step_s=10)
    assert wallbox.current_limit_a == pytest.approx(15, abs=1)


async def test_no_meter_readings_no_guard_decisions(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime(2026, 1, 20, 17, 0, tzinfo=UTC))
    entry = await setup_entry(
        hass, make_simulator_entry(main_fuse_a=20, phases=3, house_current_entities=PHASES)
    )
    await _plug_in(hass)
    await advance(hass, freezer, 1, step_s=10)
    assert state_value(hass, f"sensor.{SIM}_current_limit") == "unknown"
    assert entry.runtime_data.source.wallbox.current_limit_a == 16


async def test_guard_from_household_power_on_an_entities_wallbox(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Without current sensors, the household power is spread over the phases."""
    freezer.move_to(datetime(2026, 1, 20, 17, 0, tzinfo=UTC))
    wallbox_states(hass, plug="on", power="7360", energy="1.0")
    hass.states.async_set(CURRENT, "16", {"unit_of_measurement": "A", "max": 32})
    hass.states.async_set("sensor.house_power", "7360", {"unit_of_measurement": "W"})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Wallbox",
        data={
            CONF_SOURCE: SOURCE_ENTITIES,
            CONF_POWER_ENTITY: POWER,
            CONF_CONNECTED_ENTITY: PLUG,
            CONF_CURRENT_LIMIT_ENTITY: CURRENT,
        },
        options={"main_fuse_a": 16, "phases": 1, "house_power_entity": "sensor.house_power"},
    )
    await setup_entry(hass, entry)
    calls = async_mock_service(hass, "number", "set_value")
    # 1 phase: house 9660 W = 42 A with the car's 32 A: others 10 A, room 16 - 1 - 10 = 5 A.
    hass.states.async_set("sensor.house_power", "9660", {"unit_of_measurement": "W"})
    await hass.async_block_till_done()
    assert number(hass, "sensor.wallbox_current_limit") == 0
    assert [c.data["value"] for c in calls] == [0]
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"fuse_inconsistent_{entry.entry_id}")
    # The load falls: after a minute charging resumes at 6 A through the current limit.
    wallbox_states(hass, plug="on", power="0", energy="1.5")
    hass.states.async_set("sensor.house_power", "460", {"unit_of_measurement": "W"})
    await advance(hass, freezer, 1.5)
    assert number(hass, "sensor.wallbox_current_limit") == 6
    assert calls[-1].data["value"] == 6


async def test_under_delivering_on_one_phase(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime(2026, 1, 20, 17, 0, tzinfo=UTC))
    entry = await setup_entry(hass, make_simulator_entry())
    entry.runtime_data.source.wallbox.car_phases = 1  # a car whose charger takes one phase
    await _plug_in(hass)
    assert number(hass, f"sensor.{SIM}_power") == pytest.approx(3680)
    await advance(hass, freezer, 4, step_s=10)
    assert state_value(hass, f"binary_sensor.{SIM}_charging_power") == "off"
    await advance(hass, freezer, 2, step_s=10)
    state = hass.states.get(f"binary_sensor.{SIM}_charging_power")
    assert state is not None
    assert state.state == "on"
    assert state.attributes["reason"] == "fewer_phases"
    assert state.attributes["expected_power_w"] == 11000
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": f"switch.{SIM}_simulated_car_plugged_in"}, blocking=True
    )
    await hass.async_block_till_done()
    assert state_value(hass, f"binary_sensor.{SIM}_charging_power") == "off"
    last = hass.states.get(f"sensor.{SIM}_last_session_energy")
    assert last is not None
    assert last.attributes["power_class"] == "one_phase"
    assert state_value(hass, f"sensor.{SIM}_usual_charging_type") == "one_phase"


async def test_fuse_missing_repair(hass: HomeAssistant) -> None:
    _house(hass, 1, 1, 1)
    entry = await setup_entry(hass, make_simulator_entry(house_current_entities=PHASES))
    issue_id = f"fuse_missing_{entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    hass.config_entries.async_update_entry(
        entry, options={"house_current_entities": PHASES, "main_fuse_a": 25}
    )
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    # Removing the wallbox takes its repair issues along.
    hass.config_entries.async_update_entry(entry, options={"house_current_entities": PHASES})
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_guard_without_controls_only_advises(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A wallbox without a current-limit number or switch: the guard shows, it cannot act."""
    freezer.move_to(datetime(2026, 1, 20, 17, 0, tzinfo=UTC))
    wallbox_states(hass, plug="on", power="11000", energy="1.0")
    _house(hass, 17, 17, 17)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Wallbox",
        data={CONF_SOURCE: SOURCE_ENTITIES, CONF_POWER_ENTITY: POWER, CONF_CONNECTED_ENTITY: PLUG},
        options={"main_fuse_a": 20, "phases": 3, "house_current_entities": PHASES},
    )
    await setup_entry(hass, entry)
    calls = async_mock_service(hass, "number", "set_value")
    _house(hass, 17, 30, 17)
    await hass.async_block_till_done()
    assert state_value(hass, "binary_sensor.wallbox_house_connection") == "on"
    assert number(hass, "sensor.wallbox_current_limit") == 0
    assert calls == []
    # The house power sensor missing altogether counts as unknown, not zero.
    assert entry.runtime_data.house.hours == {}
