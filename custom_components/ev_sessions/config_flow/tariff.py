"""The tariff form: its sections, schema and validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol

from homeassistant.const import (
    PERCENTAGE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import section
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TimeSelector,
)
from homeassistant.util import dt as dt_util

from ..const import (
    CONF_CAPACITY_FLOOR_KW,
    CONF_CAPACITY_STEPS,
    CONF_CAPACITY_YEARLY_PER_KW,
    CONF_ENERGY_TAX,
    CONF_FIXED_PRICE,
    CONF_GRID_FEE,
    CONF_GRID_FEE_HIGH,
    CONF_GRID_FEE_LOW,
    CONF_HIGH_LOAD_END,
    CONF_HIGH_LOAD_SKIP_HOLIDAYS,
    CONF_HIGH_LOAD_START,
    CONF_HOURLY_SETTLEMENT,
    CONF_HOUSE_POWER_ENTITY,
    CONF_LOW_LOAD_END,
    CONF_LOW_LOAD_START,
    CONF_MARKUP,
    CONF_POWER_FEE_END,
    CONF_POWER_FEE_NIGHT_WEIGHT,
    CONF_POWER_FEE_ONE_PER_DAY,
    CONF_POWER_FEE_PEAKS,
    CONF_POWER_FEE_PER_KW,
    CONF_POWER_FEE_SEASON_MONTHS,
    CONF_POWER_FEE_SEASON_PER_KW,
    CONF_POWER_FEE_SKIP_HOLIDAYS,
    CONF_POWER_FEE_START,
    CONF_PRICE_ENTITY,
    CONF_PRICE_INCLUDES_VAT,
    CONF_SESSION_FEE,
    CONF_VAT_PERCENT,
    SECTION_GRID,
    SECTION_POWER_FEE,
    SECTION_TIME_OF_USE,
)
from ..model.prices import PriceShapeError
from ..model.tariff import WEEKDAYS
from ..pricing import action_platform, parse_steps, read_price_attributes
from .schema import entity_selector, number_selector, validate_house_power

_MONTHS = [str(month) for month in range(1, 13)]


def _money(unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(step="any", unit_of_measurement=unit, mode=NumberSelectorMode.BOX)
    )


def _months() -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(options=_MONTHS, multiple=True, translation_key="month")
    )


def _window_fields(prefix: str) -> dict[Any, Any]:
    """A window's fields: months, weekdays, start, end and the meter clock's UTC offset."""
    return {
        vol.Optional(f"{prefix}_months"): _months(),
        vol.Optional(f"{prefix}_weekdays"): SelectSelector(
            SelectSelectorConfig(options=list(WEEKDAYS), multiple=True, translation_key="weekday")
        ),
        vol.Optional(f"{prefix}_start"): TimeSelector(),
        vol.Optional(f"{prefix}_end"): TimeSelector(),
        # Empty: local time. A number: a meter clock at that fixed offset (0 for GMT all year).
        vol.Optional(f"{prefix}_utc_offset"): NumberSelector(
            NumberSelectorConfig(
                min=-12, max=14, step=0.25, unit_of_measurement="h", mode=NumberSelectorMode.BOX
            )
        ),
    }


def tariff_schema(currency: str) -> vol.Schema:
    """The tariff form, in sections, priced in the installation's currency."""
    per_kwh = f"{currency}/kWh"
    return vol.Schema(
        {
            vol.Optional(CONF_PRICE_ENTITY): entity_selector("sensor"),
            vol.Required(CONF_PRICE_INCLUDES_VAT, default=False): BooleanSelector(),
            vol.Required(CONF_HOURLY_SETTLEMENT, default=False): BooleanSelector(),
            vol.Optional(CONF_FIXED_PRICE): _money(per_kwh),
            vol.Required(CONF_MARKUP, default=0): _money(per_kwh),
            vol.Required(CONF_VAT_PERCENT, default=0): _money(PERCENTAGE),
            vol.Required(SECTION_GRID): section(
                vol.Schema(
                    {
                        vol.Required(CONF_GRID_FEE, default=0): _money(per_kwh),
                        vol.Required(CONF_ENERGY_TAX, default=0): _money(per_kwh),
                        vol.Required(CONF_SESSION_FEE, default=0): _money(currency),
                    }
                ),
                {"collapsed": False},
            ),
            vol.Required(SECTION_TIME_OF_USE): section(
                vol.Schema(
                    {
                        vol.Optional(CONF_GRID_FEE_HIGH): _money(per_kwh),
                        **_window_fields("high_load"),
                        vol.Required(CONF_HIGH_LOAD_SKIP_HOLIDAYS, default=False): (
                            BooleanSelector()
                        ),
                        vol.Optional(CONF_GRID_FEE_LOW): _money(per_kwh),
                        **_window_fields("low_load"),
                    }
                ),
                {"collapsed": True},
            ),
            vol.Required(SECTION_POWER_FEE): section(
                vol.Schema(
                    {
                        vol.Optional(CONF_POWER_FEE_PER_KW): _money(f"{currency}/kW"),
                        vol.Required(CONF_POWER_FEE_PEAKS, default=3): number_selector(
                            1, 10, 1, "h"
                        ),
                        vol.Required(CONF_POWER_FEE_ONE_PER_DAY, default=True): BooleanSelector(),
                        vol.Required(CONF_POWER_FEE_NIGHT_WEIGHT, default=1): number_selector(
                            0, 1, 0.05, "×"
                        ),
                        **_window_fields("power_fee"),
                        vol.Required(CONF_POWER_FEE_SKIP_HOLIDAYS, default=False): (
                            BooleanSelector()
                        ),
                        vol.Optional(CONF_POWER_FEE_SEASON_MONTHS): _months(),
                        vol.Optional(CONF_POWER_FEE_SEASON_PER_KW): _money(f"{currency}/kW"),
                        vol.Optional(CONF_CAPACITY_STEPS): TextSelector(
                            TextSelectorConfig(multiline=True)
                        ),
                        vol.Optional(CONF_CAPACITY_YEARLY_PER_KW): _money(f"{currency}/kW"),
                        vol.Required(CONF_CAPACITY_FLOOR_KW, default=2.5): number_selector(
                            0, 50, 0.1, "kW"
                        ),
                        vol.Optional(CONF_HOUSE_POWER_ENTITY): entity_selector("sensor"),
                    }
                ),
                {"collapsed": True},
            ),
        }
    )


def validate_tariff(
    hass: HomeAssistant, values: Mapping[str, Any], placeholders: dict[str, str]
) -> dict[str, str]:
    """Errors per field for a tariff that cannot be."""
    errors: dict[str, str] = {}
    if not 0 <= values.get(CONF_VAT_PERCENT, 0) <= 100:
        errors[CONF_VAT_PERCENT] = "invalid_vat"
    for key in (
        CONF_MARKUP,
        CONF_GRID_FEE,
        CONF_ENERGY_TAX,
        CONF_SESSION_FEE,
        CONF_GRID_FEE_HIGH,
        CONF_GRID_FEE_LOW,
        CONF_POWER_FEE_PER_KW,
        CONF_POWER_FEE_SEASON_PER_KW,
    ):
        if (values.get(key) or 0) < 0:
            errors[key] = "negative_fee"
    start, end = values.get(CONF_POWER_FEE_START), values.get(CONF_POWER_FEE_END)
    if start and end and end != "00:00:00" and end <= start:
        errors[CONF_POWER_FEE_END] = "window_end_before_start"
    if values.get(CONF_POWER_FEE_SEASON_PER_KW) is not None and not values.get(
        CONF_POWER_FEE_SEASON_MONTHS
    ):
        errors[CONF_POWER_FEE_SEASON_MONTHS] = "season_months_required"
    for fee, start_key, end_key in (
        (CONF_GRID_FEE_HIGH, CONF_HIGH_LOAD_START, CONF_HIGH_LOAD_END),
        (CONF_GRID_FEE_LOW, CONF_LOW_LOAD_START, CONF_LOW_LOAD_END),
    ):
        start, end = values.get(start_key), values.get(end_key)
        if start and end and end != "00:00:00" and end <= start:
            errors[end_key] = "window_end_before_start"
        if values.get(fee) is not None and not (start and end):
            errors[start_key] = "window_required"
    if values.get(CONF_CAPACITY_STEPS) and parse_steps(values[CONF_CAPACITY_STEPS]) is None:
        errors[CONF_CAPACITY_STEPS] = "invalid_capacity_steps"
    kinds = [
        key
        for key in (CONF_POWER_FEE_PER_KW, CONF_CAPACITY_STEPS, CONF_CAPACITY_YEARLY_PER_KW)
        if values.get(key)
    ]
    if len(kinds) > 1:
        errors.setdefault(kinds[-1], "one_power_fee")
    errors.update(validate_house_power(hass, values))
    if price := values.get(CONF_PRICE_ENTITY):
        if hass.states.get(price) is None and er.async_get(hass).async_get(price) is None:
            errors[CONF_PRICE_ENTITY] = "entity_not_found"
        elif action_platform(hass, price) is None:
            try:
                read_price_attributes(hass, price, dt_util.utcnow())
            except PriceShapeError as err:
                errors[CONF_PRICE_ENTITY] = f"price_{err.reason}"
                placeholders.update(err.details)
    return errors
