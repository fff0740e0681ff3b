"""The options flow: a menu of preferences, tariff, house connection and users."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import voluptuous as vol

from homeassistant.config_entries import (
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import (
    PERCENTAGE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TimeSelector,
)

from ..const import (
    CHARGING_MODES,
    CONF_ACCEPT_UNKNOWN_TAGS,
    CONF_BATTERY_CAPACITY_KWH,
    CONF_CHARGING_MODE,
    CONF_CONNECTOR,
    CONF_DEPARTURE_TIME,
    CONF_GRACE_PERIOD_MIN,
    CONF_HOUSE_CURRENT_ENTITIES,
    CONF_HOUSE_POWER_ENTITY,
    CONF_ID_TAGS,
    CONF_MAIN_FUSE_A,
    CONF_MAX_POWER_KW,
    CONF_PHASES,
    CONF_POWER_THRESHOLD_W,
    CONF_SAFETY_MARGIN_A,
    CONF_SOC_ENTITY,
    CONF_SOURCE,
    CONF_TARGET_ENERGY_KWH,
    CONF_TARGET_SOC,
    DEFAULT_GRACE_PERIOD_MIN,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_POWER_THRESHOLD_W,
    DEFAULT_SAFETY_MARGIN_A,
    MODE_IMMEDIATE,
    SECTION_SESSION_DETECTION,
    SOURCE_OCPP,
    TARIFF_KEYS,
    TARIFF_SECTIONS,
)
from .ocpp import parse_id_tags
from .schema import (
    entity_selector,
    entity_unit,
    flatten,
    nest,
    number_selector,
    validate_house_power,
)
from .tariff import tariff_schema, validate_tariff

MAX_CONNECTOR = 32  # the most connectors (EVSEs) one OCPP box has

_OPTIONAL_OPTIONS = (
    CONF_TARGET_SOC,
    CONF_BATTERY_CAPACITY_KWH,
    CONF_TARGET_ENERGY_KWH,
    CONF_DEPARTURE_TIME,
)


POWER_KEYS = (
    CONF_MAIN_FUSE_A,
    CONF_PHASES,
    CONF_HOUSE_CURRENT_ENTITIES,
    CONF_HOUSE_POWER_ENTITY,
    CONF_SAFETY_MARGIN_A,
)
DETECTION_KEYS = (CONF_POWER_THRESHOLD_W, CONF_GRACE_PERIOD_MIN)


def _validate_power(hass: HomeAssistant, values: Mapping[str, Any]) -> dict[str, str]:
    """Errors per field for the household's meters."""
    errors: dict[str, str] = {}
    currents = values.get(CONF_HOUSE_CURRENT_ENTITIES) or []
    if len(currents) > values[CONF_PHASES]:
        errors[CONF_HOUSE_CURRENT_ENTITIES] = "too_many_current_sensors"
    for entity_id in currents:
        exists, unit = entity_unit(hass, entity_id)
        if not exists:
            errors[CONF_HOUSE_CURRENT_ENTITIES] = "entity_not_found"
        elif unit != "A":
            errors[CONF_HOUSE_CURRENT_ENTITIES] = "not_current"
    errors.update(validate_house_power(hass, values))
    return errors


class EvSessionsOptionsFlow(OptionsFlow):
    """Preferences, tariff and session detection."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick what to change."""
        menu = ["preferences", "tariff", "power"]
        if self.config_entry.data[CONF_SOURCE] == SOURCE_OCPP:
            menu.append("users")
        return self.async_show_menu(step_id="init", menu_options=menu)

    async def async_step_users(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Id tags (RFID cards) and the names of their users; whether unknown tags may charge."""
        errors: dict[str, str] = {}
        if user_input is not None:
            tags = parse_id_tags(user_input.get(CONF_ID_TAGS, ""))
            if tags is None:
                errors[CONF_ID_TAGS] = "invalid_id_tags"
            else:
                return self._save(
                    {
                        CONF_ID_TAGS: tags,
                        CONF_ACCEPT_UNKNOWN_TAGS: bool(user_input[CONF_ACCEPT_UNKNOWN_TAGS]),
                        CONF_CONNECTOR: int(user_input.get(CONF_CONNECTOR) or 0),
                    },
                    (),
                )
        options = self.config_entry.options
        suggested = user_input or {
            CONF_ID_TAGS: "\n".join(
                f"{tag} = {name}" for tag, name in (options.get(CONF_ID_TAGS) or {}).items()
            ),
            CONF_ACCEPT_UNKNOWN_TAGS: options.get(CONF_ACCEPT_UNKNOWN_TAGS, True),
            CONF_CONNECTOR: options.get(CONF_CONNECTOR, 0),
        }
        schema = vol.Schema(
            {
                vol.Optional(CONF_ID_TAGS): TextSelector(TextSelectorConfig(multiline=True)),
                vol.Required(CONF_ACCEPT_UNKNOWN_TAGS, default=True): BooleanSelector(),
                vol.Optional(CONF_CONNECTOR, default=0): NumberSelector(
                    NumberSelectorConfig(
                        min=0, max=MAX_CONNECTOR, step=1, mode=NumberSelectorMode.BOX
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="users",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )

    def _save(self, values: Mapping[str, Any], keys: Iterable[str]) -> ConfigFlowResult:
        """Store values, dropping the given optional keys that were left empty."""
        options = {k: v for k, v in self.config_entry.options.items() if k not in keys}
        return self.async_create_entry(data={**options, **values})

    async def async_step_preferences(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Target, departure, mode, power limit and session detection."""
        entry = self.config_entry
        has_soc = entry.data.get(CONF_SOC_ENTITY) is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            values = flatten(user_input)
            if values.get(CONF_TARGET_SOC) is not None and not values.get(
                CONF_BATTERY_CAPACITY_KWH
            ):
                errors[CONF_BATTERY_CAPACITY_KWH] = "capacity_required"
            else:
                return self._save(values, _OPTIONAL_OPTIONS)
        schema: dict[Any, Any] = {
            # Left empty, the learned (or default) target and departure apply.
            vol.Optional(CONF_TARGET_ENERGY_KWH): number_selector(0, 200, 0.5, "kWh"),
            vol.Optional(CONF_DEPARTURE_TIME): TimeSelector(),
            vol.Required(CONF_CHARGING_MODE, default=MODE_IMMEDIATE): SelectSelector(
                SelectSelectorConfig(
                    options=list(CHARGING_MODES), translation_key=CONF_CHARGING_MODE
                )
            ),
            vol.Required(CONF_MAX_POWER_KW, default=DEFAULT_MAX_POWER_KW): number_selector(
                1, 50, 0.1, "kW"
            ),
        }
        if has_soc:
            schema[vol.Optional(CONF_TARGET_SOC)] = number_selector(1, 100, 1, PERCENTAGE)
            schema[vol.Optional(CONF_BATTERY_CAPACITY_KWH)] = number_selector(5, 250, 0.5, "kWh")
        schema[vol.Required(SECTION_SESSION_DETECTION)] = section(
            vol.Schema(
                {
                    vol.Required(
                        CONF_POWER_THRESHOLD_W, default=DEFAULT_POWER_THRESHOLD_W
                    ): number_selector(10, 2000, 10, "W"),
                    vol.Required(
                        CONF_GRACE_PERIOD_MIN, default=DEFAULT_GRACE_PERIOD_MIN
                    ): number_selector(0, 120, 1, "min"),
                }
            ),
            {"collapsed": True},
        )
        suggested = nest(entry.options, {SECTION_SESSION_DETECTION: DETECTION_KEYS})
        return self.async_show_form(
            step_id="preferences",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(schema), user_input or suggested
            ),
            errors=errors,
        )

    async def async_step_tariff(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Price source, grid fees, taxes, time of use and power fee."""
        errors: dict[str, str] = {}
        placeholders = {
            "currency": self.hass.config.currency,
            "unit": "",
            "value": "",
            "platform": "",
            "keys": "",
        }
        if user_input is not None:
            values = flatten(user_input)
            errors = validate_tariff(self.hass, values, placeholders)
            if not errors:
                return self._save(values, TARIFF_KEYS)
        return self.async_show_form(
            step_id="tariff",
            data_schema=self.add_suggested_values_to_schema(
                tariff_schema(self.hass.config.currency),
                user_input or nest(self.config_entry.options, TARIFF_SECTIONS),
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_power(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Main fuse, phases and the household's meters, for the load guard."""
        errors: dict[str, str] = {}
        if user_input is not None:
            values = dict(user_input)
            values[CONF_PHASES] = int(values[CONF_PHASES])
            errors = _validate_power(self.hass, values)
            if not errors:
                return self._save(values, POWER_KEYS)
        suggested = dict(self.config_entry.options)
        if CONF_PHASES in suggested:
            suggested[CONF_PHASES] = str(suggested[CONF_PHASES])
        schema = vol.Schema(
            {
                vol.Optional(CONF_MAIN_FUSE_A): number_selector(6, 250, 1, "A"),
                vol.Required(CONF_PHASES, default="3"): SelectSelector(
                    SelectSelectorConfig(options=["1", "3"], translation_key=CONF_PHASES)
                ),
                vol.Optional(CONF_HOUSE_CURRENT_ENTITIES): EntitySelector(
                    EntitySelectorConfig(domain="sensor", multiple=True)
                ),
                vol.Optional(CONF_HOUSE_POWER_ENTITY): entity_selector("sensor"),
                vol.Required(
                    CONF_SAFETY_MARGIN_A, default=DEFAULT_SAFETY_MARGIN_A
                ): number_selector(0, 20, 0.5, "A"),
            }
        )
        return self.async_show_form(
            step_id="power",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or suggested),
            errors=errors,
        )
