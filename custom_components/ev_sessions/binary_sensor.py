"""Binary sensors of EV Sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, cast

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .coordinator import EvSessionsConfigEntry, EvSessionsCoordinator, EvSessionsData
from .entity import SETTLE_ATTRIBUTES, EvSessionsEntity
from .model.planner import Plan, plan_slots
from .time_util import local_iso

PARALLEL_UPDATES = 0


def _local(moment: datetime | None) -> str | None:
    """A time as users read it: local, with its offset."""
    return None if moment is None else local_iso(moment)


# The last plans' slots as shown, by plan and time zone. A plan stands for a minute or more,
# and the charge-now sensor's attributes are worked out at every snapshot that is not for a
# reading (and at every one that turns it on or off).
_slots_shown: list[tuple[Plan, tzinfo, list[dict[str, object]]]] = []
KEPT_PLANS = 4


def _slots(plan: Plan | None) -> list[dict[str, object]]:
    """A plan's slots in local time, worked out once per plan (not to be changed)."""
    if plan is None:
        return []
    zone = dt_util.get_default_time_zone()
    for known in _slots_shown:
        if known[0] is plan and known[1] is zone:
            return known[2]
    slots = plan_slots(plan, zone)
    _slots_shown.insert(0, (plan, zone, slots))
    del _slots_shown[KEPT_PLANS:]
    return slots


@dataclass(frozen=True, kw_only=True)
class EvSessionsBinarySensorDescription(BinarySensorEntityDescription):
    """Describes an EV Sessions binary sensor."""

    value_fn: Callable[[EvSessionsData], bool]
    has_fn: Callable[[EvSessionsCoordinator], bool] = lambda _: True
    attributes_fn: Callable[[EvSessionsData], dict[str, Any] | None] = lambda _: None
    # Attributes that follow the session's energy (the plan's slots, the shortfall): while it
    # charges they are written at most once a minute; the state itself at once.
    settle_attributes: bool = False


DESCRIPTIONS: tuple[EvSessionsBinarySensorDescription, ...] = (
    EvSessionsBinarySensorDescription(
        key="plugged_in",
        device_class=BinarySensorDeviceClass.PLUG,
        value_fn=lambda d: d.plugged_in,
        # Without a connection signal, being plugged in cannot be told from charging.
        has_fn=lambda coordinator: coordinator.source.uses_connection,
    ),
    EvSessionsBinarySensorDescription(
        key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        value_fn=lambda d: d.charging,
    ),
    EvSessionsBinarySensorDescription(
        key="charge_now",
        settle_attributes=True,
        value_fn=lambda d: d.charge_now,
        attributes_fn=lambda d: {
            "slots": _slots(d.plan),
            "departure": _local(d.departure),
            "departure_source": d.departure_source,
            "target_kwh": round(d.target_kwh, 2),
            "target_source": d.target_source,
        },
    ),
    EvSessionsBinarySensorDescription(
        key="target_at_risk",
        settle_attributes=True,
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda d: bool(d.plan and d.plan.falls_short),
        attributes_fn=lambda d: (
            {
                # To 10 Wh and 10 W: finer changes at every reading would each be a write.
                "shortfall_kwh": round(d.plan.shortfall_kwh, 2),
                "planned_power_kw": round(d.plan.power_kw, 2),
                "departure": _local(d.departure),
            }
            if d.plan
            else None
        ),
    ),
    EvSessionsBinarySensorDescription(
        key="overload",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda d: bool(d.guard and d.guard.overload),
        has_fn=lambda coordinator: coordinator.guard is not None,
    ),
    EvSessionsBinarySensorDescription(
        key="under_delivering",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda d: d.delivery.under_delivering,
        attributes_fn=lambda d: {
            "reason": d.delivery.reason,
            "expected_power_w": round(d.delivery.expected_w),
        },
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvSessionsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the binary sensors of one wallbox."""
    coordinator = entry.runtime_data
    async_add_entities(
        EvSessionsBinarySensor(coordinator, description)
        for description in DESCRIPTIONS
        if description.has_fn(coordinator)
    )


class EvSessionsBinarySensor(EvSessionsEntity, BinarySensorEntity):
    """A binary sensor fed by the coordinator's snapshot."""

    entity_description: EvSessionsBinarySensorDescription
    _follows_reads = True

    def __init__(
        self, coordinator: EvSessionsCoordinator, description: EvSessionsBinarySensorDescription
    ) -> None:
        """A yes/no sensor of the wallbox's device."""
        super().__init__(coordinator, description)
        self._settles = SETTLE_ATTRIBUTES if description.settle_attributes else None

    @property
    def is_on(self) -> bool:
        """The sensor's state."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Why, where it says."""
        return cast(
            "dict[str, Any] | None",
            self._once_per_snapshot(
                lambda: self.entity_description.attributes_fn(self.coordinator.data)
            ),
        )

    def _showing(self) -> tuple[Any, ...]:
        """What a write would show."""
        if not self.available:
            return (False,)
        return (True, self.is_on, self.extra_state_attributes)

    def _state_now(self) -> Any:
        """On or off, as ``_showing`` has it."""
        return self.is_on
