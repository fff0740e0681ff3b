"""Set-up, preferences as entities, reloads, removal, source control and diagnostics."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_mock_service,
)

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util

from custom_components.ev_sessions import async_migrate_entry
from custom_components.ev_sessions.const import (
    CONF_CHARGING_MODE,
    CONF_DEPARTURE_TIME,
    CONF_MAX_POWER_KW,
    CONF_POWER_THRESHOLD_W,
    CONF_TARGET_ENERGY_KWH,
    DOMAIN,
    EVENT_SESSION_ENDED,
)
from custom_components.ev_sessions.diagnostics import async_get_config_entry_diagnostics
from custom_components.ev_sessions.sources.base import Capability
from custom_components.ev_sessions.time_util import next_departure

from .conftest import CURRENT, SWITCH, setup_entry, wallbox_states
from .helpers import advance, device_of, number, state_value


async def test_preferences_as_entities_apply_without_a_reload(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entities_entry: MockConfigEntry
) -> None:
    freezer.move_to(datetime(2026, 4, 1, 16, 0, tzinfo=UTC))
    await setup_entry(hass, entities_entry)
    assert number(hass, "number.wallbox_target_energy") == 20
    assert number(hass, "number.wallbox_max_power") == 11
    assert state_value(hass, "time.wallbox_departure_time") == "07:00:00"
    assert state_value(hass, "select.wallbox_charging_mode") == "immediate"
    coordinator = entities_entry.runtime_data

    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.wallbox_target_energy", "value": 35},
        blocking=True,
    )
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.wallbox_max_power", "value": 7.4},
        blocking=True,
    )
    await hass.services.async_call(
        "time",
        "set_value",
        {"entity_id": "time.wallbox_departure_time", "time": "06:15:00"},
        blocking=True,
    )
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.wallbox_charging_mode", "option": "cheapest"},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert entities_entry.options == {
        CONF_TARGET_ENERGY_KWH: 35,
        CONF_MAX_POWER_KW: 7.4,
        CONF_DEPARTURE_TIME: "06:15:00",
        CONF_CHARGING_MODE: "cheapest",
    }
    assert entities_entry.runtime_data is coordinator  # not reloaded
    assert number(hass, "number.wallbox_target_energy") == 35
    assert state_value(hass, "time.wallbox_departure_time") == "06:15:00"
    assert state_value(hass, "select.wallbox_charging_mode") == "cheapest"

    # A session records the preferences that applied to it.
    wallbox_states(hass, plug="on", power="7000", energy="1000")
    await hass.async_block_till_done()
    session = coordinator.tracker.active
    assert session is not None
    assert session.target_energy_kwh == 35
    assert session.departure == datetime(2026, 4, 2, 6, 15, tzinfo=dt_util.get_default_time_zone())


async def test_detection_options_apply_in_place(
    hass: HomeAssistant, entities_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, entities_entry)
    coordinator = entities_entry.runtime_data
    hass.config_entries.async_update_entry(entities_entry, options={CONF_POWER_THRESHOLD_W: 300})
    await hass.async_block_till_done()
    assert entities_entry.runtime_data is coordinator  # not reloaded
    assert coordinator.tracker.config.power_threshold_w == 300
    assert coordinator.tracker.register.config.power_threshold_w == 300


def test_next_departure_across_dst() -> None:
    stockholm = dt_util.get_time_zone("Europe/Stockholm")
    assert stockholm is not None
    dt_util.set_default_time_zone(stockholm)
    try:
        # 29 March 2026: clocks go from 02:00 to 03:00; 02:30 does not exist that day.
        after = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
        assert next_departure(after, "07:00:00") == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
        assert next_departure(after, "02:30:00") == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
        assert next_departure(after, None) is None
        # Already past today's departure: tomorrow's.
        assert next_departure(datetime(2026, 3, 30, 12, 0, tzinfo=UTC), "07:00") == datetime(
            2026, 3, 31, 5, 0, tzinfo=UTC
        )
    finally:
        dt_util.set_default_time_zone(dt_util.UTC)


async def test_unload_and_remove_delete_nothing_then_everything(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entities_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    await setup_entry(hass, entities_entry)
    wallbox_states(hass, plug="on", power="7000", energy="1000")
    await hass.async_block_till_done()
    await advance(hass, freezer, 30)
    wallbox_states(hass, plug="off", power="0", energy="1003.5")
    await hass.async_block_till_done()
    assert len(ended) == 1
    assert await hass.config_entries.async_unload(entities_entry.entry_id)
    assert entities_entry.state is ConfigEntryState.NOT_LOADED
    keys = {
        f"{DOMAIN}.{entities_entry.entry_id}.state",
        f"{DOMAIN}.{entities_entry.entry_id}.history",
    }
    assert keys <= set(hass_storage)
    assert len(hass_storage[f"{DOMAIN}.{entities_entry.entry_id}.history"]["data"]["sessions"]) == 1
    assert await hass.config_entries.async_setup(entities_entry.entry_id)
    await hass.async_block_till_done()
    assert number(hass, "sensor.wallbox_last_session_energy") == pytest.approx(3.5)
    assert await hass.config_entries.async_remove(entities_entry.entry_id)
    await hass.async_block_till_done()
    assert not keys & set(hass_storage)


async def test_entities_source_controls_the_wallbox(
    hass: HomeAssistant, entities_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, entities_entry)
    # After set-up: loading our switch and number platforms registers the real services.
    turn_on = async_mock_service(hass, "switch", "turn_on")
    turn_off = async_mock_service(hass, "switch", "turn_off")
    set_value = async_mock_service(hass, "number", "set_value")
    source = entities_entry.runtime_data.source
    assert source.capabilities == {Capability.START_STOP, Capability.CURRENT_LIMIT}
    await source.async_set_charging(True)
    await source.async_set_charging(False)
    await source.async_set_current_limit(10)
    assert [c.data["entity_id"] for c in turn_on] == [SWITCH]
    assert [c.data["entity_id"] for c in turn_off] == [SWITCH]
    assert [(c.data["entity_id"], c.data["value"]) for c in set_value] == [(CURRENT, 10)]


async def test_source_without_controls_ignores_commands(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.p", "0", {"unit_of_measurement": "W"})
    entry = MockConfigEntry(
        domain=DOMAIN, title="Plain", data={"source": "entities", "power_entity": "sensor.p"}
    )
    await setup_entry(hass, entry)
    source = entry.runtime_data.source
    assert source.capabilities == frozenset()
    await source.async_set_charging(True)
    await source.async_set_current_limit(10)
    assert source.as_dict() == {}


async def test_simulator_source_controls(
    hass: HomeAssistant, simulator_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, simulator_entry)
    source = simulator_entry.runtime_data.source
    await source.async_set_current_limit(8)
    await source.async_set_charging(False)
    assert source.as_dict()["current_limit_a"] == 8
    assert source.as_dict()["charging_enabled"] is False


async def test_diagnostics(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entities_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, entities_entry)
    wallbox_states(hass, plug="on", power="7000", energy="1000")
    await hass.async_block_till_done()
    await advance(hass, freezer, 30)
    wallbox_states(hass, plug="off", power="0", energy="1003.5")
    await hass.async_block_till_done()
    diagnostics = await async_get_config_entry_diagnostics(hass, entities_entry)
    assert diagnostics["data"]["power_entity"] == "sensor.charger_power"
    assert diagnostics["history"]["sessions"] == 1
    assert diagnostics["history"]["recent"][0]["energy_kwh"] == pytest.approx(3.5)
    assert diagnostics["source"]["sensor.charger_power"]["state"] == "0"
    assert diagnostics["tracker"]["register"] == 1003.5
    # Who changed a wallbox entity (a user's id in the state's context) is not told.
    hass.states.async_set(
        "sensor.charger_power", "0", {"unit_of_measurement": "W"}, context=Context(user_id="u-1234")
    )
    diagnostics = await async_get_config_entry_diagnostics(hass, entities_entry)
    assert "u-1234" not in json.dumps(diagnostics)
    assert diagnostics["source"]["sensor.charger_power"]["context"] == "**REDACTED**"


async def test_simulator_diagnostics(hass: HomeAssistant, simulator_entry: MockConfigEntry) -> None:
    await setup_entry(hass, simulator_entry)
    diagnostics = await async_get_config_entry_diagnostics(hass, simulator_entry)
    assert diagnostics["source"]["max_power_kw"] == 11.0
    assert diagnostics["source"]["time"] is not None


@pytest.mark.parametrize(
    ("data", "unique_id", "migrated"),
    [
        ({"source": "openevse", "host": "192.168.21.19"}, "openevse_192.168.21.19", None),
        ({"source": "openevse", "host": "192.168.21.19"}, "openevse_A1B2C3", "openevse_A1B2C3"),
        (
            {"source": "entities", "power_entity": "sensor.charger_power"},
            "entities_sensor.charger_power",
            None,
        ),
        (
            {"source": "entities", "power_entity": "sensor.charger_power"},
            "entities_01JABCDEF",
            "entities_01JABCDEF",
        ),
    ],
)
async def test_migration_drops_unique_ids_made_of_addresses_or_entity_ids(
    hass: HomeAssistant, data: dict[str, str], unique_id: str, migrated: str | None
) -> None:
    """Entries of 1.1 with an address or an entity id as unique id lose it (HA's rule)."""
    entry = MockConfigEntry(
        domain=DOMAIN, version=1, minor_version=1, unique_id=unique_id, data=data
    )
    entry.add_to_hass(hass)
    assert await async_migrate_entry(hass, entry)
    assert (entry.unique_id, entry.minor_version) == (migrated, 2)


async def test_a_newer_entry_is_not_downgraded(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, version=2, data={"source": "simulator"})
    entry.add_to_hass(hass)
    assert not await async_migrate_entry(hass, entry)


async def test_an_entities_wallbox_device_is_the_wallbox_s_own(
    hass: HomeAssistant, entities_entry: MockConfigEntry
) -> None:
    """Manufacturer and model come from the device the power sensor belongs to."""
    charger_entry = MockConfigEntry(domain="easee")
    charger_entry.add_to_hass(hass)
    charger = dr.async_get(hass).async_get_or_create(
        config_entry_id=charger_entry.entry_id,
        identifiers={("easee", "EH123456")},
        manufacturer="Easee",
        model="Charge",
        sw_version="328",
        serial_number="EH123456",
    )
    hass.states.async_remove("sensor.charger_power")  # the registry gives a free id only
    power = er.async_get(hass).async_get_or_create(
        "sensor",
        "easee",
        "EH123456_power",
        suggested_object_id="charger_power",
        device_id=charger.id,
    )
    assert power.entity_id == "sensor.charger_power"
    wallbox_states(hass)
    await setup_entry(hass, entities_entry)
    device = device_of(hass, entities_entry)
    assert device is not None
    assert (device.manufacturer, device.model, device.sw_version, device.serial_number) == (
        "Easee",
        "Charge",
        "328",
        "EH123456",
    )


async def test_a_simulator_says_it_is_one(
    hass: HomeAssistant, simulator_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, simulator_entry)
    device = device_of(hass, simulator_entry)
    assert device is not None
    assert (device.manufacturer, device.model) == ("EV Sessions", "Simulated wallbox")
