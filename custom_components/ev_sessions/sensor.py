"""Sensors of EV Sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, cast

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import STATUSES
from .coordinator import EvSessionsConfigEntry, EvSessionsCoordinator, EvSessionsData
from .entity import SETTLE_VALUE, EvSessionsEntity, unnoted, value_read
from .model.classify import POWER_CLASSES
from .model.habits import WEEKDAYS
from .model.history import session_summary
from .model.planner import iso_in
from .model.session import interval_start
from .model.tariff import RollingPeakFee, StepFee
from .ocpp_entities import ocpp_sensors
from .time_util import local_iso

PARALLEL_UPDATES = 0


def no_attributes(_data: EvSessionsData, _currency: str) -> None:
    """A sensor without attributes (known by this function: nothing to work out)."""


@dataclass(frozen=True, kw_only=True)
class EvSessionsSensorDescription(SensorEntityDescription):
    """Describes an EV Sessions sensor."""

    value_fn: Callable[[EvSessionsData], datetime | float | str | None]
    attributes_fn: Callable[[EvSessionsData, str], dict[str, Any] | None] = no_attributes
    last_reset_fn: Callable[[EvSessionsData], datetime | None] | None = None
    has_fn: Callable[[EvSessionsCoordinator], bool] = lambda _: True
    # For money: the unit from Home Assistant's currency (e.g. "SEK" or "SEK/kWh").
    unit_fn: Callable[[str], str] | None = None
    # A running total: written at most once a minute while a session charges.
    settles: bool = False
    # Of a running total's attributes, those that move on with it (and wait with it).
    moving_attributes: frozenset[str] = frozenset()


def _plan_start(data: EvSessionsData) -> datetime | None:
    """When the plan charges first, at slot resolution.

    A plan made again while its first slot is under way starts where that quarter does (not
    "now" at every reading), or where the session does when it began in that quarter (not
    before the car was plugged in).
    """
    if data.plan is None or (moment := data.plan.start) is None:
        return None
    start = datetime.fromtimestamp(interval_start(moment), UTC)
    session_start = data.session_start
    if session_start is None or session_start <= start:
        return start
    return session_start.replace(microsecond=0)


def _minute(moment: datetime | None) -> datetime | None:
    """A planned time to the minute (the plan is redone as energy comes in)."""
    if moment is None:
        return None
    return (moment + timedelta(seconds=30)).replace(second=0, microsecond=0)


def _active_session(data: EvSessionsData, _currency: str) -> dict[str, Any] | None:
    # By the session's id and start, not the session (which counts as changed at every
    # reading): while the session charges, its energy waits without being worked out.
    if data.session_id is None or data.session_start is None:
        return None
    return {
        "session_id": data.session_id,
        "start": local_iso(data.session_start),
    }


def _habit_time(data: EvSessionsData, kind: str) -> str | None:
    """Today's usual time (HH:MM), learned from the history."""
    if data.habits is None:
        return None
    value = getattr(data.habits, kind).get(WEEKDAYS[dt_util.as_local(data.now).weekday()])
    return None if value is None else value.strftime("%H:%M")


def _habit_days(data: EvSessionsData, kind: str) -> dict[str, Any] | None:
    """The value per weekday, and how many sessions it was learned from."""
    if data.habits is None:
        return None
    days = getattr(data.habits, kind)
    return {
        **{
            day: value.strftime("%H:%M") if hasattr(value, "strftime") else round(value, 2)
            for day, value in days.items()
        },
        "sessions": data.habits.sessions,
    }


def _session_cost_details(data: EvSessionsData, _currency: str) -> dict[str, Any] | None:
    flags = data.session_cost_flags
    # The breakdown moves with the cost (a moving attribute): read without waking a held cost.
    cost = unnoted(data).session_cost
    if flags is None or cost is None or data.session_id is None:
        return None
    estimated, provisional, hours = flags
    return {
        "session_id": data.session_id,
        "breakdown": {key: round(value, 4) for key, value in cost.breakdown.items()},
        "estimated": estimated,
        "power_fee_provisional": provisional,
        # The month's hours that set the power fee (local time), highest first.
        "power_fee_hours": _hours_shown(hours, dt_util.get_default_time_zone()),
    }


@lru_cache(maxsize=16)
def _hours_shown(hours: tuple[int, ...], zone: tzinfo) -> list[str]:
    """Hours (UTC epoch starts) in local time (not to be changed).

    Worked out once: they are shown at every reading, and change when a new peak is set.
    """
    return [iso_in(datetime.fromtimestamp(hour, UTC), zone) for hour in hours]


def _average_price(data: EvSessionsData) -> float | None:
    # The cost first: without a price it is None, and the session (which counts as changed
    # at every reading) is not even read.
    if data.session_cost is None or data.session is None or data.session.energy_kwh <= 0:
        return None
    # A tenth of an öre or cent: the average moves slowly, and each change is a state written.
    return round(data.session_cost.total / data.session.energy_kwh, 3)


def _session_reset(data: EvSessionsData) -> datetime | None:
    if data.session_start is not None:
        return data.session_start
    return data.last_session.end if data.last_session else None


# The last sessions' summaries by what they are made of: a finished session's summary is the
# same at every reading (a handful of wallboxes; cleared when it grows past that).
_SUMMARIES: dict[tuple[Any, ...], dict[str, Any]] = {}
_SUMMARIES_KEPT = 32


def _last_session(data: EvSessionsData, currency: str) -> dict[str, Any] | None:
    session = data.last_session
    if session is None:
        return None
    zone = dt_util.get_default_time_zone()
    key = (
        session.id,
        session.start,
        session.end,
        session.energy_kwh,
        session.user,
        session.cost,
        session.cost_estimated,
        session.power_fee_provisional,
        tuple(session.power_fee_hours),
        currency,
        zone,
    )
    summary = _SUMMARIES.get(key)
    if summary is None:
        if len(_SUMMARIES) >= _SUMMARIES_KEPT:
            _SUMMARIES.clear()
        summary = _SUMMARIES[key] = session_summary(session, data.now, currency, zone)
    return summary


DESCRIPTIONS: tuple[EvSessionsSensorDescription, ...] = (
    EvSessionsSensorDescription(
        key="status",
        device_class=SensorDeviceClass.ENUM,
        options=list(STATUSES),
        value_fn=lambda d: d.status,
    ),
    EvSessionsSensorDescription(
        key="power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda d: d.power_w,
    ),
    EvSessionsSensorDescription(
        key="soc",
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda d: d.soc,
        has_fn=lambda coordinator: coordinator.source.has_soc,
    ),
    EvSessionsSensorDescription(
        key="session_energy",
        # Once a minute while charging, like the other totals (the power is the live figure,
        # and the dashboard card shows the latest energy at every reading).
        settles=True,
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        # No state class: the Energy dashboard is offered energy_total alone (no double count).
        suggested_display_precision=2,
        value_fn=lambda d: d.session.energy_kwh if d.session else 0.0,
        attributes_fn=_active_session,
    ),
    EvSessionsSensorDescription(
        key="session_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.HOURS,
        suggested_display_precision=2,
        # To the minute: a state written once a minute, not at every reading.
        value_fn=lambda d: d.session_duration_s,
    ),
    EvSessionsSensorDescription(
        key="energy_total",
        settles=True,  # for the Energy dashboard's statistics (5-min), not to watch
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        value_fn=lambda d: d.energy_total_kwh,
    ),
    EvSessionsSensorDescription(
        key="last_session_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda d: d.last_session.energy_kwh if d.last_session else None,
        attributes_fn=_last_session,
    ),
    EvSessionsSensorDescription(
        key="session_cost",
        settles=True,  # with its breakdown; the rest of its attributes are written at once
        moving_attributes=frozenset({"breakdown"}),
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        unit_fn=lambda currency: currency,
        # By the session's id, not the session (which counts as changed at every reading):
        # without prices the cost is not even looked at while the session charges.
        value_fn=lambda d: (
            (d.session_cost.total if d.session_cost else None) if d.session_id else 0.0
        ),
        attributes_fn=_session_cost_details,
        last_reset_fn=_session_reset,
    ),
    EvSessionsSensorDescription(
        key="session_average_price",
        settles=True,
        suggested_display_precision=2,
        unit_fn=lambda currency: f"{currency}/kWh",
        value_fn=_average_price,
    ),
    EvSessionsSensorDescription(
        key="last_session_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        unit_fn=lambda currency: currency,
        value_fn=lambda d: d.last_session.cost if d.last_session else None,
        attributes_fn=lambda d, _c: (
            None
            if d.last_session is None or d.last_session.cost is None
            else {
                "session_id": d.last_session.id,
                "breakdown": {k: round(v, 4) for k, v in d.last_session.cost_breakdown.items()},
                "estimated": d.last_session.cost_estimated,
                "power_fee_provisional": d.last_session.power_fee_provisional,
            }
        ),
    ),
    EvSessionsSensorDescription(
        key="month_cost",
        settles=True,
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        unit_fn=lambda currency: currency,
        value_fn=lambda d: d.month_cost,
        last_reset_fn=lambda d: d.month_start,
    ),
    EvSessionsSensorDescription(
        key="price",
        suggested_display_precision=3,
        unit_fn=lambda currency: f"{currency}/kWh",
        value_fn=lambda d: d.price,
    ),
    EvSessionsSensorDescription(
        key="plan_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_plan_start,
    ),
    EvSessionsSensorDescription(
        key="plan_end",
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda d: _minute(d.plan.end) if d.plan else None,
    ),
    EvSessionsSensorDescription(
        key="plan_energy",
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda d: d.plan.energy_kwh if d.plan else None,
    ),
    EvSessionsSensorDescription(
        key="plan_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        unit_fn=lambda currency: currency,
        value_fn=lambda d: d.plan.cost if d.plan and d.plan.slots else None,
        attributes_fn=lambda d, _c: {"estimated": d.plan.estimated} if d.plan else None,
    ),
    EvSessionsSensorDescription(
        key="estimated_completion",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda d: _minute(d.completion),
    ),
    EvSessionsSensorDescription(
        key="current_limit",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda d: d.guard.limit_a if d.guard else None,
        has_fn=lambda coordinator: coordinator.guard is not None,
    ),
    EvSessionsSensorDescription(
        key="available_power",
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda d: d.guard.available_w if d.guard else None,
        has_fn=lambda coordinator: coordinator.guard is not None,
    ),
    EvSessionsSensorDescription(
        key="usual_charging_type",
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.ENUM,
        options=list(POWER_CLASSES),
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda d: d.usual_power_class,
    ),
    EvSessionsSensorDescription(
        key="usual_plug_in",
        entity_registry_enabled_default=False,
        value_fn=lambda d: _habit_time(d, "plug_in"),
        attributes_fn=lambda d, _c: _habit_days(d, "plug_in"),
    ),
    EvSessionsSensorDescription(
        key="usual_unplug",
        entity_registry_enabled_default=False,
        value_fn=lambda d: _habit_time(d, "unplug"),
        attributes_fn=lambda d, _c: _habit_days(d, "unplug"),
    ),
    EvSessionsSensorDescription(
        key="typical_session_energy",
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        value_fn=lambda d: (
            d.habits.energy_kwh.get(WEEKDAYS[dt_util.as_local(d.now).weekday()])
            if d.habits
            else None
        ),
        attributes_fn=lambda d, _c: _habit_days(d, "energy_kwh"),
    ),
    EvSessionsSensorDescription(
        key="capacity_level",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda d: d.capacity.level_kw if d.capacity else None,
        attributes_fn=lambda d, _c: (
            {
                "step_from_kw": d.capacity.step_from_kw,
                "step_to_kw": d.capacity.step_to_kw,
                "step_price": d.capacity.step_price,
            }
            if d.capacity
            else None
        ),
        has_fn=lambda coordinator: isinstance(coordinator.tariff.power_fee, StepFee),
    ),
    EvSessionsSensorDescription(
        key="capacity_margin",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda d: d.capacity.margin_kw if d.capacity else None,
        has_fn=lambda coordinator: isinstance(coordinator.tariff.power_fee, StepFee),
    ),
    EvSessionsSensorDescription(
        key="month_peak",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda d: d.month_peak_kw,
        attributes_fn=lambda d, _c: {"rolling_mean_kw": d.rolling_peak_kw},
        has_fn=lambda coordinator: isinstance(coordinator.tariff.power_fee, RollingPeakFee),
    ),
    EvSessionsSensorDescription(
        key="month_energy",
        settles=True,
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda d: d.month_energy_kwh,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvSessionsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the sensors of one wallbox."""
    coordinator = entry.runtime_data
    entities: list[SensorEntity] = [
        EvSessionsSensor(coordinator, description)
        for description in DESCRIPTIONS
        if description.has_fn(coordinator)
    ]
    entities.extend(ocpp_sensors(coordinator))
    async_add_entities(entities)


class EvSessionsSensor(EvSessionsEntity, SensorEntity):
    """A sensor fed by the coordinator's snapshot."""

    entity_description: EvSessionsSensorDescription
    _follows_reads = True

    def __init__(
        self, coordinator: EvSessionsCoordinator, description: EvSessionsSensorDescription
    ) -> None:
        """A sensor of the wallbox's device; a running total settles while charging."""
        super().__init__(coordinator, description)
        self._settles = SETTLE_VALUE if description.settles else None
        self._moving = description.moving_attributes

    @property
    def native_value(self) -> datetime | float | str | None:
        """The sensor's state."""
        return self.entity_description.value_fn(self.coordinator.data)

    def _showing(self) -> tuple[Any, ...]:
        """What a write would show, from the raw value (cheaper than the formatted state)."""
        if not self.available:
            return (False,)
        value = self.native_value
        value_read(self.coordinator.data)
        return (
            True,
            value,
            self.extra_state_attributes,
            self.last_reset,
            self.native_unit_of_measurement,
        )

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details of the session behind the value."""
        if self.entity_description.attributes_fn is no_attributes:
            return None
        return cast(
            "dict[str, Any] | None",
            self._once_per_snapshot(
                lambda: self.entity_description.attributes_fn(
                    self.coordinator.data, self.coordinator.currency
                )
            ),
        )

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Fixed units, or Home Assistant's currency for money."""
        if self.entity_description.unit_fn is not None:
            return self.entity_description.unit_fn(self.coordinator.currency)
        return self.entity_description.native_unit_of_measurement

    @property
    def last_reset(self) -> datetime | None:
        """Start of the current accounting period, for totals that reset."""
        if self.entity_description.last_reset_fn is None:
            return None
        return self.entity_description.last_reset_fn(self.coordinator.data)
