"""Binary sensors of EV Sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EvSessionsConfigEntry, EvSessionsData
from .entity import EvSessionsEntity
from .sources import Source

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvSessionsBinarySensorDescription(BinarySensorEntityDescription):
    """Describes an EV Sessions binary sensor."""

    value_fn: Callable[[EvSessionsData], bool]
    has_fn: Callable[[Source], bool] = lambda _: True


DESCRIPTIONS: tuple[EvSessionsBinarySensorDescription, ...] = (
    EvSessionsBinarySensorDescription(
        key="plugged_in",
        device_class=BinarySensorDeviceClass.PLUG,
        value_fn=lambda d: d.plugged_in,
        # Without a connection signal, being plugged in cannot be told from charging.
        has_fn=lambda source: source.uses_connection,
    ),
    EvSessionsBinarySensorDescription(
        key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        value_fn=lambda d: d.charging,
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
        if description.has_fn(coordinator.source)
    )


class EvSessionsBinarySensor(EvSessionsEntity, BinarySensorEntity):
    """A binary sensor fed by the coordinator's snapshot."""

    entity_description: EvSessionsBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """The sensor's state."""
        return self.entity_description.value_fn(self.coordinator.data)
