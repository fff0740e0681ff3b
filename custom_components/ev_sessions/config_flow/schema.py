"""Form helpers the config and options flows share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)

from ..const import (
    CONF_HIGH_LOAD_MONTHS,
    CONF_HOUSE_POWER_ENTITY,
    CONF_LOW_LOAD_MONTHS,
    CONF_POWER_FEE_MONTHS,
    CONF_POWER_FEE_SEASON_MONTHS,
    SECTION_POWER_FEE,
    SECTION_TIME_OF_USE,
)
from ..model.units import POWER_UNITS


def number_selector(low: float, high: float, step: float, unit: str) -> NumberSelector:
    """A number typed into a box, with its unit."""
    return NumberSelector(
        NumberSelectorConfig(
            min=low, max=high, step=step, unit_of_measurement=unit, mode=NumberSelectorMode.BOX
        )
    )


def entity_selector(*domains: str) -> EntitySelector:
    """An entity of one of these domains."""
    return EntitySelector(EntitySelectorConfig(domain=list(domains)))


def entity_unit(hass: HomeAssistant, entity_id: str) -> tuple[bool, str | None]:
    """Whether an entity exists, and its unit of measurement."""
    if (state := hass.states.get(entity_id)) is not None:
        return True, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if (entry := er.async_get(hass).async_get(entity_id)) is not None:
        return True, entry.unit_of_measurement
    return False, None


def validate_house_power(hass: HomeAssistant, values: Mapping[str, Any]) -> dict[str, str]:
    """The household power sensor must exist and be a power."""
    if not (house := values.get(CONF_HOUSE_POWER_ENTITY)):
        return {}
    exists, unit = entity_unit(hass, house)
    if not exists:
        return {CONF_HOUSE_POWER_ENTITY: "entity_not_found"}
    if unit not in POWER_UNITS:
        return {CONF_HOUSE_POWER_ENTITY: "not_power"}
    return {}


# Month lists are stored as numbers; the form's selector speaks strings.
MONTH_KEYS = (
    CONF_HIGH_LOAD_MONTHS,
    CONF_LOW_LOAD_MONTHS,
    CONF_POWER_FEE_MONTHS,
    CONF_POWER_FEE_SEASON_MONTHS,
)


def flatten(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Options are stored flat; the form nests some in sections."""
    values: dict[str, Any] = {}
    for key, value in user_input.items():
        if isinstance(value, dict):
            values.update(value)
        else:
            values[key] = value
    for key in MONTH_KEYS:
        if key in values:
            values[key] = [int(m) for m in values[key]]
    return values


def nest(options: Mapping[str, Any], sections: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    """The stored options in the form's shape, for suggested values."""
    nested: dict[str, Any] = dict(options)
    for name, keys in sections.items():
        nested[name] = {key: nested.pop(key) for key in keys if key in nested}
    for section_name in (SECTION_TIME_OF_USE, SECTION_POWER_FEE):
        fields = nested.get(section_name, {})
        for key in MONTH_KEYS:
            if key in fields:
                fields[key] = [str(m) for m in fields[key]]
    return nested
