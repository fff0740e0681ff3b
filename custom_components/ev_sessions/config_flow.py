"""Config and options flows of EV Sessions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, PERCENTAGE
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import AbortFlow, section
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TimeSelector,
)

from .const import (
    CHARGING_MODES,
    CONF_BATTERY_CAPACITY_KWH,
    CONF_CHARGING_MODE,
    CONF_CHARGING_STATES,
    CONF_CHARGING_SWITCH_ENTITY,
    CONF_CONNECTED_ENTITY,
    CONF_CONNECTED_STATES,
    CONF_CURRENT_LIMIT_ENTITY,
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
    DEFAULT_BATTERY_CAPACITY_KWH,
    DEFAULT_DEPARTURE_TIME,
    DEFAULT_GRACE_PERIOD_MIN,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_PHASES,
    DEFAULT_POWER_THRESHOLD_W,
    DEFAULT_TARGET_ENERGY_KWH,
    DOMAIN,
    MODE_IMMEDIATE,
    SECTION_SESSION_DETECTION,
    SOURCE_ENTITIES,
    SOURCE_SIMULATOR,
    SOURCES,
)
from .model.units import ENERGY_UNITS, POWER_UNITS


def _number(low: float, high: float, step: float, unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=low, max=high, step=step, unit_of_measurement=unit, mode=NumberSelectorMode.BOX
        )
    )


def _entity(*domains: str) -> EntitySelector:
    return EntitySelector(EntitySelectorConfig(domain=list(domains)))


ENTITIES_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_POWER_ENTITY): _entity("sensor"),
        vol.Optional(CONF_ENERGY_ENTITY): _entity("sensor"),
        vol.Optional(CONF_CONNECTED_ENTITY): _entity("binary_sensor", "sensor"),
        vol.Optional(CONF_CHARGING_SWITCH_ENTITY): _entity("switch", "input_boolean"),
        vol.Optional(CONF_CURRENT_LIMIT_ENTITY): _entity("number", "input_number"),
        vol.Optional(CONF_SOC_ENTITY): _entity("sensor"),
    }
)

SIMULATOR_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_MAX_POWER_KW, default=DEFAULT_MAX_POWER_KW): _number(1, 50, 0.1, "kW"),
        vol.Required(CONF_PHASES, default=str(DEFAULT_PHASES)): SelectSelector(
            SelectSelectorConfig(options=["1", "3"], translation_key=CONF_PHASES)
        ),
        vol.Required(CONF_BATTERY_CAPACITY_KWH, default=DEFAULT_BATTERY_CAPACITY_KWH): _number(
            10, 250, 1, "kWh"
        ),
    }
)

_OPTIONAL_OPTIONS = (CONF_TARGET_SOC, CONF_BATTERY_CAPACITY_KWH)


def _unit(hass: HomeAssistant, entity_id: str) -> tuple[bool, str | None]:
    """Whether an entity exists, and its unit of measurement."""
    if (state := hass.states.get(entity_id)) is not None:
        return True, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if (entry := er.async_get(hass).async_get(entity_id)) is not None:
        return True, entry.unit_of_measurement
    return False, None


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
        exists, unit = _unit(hass, entity_id)
        if not exists:
            errors[field] = "entity_not_found"
        elif units is not None and unit not in units:
            errors[field] = error
    return errors


def _entities_unique_id(hass: HomeAssistant, power_entity: str) -> str:
    """Stable across entity renames when the power sensor is in the registry."""
    entry = er.async_get(hass).async_get(power_entity)
    return f"{SOURCE_ENTITIES}_{entry.id if entry else power_entity}"


def _entities_title(hass: HomeAssistant, power_entity: str) -> str:
    """The wallbox's device name, else the power sensor's name."""
    entry = er.async_get(hass).async_get(power_entity)
    device = dr.async_get(hass).async_get(entry.device_id) if entry and entry.device_id else None
    if device is not None:
        return device.name_by_user or device.name or power_entity
    state = hass.states.get(power_entity)
    return state.name if state is not None else power_entity


class EvSessionsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a wallbox: pick the source, then describe it."""

    VERSION = 1

    def __init__(self) -> None:
        """Start empty."""
        self._data: dict[str, Any] = {}
        self._title = ""

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> EvSessionsOptionsFlow:
        """Preferences and session detection."""
        return EvSessionsOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick the kind of wallbox."""
        return self.async_show_menu(step_id="user", menu_options=list(SOURCES))

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the entities or settings of a wallbox."""
        if self._get_reconfigure_entry().data[CONF_SOURCE] == SOURCE_SIMULATOR:
            return await self.async_step_simulator()
        return await self.async_step_entities()

    def _current(self) -> Mapping[str, Any]:
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_entry().data
        return {}

    async def _claim(self, unique_id: str) -> None:
        """Take the unique id; abort if another entry has it."""
        existing = await self.async_set_unique_id(unique_id)
        if existing is not None and (
            self.source != SOURCE_RECONFIGURE
            or existing.entry_id != self._get_reconfigure_entry().entry_id
        ):
            raise AbortFlow("already_configured")

    def _finish(self) -> ConfigFlowResult:
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_reload_and_abort(
                self._get_reconfigure_entry(), unique_id=self.unique_id, data=self._data
            )
        return self.async_create_entry(title=self._title, data=self._data)

    async def async_step_entities(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The entities of a wallbox already in Home Assistant."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate_entities(self.hass, user_input)
            if not errors:
                power = user_input[CONF_POWER_ENTITY]
                await self._claim(_entities_unique_id(self.hass, power))
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

    async def async_step_simulator(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A simulated wallbox and car."""
        if user_input is not None:
            await self._claim(SOURCE_SIMULATOR)
            self._data = {
                CONF_SOURCE: SOURCE_SIMULATOR,
                CONF_MAX_POWER_KW: float(user_input[CONF_MAX_POWER_KW]),
                CONF_PHASES: int(user_input[CONF_PHASES]),
                CONF_BATTERY_CAPACITY_KWH: float(user_input[CONF_BATTERY_CAPACITY_KWH]),
            }
            self._title = "Simulated wallbox"
            return self._finish()
        current = dict(self._current())
        if CONF_PHASES in current:
            current[CONF_PHASES] = str(current[CONF_PHASES])
        return self.async_show_form(
            step_id="simulator",
            data_schema=self.add_suggested_values_to_schema(SIMULATOR_SCHEMA, current),
        )


class EvSessionsOptionsFlow(OptionsFlow):
    """Preferences (target, departure, mode, power) and session detection."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form, with session detection in a collapsed section."""
        entry = self.config_entry
        has_soc = entry.data.get(CONF_SOC_ENTITY) is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            values = dict(user_input)
            values.update(values.pop(SECTION_SESSION_DETECTION, {}))
            if values.get(CONF_TARGET_SOC) is not None and not values.get(
                CONF_BATTERY_CAPACITY_KWH
            ):
                errors[CONF_BATTERY_CAPACITY_KWH] = "capacity_required"
            else:
                options = {k: v for k, v in entry.options.items() if k not in _OPTIONAL_OPTIONS}
                return self.async_create_entry(data={**options, **values})
        schema: dict[Any, Any] = {
            vol.Required(CONF_TARGET_ENERGY_KWH, default=DEFAULT_TARGET_ENERGY_KWH): _number(
                0, 200, 0.5, "kWh"
            ),
            vol.Required(CONF_DEPARTURE_TIME, default=DEFAULT_DEPARTURE_TIME): TimeSelector(),
            vol.Required(CONF_CHARGING_MODE, default=MODE_IMMEDIATE): SelectSelector(
                SelectSelectorConfig(
                    options=list(CHARGING_MODES), translation_key=CONF_CHARGING_MODE
                )
            ),
            vol.Required(CONF_MAX_POWER_KW, default=DEFAULT_MAX_POWER_KW): _number(
                1, 50, 0.1, "kW"
            ),
        }
        if has_soc:
            schema[vol.Optional(CONF_TARGET_SOC)] = _number(1, 100, 1, PERCENTAGE)
            schema[vol.Optional(CONF_BATTERY_CAPACITY_KWH)] = _number(5, 250, 0.5, "kWh")
        schema[vol.Required(SECTION_SESSION_DETECTION)] = section(
            vol.Schema(
                {
                    vol.Required(
                        CONF_POWER_THRESHOLD_W, default=DEFAULT_POWER_THRESHOLD_W
                    ): _number(10, 2000, 10, "W"),
                    vol.Required(CONF_GRACE_PERIOD_MIN, default=DEFAULT_GRACE_PERIOD_MIN): _number(
                        0, 120, 1, "min"
                    ),
                }
            ),
            {"collapsed": True},
        )
        current = dict(entry.options)
        current[SECTION_SESSION_DETECTION] = {
            key: entry.options[key]
            for key in (CONF_POWER_THRESHOLD_W, CONF_GRACE_PERIOD_MIN)
            if key in entry.options
        }
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(schema), user_input or current
            ),
            errors=errors,
        )
