"""Steps for a wallbox already in Home Assistant (the `entities` source)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol

from homeassistant.config_entries import (
    ConfigFlowResult,
)
from homeassistant.const import (
    PERCENTAGE,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from ..const import (
    CONF_CHARGING_STATES,
    CONF_CHARGING_SWITCH_ENTITY,
    CONF_CONNECTED_ENTITY,
    CONF_CONNECTED_STATES,
    CONF_CURRENT_LIMIT_ENTITY,
    CONF_ENERGY_ENTITY,
    CONF_ERROR_STATES,
    CONF_POWER_ENTITY,
    CONF_SOC_ENTITY,
    CONF_SOURCE,
    SOURCE_ENTITIES,
)
from ..model.units import ENERGY_UNITS, POWER_UNITS
from .base import FlowBase
from .schema import entity_selector, entity_unit

ENTITIES_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_POWER_ENTITY): entity_selector("sensor"),
        vol.Optional(CONF_ENERGY_ENTITY): entity_selector("sensor"),
        vol.Optional(CONF_CONNECTED_ENTITY): entity_selector("binary_sensor", "sensor"),
        vol.Optional(CONF_CHARGING_SWITCH_ENTITY): entity_selector("switch", "input_boolean"),
        vol.Optional(CONF_CURRENT_LIMIT_ENTITY): entity_selector("number", "input_number"),
        vol.Optional(CONF_SOC_ENTITY): entity_selector("sensor"),
    }
)


def _validate_entities(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    """Errors per field: missing entities and incompatible units."""
    expected_units: dict[str, tuple[frozenset[str] | None, str]] = {
        CONF_POWER_ENTITY: (POWER_UNITS, "not_power"),
        CONF_ENERGY_ENTITY: (ENERGY_UNITS, "not_energy"),
        CONF_CONNECTED_ENTITY: (None, ""),
        CONF_CHARGING_SWITCH_ENTITY: (None, ""),
        CONF_CURRENT_LIMIT_ENTITY: (None, ""),
        CONF_SOC_ENTITY: (frozenset({PERCENTAGE}), "not_soc"),
    }
    errors: dict[str, str] = {}
    for field, (units, error) in expected_units.items():
        if not (entity_id := data.get(field)):
            continue
        exists, unit = entity_unit(hass, entity_id)
        if not exists:
            errors[field] = "entity_not_found"
        elif units is not None and unit not in units:
            errors[field] = error
    return errors


def _entities_unique_id(hass: HomeAssistant, power_entity: str) -> str | None:
    """The power sensor's registry id (stable across renames); None when it has none."""
    entry = er.async_get(hass).async_get(power_entity)
    return None if entry is None else f"{SOURCE_ENTITIES}_{entry.id}"


def _entities_title(hass: HomeAssistant, power_entity: str) -> str:
    """The wallbox's device name, else the power sensor's name."""
    entry = er.async_get(hass).async_get(power_entity)
    device = dr.async_get(hass).async_get(entry.device_id) if entry and entry.device_id else None
    if device is not None:
        return device.name_by_user or device.name or power_entity
    state = hass.states.get(power_entity)
    return state.name if state is not None else power_entity


class EntitiesSteps(FlowBase):
    """A wallbox read through its entities: which entities, which status means what."""

    async def async_step_entities(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The entities of a wallbox already in Home Assistant."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate_entities(self.hass, user_input)
            if not errors:
                power = user_input[CONF_POWER_ENTITY]
                await self._claim(_entities_unique_id(self.hass, power), {CONF_POWER_ENTITY: power})
                self._data = {CONF_SOURCE: SOURCE_ENTITIES, **user_input}
                self._title = _entities_title(self.hass, power)
                connected = user_input.get(CONF_CONNECTED_ENTITY)
                if connected is not None and not connected.startswith("binary_sensor."):
                    return await self.async_step_connection_states()
                return self._finish()
        return self.async_show_form(
            step_id="entities",
            data_schema=self.add_suggested_values_to_schema(
                ENTITIES_SCHEMA, user_input or self._current()
            ),
            errors=errors,
        )

    async def async_step_connection_states(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Which states of the status sensor mean connected, charging or error."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input.get(CONF_CONNECTED_STATES) or user_input.get(CONF_CHARGING_STATES):
                self._data.update(user_input)
                return self._finish()
            errors[CONF_CONNECTED_STATES] = "no_connected_states"
        entity_id = self._data[CONF_CONNECTED_ENTITY]
        known: list[str] = []
        if (state := self.hass.states.get(entity_id)) is not None:
            known = [str(option) for option in state.attributes.get("options") or []]
            if state.state not in known:
                known.append(state.state)
        for key in (CONF_CONNECTED_STATES, CONF_CHARGING_STATES, CONF_ERROR_STATES):
            known.extend(value for value in self._current().get(key, ()) if value not in known)
        choice = SelectSelector(
            SelectSelectorConfig(
                options=known, multiple=True, custom_value=True, mode=SelectSelectorMode.DROPDOWN
            )
        )
        schema = vol.Schema(
            {
                vol.Optional(CONF_CONNECTED_STATES): choice,
                vol.Optional(CONF_CHARGING_STATES): choice,
                vol.Optional(CONF_ERROR_STATES): choice,
            }
        )
        return self.async_show_form(
            step_id="connection_states",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or self._current()),
            errors=errors,
            description_placeholders={"entity_id": entity_id},
        )
