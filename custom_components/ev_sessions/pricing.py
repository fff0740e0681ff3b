"""Tariff options and price entities: turn what Home Assistant holds into model objects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from .const import (
    CONF_CAPACITY_FLOOR_KW,
    CONF_CAPACITY_STEPS,
    CONF_CAPACITY_YEARLY_PER_KW,
    CONF_ENERGY_TAX,
    CONF_FIXED_PRICE,
    CONF_GRID_FEE,
    CONF_GRID_FEE_HIGH,
    CONF_GRID_FEE_LOW,
    CONF_HIGH_LOAD_SKIP_HOLIDAYS,
    CONF_MARKUP,
    CONF_POWER_FEE_END,
    CONF_POWER_FEE_MONTHS,
    CONF_POWER_FEE_NIGHT_WEIGHT,
    CONF_POWER_FEE_ONE_PER_DAY,
    CONF_POWER_FEE_PEAKS,
    CONF_POWER_FEE_PER_KW,
    CONF_POWER_FEE_SEASON_MONTHS,
    CONF_POWER_FEE_SEASON_PER_KW,
    CONF_POWER_FEE_SKIP_HOLIDAYS,
    CONF_POWER_FEE_START,
    CONF_POWER_FEE_WEEKDAYS,
    CONF_PRICE_ENTITY,
    CONF_PRICE_INCLUDES_VAT,
    CONF_SESSION_FEE,
    CONF_VAT_PERCENT,
)
from .model.prices import (
    PRICE_LIST_ATTRIBUTES,
    PriceInterval,
    PriceSeries,
    PriceShapeError,
    parse_price_attributes,
    parse_price_items,
    unit_scale,
)
from .model.session import INTERVAL, interval_start
from .model.tariff import (
    WEEKDAYS,
    MonthFee,
    PowerFee,
    RollingPeakFee,
    StepFee,
    Tariff,
    TimeWindow,
)

# Integrations whose price sensors carry no price list: their prices come from an action.
ACTION_PLATFORMS = ("nordpool", "tibber")


def _time(value: Any, default: time) -> time:
    return time.fromisoformat(str(value)) if value else default


def _window(
    options: Mapping[str, Any], prefix: str, holidays: str = CONF_HIGH_LOAD_SKIP_HOLIDAYS
) -> TimeWindow:
    """A window from its options (``high_load_*``, ``low_load_*`` or ``power_fee_*``).

    Public holidays are working days or not for the whole grid tariff (one option for both
    time-of-use windows); the power fee has its own.
    """
    offset = options.get(f"{prefix}_utc_offset")
    return TimeWindow(
        months=frozenset(int(m) for m in options.get(f"{prefix}_months") or range(1, 13)),
        weekdays=frozenset(options.get(f"{prefix}_weekdays") or WEEKDAYS),
        start=_time(options.get(f"{prefix}_start"), time(0)),
        end=_time(options.get(f"{prefix}_end"), time(0)),
        holidays_off=bool(options.get(holidays, False)),
        utc_offset=None if offset is None else timedelta(hours=float(offset)),
    )


def parse_steps(text: str | None) -> tuple[tuple[float, float], ...] | None:
    """Steps from ``kW = price`` lines, ascending from 0 kW; None when they are not that."""
    steps: dict[float, float] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        bound, found, price = line.replace(",", ".").partition("=")
        try:
            lower, value = float(bound), float(price)
        except ValueError:
            return None
        if not found or lower < 0 or value < 0 or lower in steps:
            return None
        steps[lower] = value
    if not steps or min(steps) != 0:
        return None
    return tuple(sorted(steps.items()))


def _power_fee_window(options: Mapping[str, Any]) -> TimeWindow | None:
    """The hours that count for the power fee (None: every hour)."""
    keys = (
        CONF_POWER_FEE_MONTHS,
        CONF_POWER_FEE_WEEKDAYS,
        CONF_POWER_FEE_START,
        CONF_POWER_FEE_END,
        CONF_POWER_FEE_SKIP_HOLIDAYS,
    )
    if not any(options.get(key) for key in keys):
        return None
    return _window(options, "power_fee", CONF_POWER_FEE_SKIP_HOLIDAYS)


def tariff_from_options(options: Mapping[str, Any]) -> Tariff:
    """The tariff that the options describe."""
    high_load = (
        _window(options, "high_load") if options.get(CONF_GRID_FEE_HIGH) is not None else None
    )
    low_load = _window(options, "low_load") if options.get(CONF_GRID_FEE_LOW) is not None else None
    power_fee: MonthFee | None = None
    steps = parse_steps(options.get(CONF_CAPACITY_STEPS))
    if steps is not None:
        # "The three highest days": the peaks averaged (3 unless set otherwise).
        power_fee = StepFee(steps=steps, days=int(options.get(CONF_POWER_FEE_PEAKS, 3)))
    elif options.get(CONF_CAPACITY_YEARLY_PER_KW):
        power_fee = RollingPeakFee(
            yearly_price_per_kw=float(options[CONF_CAPACITY_YEARLY_PER_KW]),
            floor_kw=float(options.get(CONF_CAPACITY_FLOOR_KW, 2.5)),
        )
    elif options.get(CONF_POWER_FEE_PER_KW):
        power_fee = PowerFee(
            price_per_kw=float(options[CONF_POWER_FEE_PER_KW]),
            peaks=int(options.get(CONF_POWER_FEE_PEAKS, 3)),
            one_per_day=bool(options.get(CONF_POWER_FEE_ONE_PER_DAY, True)),
            night_weight=float(options.get(CONF_POWER_FEE_NIGHT_WEIGHT, 1.0)),
            window=_power_fee_window(options),
            season_months=frozenset(
                int(m) for m in options.get(CONF_POWER_FEE_SEASON_MONTHS) or ()
            ),
            season_price_per_kw=(
                None
                if options.get(CONF_POWER_FEE_SEASON_PER_KW) is None
                else float(options[CONF_POWER_FEE_SEASON_PER_KW])
            ),
        )
    fixed = options.get(CONF_FIXED_PRICE)
    return Tariff(
        uses_price_entity=bool(options.get(CONF_PRICE_ENTITY)),
        fixed_price=None if fixed is None else float(fixed),
        price_includes_vat=bool(options.get(CONF_PRICE_INCLUDES_VAT, False)),
        markup=float(options.get(CONF_MARKUP, 0.0)),
        grid_fee=float(options.get(CONF_GRID_FEE, 0.0)),
        grid_fee_high=(
            None if options.get(CONF_GRID_FEE_HIGH) is None else float(options[CONF_GRID_FEE_HIGH])
        ),
        high_load=high_load,
        grid_fee_low=(
            None if options.get(CONF_GRID_FEE_LOW) is None else float(options[CONF_GRID_FEE_LOW])
        ),
        low_load=low_load,
        energy_tax=float(options.get(CONF_ENERGY_TAX, 0.0)),
        vat_percent=float(options.get(CONF_VAT_PERCENT, 0.0)),
        session_fee=float(options.get(CONF_SESSION_FEE, 0.0)),
        power_fee=power_fee,
    )


def action_platform(hass: HomeAssistant, entity_id: str) -> str | None:
    """The integration a price entity belongs to when its prices come from an action."""
    entry = er.async_get(hass).async_get(entity_id)
    if entry is not None and entry.platform in ACTION_PLATFORMS:
        return entry.platform
    return None


def read_price_attributes(hass: HomeAssistant, entity_id: str, now: datetime) -> PriceSeries:
    """Prices a price entity's state holds: its price lists, else its current price.

    Returns an empty series while the entity is unavailable; raises PriceShapeError when
    the entity is not a price in any shape this integration knows.
    """
    state = hass.states.get(entity_id)
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return PriceSeries()
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    zone = dt_util.get_default_time_zone()
    if any(name in state.attributes for name in PRICE_LIST_ATTRIBUTES):
        return parse_price_attributes(state.attributes, unit, zone)
    # A sensor with only the current price: it holds for the current quarter hour.
    scale = unit_scale(unit, state.attributes)
    try:
        value = float(state.state) * scale
    except ValueError as err:
        raise PriceShapeError(
            "not_number", f"not a number: {state.state!r}", value=state.state
        ) from err
    start = datetime.fromtimestamp(interval_start(now), dt_util.UTC)
    return PriceSeries([PriceInterval(start, start + INTERVAL, value)])


async def async_fetch_action_prices(
    hass: HomeAssistant, entity_id: str, platform: str, now: datetime
) -> PriceSeries:
    """Today's and tomorrow's prices from the Nord Pool or Tibber integration's action.

    Raises PriceShapeError when the action is missing or answers in an unknown shape.
    """
    registry_entry = er.async_get(hass).async_get(entity_id)
    assert registry_entry is not None
    zone = dt_util.get_default_time_zone()
    today = dt_util.as_local(now).date()
    try:
        if platform == "nordpool":
            return await _nordpool(hass, registry_entry, today, zone)
        return await _tibber(hass, now, zone)
    except (HomeAssistantError, KeyError, TypeError, AttributeError) as err:
        raise PriceShapeError(
            "action_failed", f"{platform} prices: {err}", platform=platform
        ) from err


async def _nordpool(
    hass: HomeAssistant, registry_entry: er.RegistryEntry, today: Any, zone: Any
) -> PriceSeries:
    entry_id = registry_entry.config_entry_id or ""
    config_entry = hass.config_entries.async_get_entry(entry_id)
    area = registry_entry.unique_id.split("-", 1)[0]
    currency = (config_entry.data if config_entry else {}).get("currency", hass.config.currency)
    intervals: list[PriceInterval] = []
    for day in (today, today + timedelta(days=1)):
        response: Any = await hass.services.async_call(
            "nordpool",
            "get_prices_for_date",
            {
                "config_entry": entry_id,
                "date": day.isoformat(),
                "areas": [area],
                "currency": currency,
            },
            blocking=True,
            return_response=True,
        )
        items = (response or {}).get(area) or []
        intervals.extend(parse_price_items(items, zone, unit_scale(f"{currency}/MWh")))
    return PriceSeries(intervals)


async def _tibber(hass: HomeAssistant, now: datetime, zone: Any) -> PriceSeries:
    start = dt_util.start_of_local_day(dt_util.as_local(now))
    response: Any = await hass.services.async_call(
        "tibber",
        "get_prices",
        {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat()},
        blocking=True,
        return_response=True,
    )
    homes: Mapping[str, Any] = (response or {})["prices"]
    items: list[Any] = next(iter(homes.values()), [])
    return PriceSeries(parse_price_items(items, zone))
