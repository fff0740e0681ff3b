"""Fixtures shared by the Home Assistant tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast
from unittest.mock import PropertyMock, patch

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowHandler
from homeassistant.helpers.data_entry_flow import _BaseFlowManagerView
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.json import json_bytes

# Imported before the hass fixture runs, so that this repository's custom_components
# package is the one Home Assistant loads (the harness puts its own first otherwise).
import custom_components.ev_sessions  # noqa: F401
from custom_components.ev_sessions.const import (
    CONF_BATTERY_CAPACITY_KWH,
    CONF_CHARGING_SWITCH_ENTITY,
    CONF_CONNECTED_ENTITY,
    CONF_CURRENT_LIMIT_ENTITY,
    CONF_ENERGY_ENTITY,
    CONF_MAX_POWER_KW,
    CONF_PHASES,
    CONF_POWER_ENTITY,
    CONF_SOC_ENTITY,
    CONF_SOURCE,
    DOMAIN,
    SOURCE_ENTITIES,
    SOURCE_SIMULATOR,
)
from custom_components.ev_sessions.coordinator import EvSessionsCoordinator
from custom_components.ev_sessions.entity import SETTLE_VALUE, EvSessionsEntity

POWER = "sensor.charger_power"
ENERGY = "sensor.charger_energy"
PLUG = "binary_sensor.charger_plug"
SWITCH = "switch.charger_charging"
CURRENT = "number.charger_current"
SOC = "sensor.car_battery"


@pytest.fixture
def entities_enabled() -> Any:
    """Every entity enabled, those disabled by default too (habit and plan details)."""
    with patch.object(
        Entity, "entity_registry_enabled_default", new_callable=PropertyMock, return_value=True
    ):
        yield


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom integrations in every test."""


def _without(part: Any, keys: frozenset[str]) -> Any:
    """Attributes without the keys that move on with a running total's value."""
    return {k: v for k, v in part.items() if k not in keys} if isinstance(part, dict) else part


@pytest.fixture(autouse=True)
def stale_entities() -> Any:
    """In every test, after every snapshot: each entity shows what it would show if it were
    looked at afresh; of a running total that waits to be written (see _settling), all but
    its value and the attributes moving with it (or, for a yes/no sensor's plan, all but its
    attributes).

    Entities that follow what they read are not looked at when a snapshot leaves those
    fields alone; this proves, over the whole suite, that they miss no change.
    """
    original = EvSessionsCoordinator.async_update_listeners
    stale: list[str] = []

    def _checked(coordinator: EvSessionsCoordinator) -> None:
        original(coordinator)
        for update, _context in list(coordinator._listeners.values()):
            entity = getattr(update, "__self__", None)
            if (
                not isinstance(entity, EvSessionsEntity)
                or entity.hass is None
                or (shown := entity._shown) is None
            ):
                continue
            showing = entity._showing()
            if not entity._held:
                fresh = showing == shown
            elif entity._settles == SETTLE_VALUE:  # only the value (and what moves with it)
                moving = entity._moving
                fresh = showing[0] == shown[0] and [
                    _without(part, moving) for part in showing[2:]
                ] == [_without(part, moving) for part in shown[2:]]
            else:  # only the attributes may wait
                fresh = showing[:2] == shown[:2]
            if not fresh:
                stale.append(f"{entity.entity_id}: {shown} -> {showing}")

    with patch.object(EvSessionsCoordinator, "async_update_listeners", _checked):
        yield stale
    assert not stale, stale


@pytest.fixture(autouse=True)
def forms_reach_the_frontend() -> Any:
    """In every test: each form a flow shows is serialized as Home Assistant's own view sends
    it to the frontend (``voluptuous_serialize`` up to 2026.9, ``probatio`` after), then as
    JSON: a field that cannot be serialized would leave the user an empty form.
    """
    original = FlowHandler.async_show_form

    def _shown(handler: FlowHandler, **kwargs: Any) -> Any:
        result = original(handler, **kwargs)
        json_bytes(_BaseFlowManagerView._prepare_result_json(cast(Any, None), result))
        return result

    with patch.object(FlowHandler, "async_show_form", _shown):
        yield


@pytest.fixture(autouse=True)
def no_deprecated_use(caplog: pytest.LogCaptureFixture) -> Any:
    """In every test: Home Assistant reports no use of EV Sessions that it deprecates.

    Home Assistant logs such a use ("Detected that custom integration 'ev_sessions' …
    This will stop working in …") and goes on; on the version named it fails. Here it fails
    the test, on each Home Assistant version the suite runs on.
    """
    yield
    reports = [
        record.getMessage()
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)
        if f"custom integration '{DOMAIN}'" in record.getMessage()
        and record.name.startswith("homeassistant.helpers.frame")
    ]
    assert not reports, reports


@pytest.fixture(autouse=True)
async def _settle_before_teardown(hass: HomeAssistant) -> Any:
    """Let a reload a flow scheduled at the end of a test finish before Home Assistant stops
    (an entry still setting up at teardown is not unloaded: its timers linger)."""
    yield
    await hass.async_block_till_done()


def make_simulator_entry(**options: Any) -> MockConfigEntry:
    """A config entry for an 11 kW, 3-phase simulated wallbox with a 60 kWh car."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Simulated wallbox",
        unique_id=SOURCE_SIMULATOR,
        data={
            CONF_SOURCE: SOURCE_SIMULATOR,
            CONF_MAX_POWER_KW: 11.0,
            CONF_PHASES: 3,
            CONF_BATTERY_CAPACITY_KWH: 60.0,
        },
        options=options,
    )


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A configuration folder of the test's own (exports write into it)."""
    hass.config.config_dir = str(tmp_path)
    return tmp_path


@pytest.fixture
def simulator_entry() -> MockConfigEntry:
    """A config entry for the simulated wallbox."""
    return make_simulator_entry()


def wallbox_states(
    hass: HomeAssistant,
    *,
    power: Any = "0",
    power_unit: str = "W",
    energy: Any = "1000.0",
    energy_unit: str = "kWh",
    plug: str = "off",
    soc: Any = "50",
) -> None:
    """Set the states of the pretend wallbox's entities."""
    hass.states.async_set(
        POWER, power, {"unit_of_measurement": power_unit, "device_class": "power"}
    )
    hass.states.async_set(
        ENERGY, energy, {"unit_of_measurement": energy_unit, "device_class": "energy"}
    )
    hass.states.async_set(PLUG, plug, {"device_class": "plug"})
    hass.states.async_set(SOC, soc, {"unit_of_measurement": "%", "device_class": "battery"})


@pytest.fixture
def entities_entry(hass: HomeAssistant) -> MockConfigEntry:
    """A config entry for a wallbox read through its entities (with states set)."""
    wallbox_states(hass)
    hass.states.async_set(SWITCH, "on")
    hass.states.async_set(CURRENT, "16", {"unit_of_measurement": "A"})
    return MockConfigEntry(
        domain=DOMAIN,
        title="Wallbox",
        unique_id=f"{SOURCE_ENTITIES}_{POWER}",
        data={
            CONF_SOURCE: SOURCE_ENTITIES,
            CONF_POWER_ENTITY: POWER,
            CONF_ENERGY_ENTITY: ENERGY,
            CONF_CONNECTED_ENTITY: PLUG,
            CONF_CHARGING_SWITCH_ENTITY: SWITCH,
            CONF_CURRENT_LIMIT_ENTITY: CURRENT,
            CONF_SOC_ENTITY: SOC,
        },
    )


def make_wallbox_entry(**options: Any) -> MockConfigEntry:
    """A wallbox read through its power, energy and plug entities, with options."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Wallbox",
        data={
            CONF_SOURCE: SOURCE_ENTITIES,
            CONF_POWER_ENTITY: POWER,
            CONF_ENERGY_ENTITY: ENERGY,
            CONF_CONNECTED_ENTITY: PLUG,
        },
        options=options,
    )


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add and set up a config entry."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry
