"""Config, reconfigure and options flows: every path and every error."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr, entity_registry as er

from custom_components.ev_sessions.const import (
    CONF_BATTERY_CAPACITY_KWH,
    CONF_CHARGING_MODE,
    CONF_CHARGING_STATES,
    CONF_CONNECTED_ENTITY,
    CONF_CONNECTED_STATES,
    CONF_DEPARTURE_TIME,
    CONF_ENERGY_ENTITY,
    CONF_ERROR_STATES,
    CONF_GRACE_PERIOD_MIN,
    CONF_MAX_POWER_KW,
    CONF_PHASES,
    CONF_POWER_ENTITY,
    CONF_POWER_THRESHOLD_W,
    CONF_SOC_ENTITY,
    CONF_SOURCE,
    CONF_TARGET_ENERGY_KWH,
    CONF_TARGET_SOC,
    DOMAIN,
    SECTION_SESSION_DETECTION,
    SOURCE_ENTITIES,
    SOURCE_SIMULATOR,
)

from .conftest import CURRENT, ENERGY, PLUG, POWER, SOC, SWITCH, setup_entry
from .helpers import setups_counted

STATUS = "sensor.charger_status"
PREFERENCES = {
    CONF_TARGET_ENERGY_KWH: 30,
    CONF_DEPARTURE_TIME: "06:30:00",
    CONF_CHARGING_MODE: "cheapest",
    CONF_MAX_POWER_KW: 7.4,
}
DETECTION = {CONF_POWER_THRESHOLD_W: 200, CONF_GRACE_PERIOD_MIN: 5}


async def _start(hass: HomeAssistant, source: str) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [
        SOURCE_ENTITIES,
        SOURCE_SIMULATOR,
        "ocpp",
        "goe",
        "openevse",
        "tesla_wall_connector",
    ]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": source}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == source
    return result


async def test_entities_with_binary_plug(
    hass: HomeAssistant, entities_entry: MockConfigEntry
) -> None:
    result = await _start(hass, SOURCE_ENTITIES)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_POWER_ENTITY: POWER,
            CONF_ENERGY_ENTITY: ENERGY,
            CONF_CONNECTED_ENTITY: PLUG,
            "charging_switch_entity": SWITCH,
            "current_limit_entity": CURRENT,
            CONF_SOC_ENTITY: SOC,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "charger power"
    assert result["data"][CONF_SOURCE] == SOURCE_ENTITIES
    assert result["data"][CONF_CONNECTED_ENTITY] == PLUG
    # The power sensor has no registry entry: no unique id (never an entity id) ...
    assert result["result"].unique_id is None
    await hass.async_block_till_done()
    assert hass.states.get("sensor.charger_power_status") is not None
    # ... and the same sensor cannot be added twice.
    result = await _start(hass, SOURCE_ENTITIES)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: POWER, CONF_CONNECTED_ENTITY: PLUG}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_entities_errors_then_recover(
    hass: HomeAssistant, entities_entry: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.temperature", "21", {"unit_of_measurement": "°C"})
    result = await _start(hass, SOURCE_ENTITIES)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_POWER_ENTITY: "sensor.temperature",
            CONF_ENERGY_ENTITY: POWER,
            CONF_CONNECTED_ENTITY: "binary_sensor.missing",
            CONF_SOC_ENTITY: "sensor.temperature",
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        CONF_POWER_ENTITY: "not_power",
        CONF_ENERGY_ENTITY: "not_energy",
        CONF_CONNECTED_ENTITY: "entity_not_found",
        CONF_SOC_ENTITY: "not_soc",
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: POWER}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_SOURCE: SOURCE_ENTITIES, CONF_POWER_ENTITY: POWER}


async def test_title_is_the_wallbox_device_name(hass: HomeAssistant) -> None:
    config_entry = MockConfigEntry(domain="easee")
    config_entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=config_entry.entry_id, identifiers={("easee", "EH123")}, name="Easee Home"
    )
    registered = er.async_get(hass).async_get_or_create(
        "sensor", "easee", "EH123-power", device_id=device.id, unit_of_measurement="kW"
    )
    result = await _start(hass, SOURCE_ENTITIES)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: registered.entity_id}
    )
    assert result["title"] == "Easee Home"


async def test_entity_known_only_to_the_registry(hass: HomeAssistant) -> None:
    """A wallbox integration not loaded yet: the registry still knows its entity and unit."""
    registry = er.async_get(hass)
    registered = registry.async_get_or_create(
        "sensor", "wallbox_vendor", "power-1", unit_of_measurement="kW"
    )
    result = await _start(hass, SOURCE_ENTITIES)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: registered.entity_id}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == f"entities_{registered.id}"
    assert result["title"] == registered.entity_id


async def test_status_sensor_states(hass: HomeAssistant, entities_entry: MockConfigEntry) -> None:
    hass.states.async_set(
        STATUS, "disconnected", {"options": ["disconnected", "awaiting_start", "charging", "error"]}
    )
    result = await _start(hass, SOURCE_ENTITIES)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: POWER, CONF_CONNECTED_ENTITY: STATUS}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "connection_states"
    assert result["description_placeholders"] == {"entity_id": STATUS}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["errors"] == {CONF_CONNECTED_STATES: "no_connected_states"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_CONNECTED_STATES: ["awaiting_start"],
            CONF_CHARGING_STATES: ["charging"],
            CONF_ERROR_STATES: ["error"],
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_CHARGING_STATES] == ["charging"]


async def test_status_sensor_without_options_offers_its_state(hass: HomeAssistant) -> None:
    hass.states.async_set(POWER, "0", {"unit_of_measurement": "W"})
    hass.states.async_set(STATUS, "Idle")
    result = await _start(hass, SOURCE_ENTITIES)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: POWER, CONF_CONNECTED_ENTITY: STATUS}
    )
    schema = result["data_schema"].schema
    selector = next(value for key, value in schema.items() if key == CONF_CONNECTED_STATES)
    assert [o["value"] if isinstance(o, dict) else o for o in selector.config["options"]] == [
        "Idle"
    ]


async def test_same_wallbox_twice_aborts(
    hass: HomeAssistant, entities_entry: MockConfigEntry
) -> None:
    entities_entry.add_to_hass(hass)
    result = await _start(hass, SOURCE_ENTITIES)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: POWER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_simulator(hass: HomeAssistant) -> None:
    result = await _start(hass, SOURCE_SIMULATOR)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_MAX_POWER_KW: 7.4, CONF_PHASES: "1", CONF_BATTERY_CAPACITY_KWH: 40},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Simulated wallbox"
    assert result["data"] == {
        CONF_SOURCE: SOURCE_SIMULATOR,
        CONF_MAX_POWER_KW: 7.4,
        CONF_PHASES: 1,
        CONF_BATTERY_CAPACITY_KWH: 40.0,
    }
    result = await _start(hass, SOURCE_SIMULATOR)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_MAX_POWER_KW: 11, CONF_PHASES: "3", CONF_BATTERY_CAPACITY_KWH: 60},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_simulator(hass: HomeAssistant, simulator_entry: MockConfigEntry) -> None:
    await setup_entry(hass, simulator_entry)
    result = await simulator_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == SOURCE_SIMULATOR
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_MAX_POWER_KW: 22, CONF_PHASES: "3", CONF_BATTERY_CAPACITY_KWH: 80},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert simulator_entry.data[CONF_MAX_POWER_KW] == 22
    assert simulator_entry.data[CONF_BATTERY_CAPACITY_KWH] == 80


async def test_reconfigure_entities_to_a_new_power_sensor(
    hass: HomeAssistant, entities_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, entities_entry)
    hass.states.async_set("sensor.new_power", "0", {"unit_of_measurement": "kW"})
    hass.states.async_set(STATUS, "idle", {"options": ["idle", "charging"]})
    result = await entities_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == SOURCE_ENTITIES
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: "sensor.new_power", CONF_CONNECTED_ENTITY: STATUS}
    )
    assert result["step_id"] == "connection_states"
    with setups_counted() as set_up:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_CHARGING_STATES: ["charging"]}
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entities_entry.unique_id is None  # sensor.new_power has no registry entry
    assert entities_entry.data[CONF_POWER_ENTITY] == "sensor.new_power"
    assert entities_entry.data[CONF_SOURCE] == SOURCE_ENTITIES
    assert CONF_ENERGY_ENTITY not in entities_entry.data
    # Set up again once (by its own listener, see FlowBase), following the new sensor.
    assert set_up == [entities_entry.entry_id]
    hass.states.async_set("sensor.new_power", "7.4", {"unit_of_measurement": "kW"})
    await hass.async_block_till_done()
    assert hass.states.get("sensor.wallbox_power").state == "7400.0"


async def test_reconfigure_keeps_previous_state_choices(hass: HomeAssistant) -> None:
    hass.states.async_set(POWER, "0", {"unit_of_measurement": "W"})
    hass.states.async_set(STATUS, "Ready")
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=f"entities_{POWER}",
        data={
            CONF_SOURCE: SOURCE_ENTITIES,
            CONF_POWER_ENTITY: POWER,
            CONF_CONNECTED_ENTITY: STATUS,
            CONF_CONNECTED_STATES: ["custom_plugged"],
        },
    )
    await setup_entry(hass, entry)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: POWER, CONF_CONNECTED_ENTITY: STATUS}
    )
    schema = result["data_schema"].schema
    selector = next(value for key, value in schema.items() if key == CONF_CONNECTED_STATES)
    assert "custom_plugged" in [
        o["value"] if isinstance(o, dict) else o for o in selector.config["options"]
    ]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_CONNECTED_STATES: ["custom_plugged"]}
    )
    assert result["reason"] == "reconfigure_successful"


async def test_reconfigure_onto_another_entrys_wallbox_aborts(
    hass: HomeAssistant, entities_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, entities_entry)
    hass.states.async_set("sensor.other_power", "0", {"unit_of_measurement": "W"})
    other = MockConfigEntry(
        domain=DOMAIN,
        unique_id="entities_sensor.other_power",
        data={CONF_SOURCE: SOURCE_ENTITIES, CONF_POWER_ENTITY: "sensor.other_power"},
    )
    other.add_to_hass(hass)
    result = await entities_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: "sensor.other_power"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def _options(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["preferences", "tariff", "power"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    assert result["step_id"] == step
    return result


async def test_options_flow(hass: HomeAssistant, entities_entry: MockConfigEntry) -> None:
    await setup_entry(hass, entities_entry)
    result = await _options(hass, entities_entry, "preferences")
    assert CONF_TARGET_SOC in result["data_schema"].schema
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**PREFERENCES, CONF_TARGET_SOC: 80, SECTION_SESSION_DETECTION: DETECTION},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_BATTERY_CAPACITY_KWH: "capacity_required"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **PREFERENCES,
            CONF_TARGET_SOC: 80,
            CONF_BATTERY_CAPACITY_KWH: 77,
            SECTION_SESSION_DETECTION: DETECTION,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entities_entry.options == {
        **PREFERENCES,
        CONF_TARGET_SOC: 80,
        CONF_BATTERY_CAPACITY_KWH: 77,
        **DETECTION,
    }
    await hass.async_block_till_done()
    # The detection settings reached the tracker (the entry was reloaded).
    assert entities_entry.runtime_data.tracker.config.power_threshold_w == 200

    # Clearing the SoC target removes it; the form shows the stored values.
    result = await _options(hass, entities_entry, "preferences")
    assert SECTION_SESSION_DETECTION in result["data_schema"].schema
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**PREFERENCES, SECTION_SESSION_DETECTION: DETECTION}
    )
    assert CONF_TARGET_SOC not in entities_entry.options
    assert CONF_BATTERY_CAPACITY_KWH not in entities_entry.options


async def test_options_without_soc_entity(hass: HomeAssistant) -> None:
    hass.states.async_set(POWER, "0", {"unit_of_measurement": "W"})
    entry = MockConfigEntry(
        domain=DOMAIN, data={CONF_SOURCE: SOURCE_ENTITIES, CONF_POWER_ENTITY: POWER}
    )
    await setup_entry(hass, entry)
    result = await _options(hass, entry, "preferences")
    assert CONF_TARGET_SOC not in result["data_schema"].schema


@pytest.mark.parametrize("bad", [{CONF_TARGET_ENERGY_KWH: -1}, {CONF_MAX_POWER_KW: 500}])
async def test_options_out_of_range_is_refused(
    hass: HomeAssistant, simulator_entry: MockConfigEntry, bad: dict[str, float]
) -> None:
    await setup_entry(hass, simulator_entry)
    result = await _options(hass, simulator_entry, "preferences")
    values = {
        CONF_TARGET_ENERGY_KWH: 20,
        CONF_DEPARTURE_TIME: "07:00:00",
        CONF_CHARGING_MODE: "immediate",
        CONF_MAX_POWER_KW: 11,
        SECTION_SESSION_DETECTION: {CONF_POWER_THRESHOLD_W: 100, CONF_GRACE_PERIOD_MIN: 10},
    } | bad
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(result["flow_id"], values)


NORDPOOL = "sensor.nordpool_kwh_se3_sek"
TARIFF_BASE: dict[str, Any] = {
    "price_includes_vat": False,
    "markup": 0.05,
    "vat_percent": 25,
    "grid": {"grid_fee": 0.244, "energy_tax": 0.36, "session_fee": 0},
    "time_of_use": {"high_load_skip_holidays": False},
    "power_fee": {
        "power_fee_peaks": 3,
        "power_fee_one_per_day": True,
        "power_fee_night_weight": 1,
    },
}


def _tariff_input(**changes: Any) -> dict[str, Any]:
    """The tariff form's input: the base values with changes put in their sections."""
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in TARIFF_BASE.items()}
    for key, value in changes.items():
        section = next((name for name, keys in _SECTIONS.items() if key in keys), None)
        if section is None:
            data[key] = value
        else:
            data[section][key] = value
    return data


_SECTIONS = {
    "grid": ("grid_fee", "energy_tax", "session_fee"),
    "time_of_use": (
        "grid_fee_high",
        "high_load_months",
        "high_load_weekdays",
        "high_load_start",
        "high_load_end",
        "high_load_skip_holidays",
        "grid_fee_low",
        "low_load_months",
        "low_load_weekdays",
        "low_load_start",
        "low_load_end",
        "high_load_utc_offset",
        "low_load_utc_offset",
    ),
    "power_fee": (
        "power_fee_per_kw",
        "power_fee_peaks",
        "power_fee_one_per_day",
        "power_fee_night_weight",
        "power_fee_months",
        "power_fee_weekdays",
        "power_fee_start",
        "power_fee_end",
        "power_fee_skip_holidays",
        "power_fee_utc_offset",
        "power_fee_season_months",
        "power_fee_season_per_kw",
        "capacity_steps",
        "capacity_yearly_per_kw",
        "capacity_floor_kw",
        "house_power_entity",
    ),
}


async def test_tariff_options_errors_then_saved(
    hass: HomeAssistant, simulator_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, simulator_entry)
    hass.states.async_set("sensor.temperature", "21", {"unit_of_measurement": "°C"})
    hass.states.async_set("sensor.house", "1200", {"unit_of_measurement": "kWh"})
    result = await _options(hass, simulator_entry, "tariff")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        _tariff_input(
            vat_percent=-25,
            markup=-1,
            price_entity="sensor.temperature",
            grid_fee_high=0.612,
            high_load_start="22:00:00",
            high_load_end="06:00:00",
            power_fee_per_kw=-3,
            house_power_entity="sensor.house",
            grid_fee_low=0.03,
            low_load_start="06:00:00",
            low_load_end="05:00:00",
            power_fee_start="19:00:00",
            power_fee_end="07:00:00",
            power_fee_season_per_kw=135,
            capacity_steps="0 = 130\n2 = 190",
            capacity_yearly_per_kw=53,
        ),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        "vat_percent": "invalid_vat",
        "markup": "negative_fee",
        "price_entity": "price_not_energy",
        "high_load_end": "window_end_before_start",
        "low_load_end": "window_end_before_start",
        "power_fee_per_kw": "negative_fee",
        "power_fee_end": "window_end_before_start",
        "power_fee_season_months": "season_months_required",
        "capacity_yearly_per_kw": "one_power_fee",
        "house_power_entity": "not_power",
    }
    assert result["description_placeholders"]["unit"] == "°C"  # shown in the field's error
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        _tariff_input(
            grid_fee_high=0.612,
            house_power_entity="sensor.missing",
            price_entity="sensor.gone",
            capacity_steps="2 = 190\nfive = 280",
        ),
    )
    assert result["errors"] == {
        "capacity_steps": "invalid_capacity_steps",
        "high_load_start": "window_required",
        "house_power_entity": "entity_not_found",
        "price_entity": "entity_not_found",
    }
    hass.states.async_set(
        NORDPOOL,
        "1.2",
        {"unit_of_measurement": "SEK/kWh", "raw_today": [], "raw_tomorrow": []},
    )
    hass.states.async_set("sensor.house", "1200", {"unit_of_measurement": "W"})
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        _tariff_input(
            price_entity=NORDPOOL,
            fixed_price=1.0,
            grid_fee_high=0.612,
            high_load_months=["1", "2", "3", "11", "12"],
            high_load_weekdays=["mon", "tue", "wed", "thu", "fri"],
            high_load_start="06:00:00",
            high_load_end="22:00:00",
            power_fee_per_kw=36,
            house_power_entity="sensor.house",
            grid_fee_low=0.1,
            low_load_months=["6", "7"],
            low_load_start="00:00:00",
            low_load_end="06:00:00",
            low_load_utc_offset=0,
            power_fee_months=["11", "12", "1", "2", "3"],
            power_fee_weekdays=["mon", "tue", "wed", "thu", "fri"],
            power_fee_start="07:00:00",
            power_fee_end="19:00:00",
            power_fee_skip_holidays=True,
            power_fee_season_months=["11", "12", "1", "2", "3"],
            power_fee_season_per_kw=135,
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    options = simulator_entry.options
    assert options["price_entity"] == NORDPOOL
    assert options["grid_fee"] == 0.244
    assert options["high_load_months"] == [1, 2, 3, 11, 12]
    assert options["power_fee_per_kw"] == 36
    await hass.async_block_till_done()
    tariff = simulator_entry.runtime_data.tariff
    assert tariff.grid_fee_high == 0.612
    assert tariff.grid_fee_low == 0.1
    assert tariff.low_load is not None
    assert tariff.low_load.months == frozenset({6, 7})
    assert options["low_load_months"] == [6, 7]
    assert tariff.low_load.utc_offset == timedelta(0)  # a GMT meter clock
    assert tariff.power_fee is not None
    assert tariff.power_fee.window is not None
    assert tariff.power_fee.window.months == frozenset({11, 12, 1, 2, 3})
    assert tariff.power_fee.window.holidays_off is True
    assert tariff.power_fee.price_in(1) == 135
    assert tariff.power_fee.price_in(7) == 36

    # The form shows the stored months as the selector's strings.
    result = await _options(hass, simulator_entry, "tariff")
    shown = result["data_schema"].schema["time_of_use"].schema.schema
    low_months = next(k for k in shown if k == "low_load_months")
    assert low_months.description["suggested_value"] == ["6", "7"]
    fee_fields = result["data_schema"].schema["power_fee"].schema.schema
    season = next(k for k in fee_fields if k == "power_fee_season_months")
    assert season.description["suggested_value"] == ["11", "12", "1", "2", "3"]

    # The form shows what is stored; clearing optional fields removes them.
    result = await _options(hass, simulator_entry, "tariff")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _tariff_input(high_load_end="00:00:00", high_load_start="22:00:00")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "price_entity" not in simulator_entry.options
    assert "grid_fee_high" not in simulator_entry.options
    assert simulator_entry.options["high_load_end"] == "00:00:00"


async def test_tariff_with_an_action_price_entity(
    hass: HomeAssistant, simulator_entry: MockConfigEntry
) -> None:
    """Core Nord Pool sensors have no price list: the form accepts them (prices come by action)."""
    await setup_entry(hass, simulator_entry)
    nordpool_entry = MockConfigEntry(domain="nordpool", data={"areas": ["SE3"], "currency": "SEK"})
    nordpool_entry.add_to_hass(hass)
    registered = er.async_get(hass).async_get_or_create(
        "sensor", "nordpool", "SE3-current_price", config_entry=nordpool_entry
    )
    hass.states.async_set(registered.entity_id, "0.5", {"unit_of_measurement": "SEK/kWh"})
    result = await _options(hass, simulator_entry, "tariff")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _tariff_input(price_entity=registered.entity_id)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_status_sensor_known_only_to_the_registry(hass: HomeAssistant) -> None:
    """Its states cannot be listed yet: the user types them."""
    hass.states.async_set(POWER, "0", {"unit_of_measurement": "W"})
    status = er.async_get(hass).async_get_or_create("sensor", "vendor", "status-1")
    result = await _start(hass, SOURCE_ENTITIES)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: POWER, CONF_CONNECTED_ENTITY: status.entity_id}
    )
    assert result["step_id"] == "connection_states"
    schema = result["data_schema"].schema
    selector = next(value for key, value in schema.items() if key == CONF_CONNECTED_STATES)
    assert selector.config["options"] == []
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_CONNECTED_STATES: ["Plugged"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_power_options(hass: HomeAssistant, simulator_entry: MockConfigEntry) -> None:
    await setup_entry(hass, simulator_entry)
    for phase in (1, 2, 3):
        hass.states.async_set(f"sensor.current_l{phase}", "5", {"unit_of_measurement": "A"})
    hass.states.async_set("sensor.voltage", "230", {"unit_of_measurement": "V"})
    hass.states.async_set("sensor.house_energy", "5", {"unit_of_measurement": "kWh"})
    result = await _options(hass, simulator_entry, "power")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "main_fuse_a": 20,
            "phases": "1",
            "house_current_entities": ["sensor.current_l1", "sensor.current_l2"],
            "house_power_entity": "sensor.house_energy",
            "safety_margin_a": 1,
        },
    )
    assert result["errors"] == {
        "house_current_entities": "too_many_current_sensors",
        "house_power_entity": "not_power",
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "main_fuse_a": 20,
            "phases": "3",
            "house_current_entities": ["sensor.current_l1", "sensor.voltage"],
            "house_power_entity": "sensor.nothing",
            "safety_margin_a": 1,
        },
    )
    assert result["errors"] == {
        "house_current_entities": "not_current",
        "house_power_entity": "entity_not_found",
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "main_fuse_a": 20,
            "phases": "3",
            "house_current_entities": ["sensor.current_l1", "sensor.missing"],
            "safety_margin_a": 1,
        },
    )
    assert result["errors"] == {"house_current_entities": "entity_not_found"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "main_fuse_a": 20,
            "phases": "3",
            "house_current_entities": [f"sensor.current_l{p}" for p in (1, 2, 3)],
            "safety_margin_a": 1.5,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert simulator_entry.options["phases"] == 3
    assert simulator_entry.options["main_fuse_a"] == 20
    await hass.async_block_till_done()
    guard = simulator_entry.runtime_data.guard
    assert guard is not None
    assert guard.config.margin_a == 1.5
    # The form shows the stored phases as the selector's string.
    result = await _options(hass, simulator_entry, "power")
    phases_key = next(k for k in result["data_schema"].schema if k == "phases")
    assert phases_key.description["suggested_value"] == "3"
