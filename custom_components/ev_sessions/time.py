"""Departure time preference of EV Sessions."""

from __future__ import annotations

from datetime import time

from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_DEPARTURE_TIME
from .coordinator import EvSessionsConfigEntry
from .entity import EvSessionsEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvSessionsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the departure time."""
    async_add_entities(
        [DepartureTime(entry.runtime_data, TimeEntityDescription(key="departure_time"))]
    )


class DepartureTime(EvSessionsEntity, TimeEntity):
    """The usual local departure time."""

    _attr_entity_category = EntityCategory.CONFIG

    _follows_reads = True

    @property
    def native_value(self) -> time:
        """The daily departure in force: set, else learned for today, else the default."""
        return self.coordinator.data.usual_departure

    @property
    def extra_state_attributes(self) -> dict[str, str]:
        """Whether the departure time was set or learned."""
        return {"source": self.coordinator.data.usual_departure_source}

    async def async_set_value(self, value: time) -> None:
        """Store a new departure time."""
        self.coordinator.set_preference(CONF_DEPARTURE_TIME, value.strftime("%H:%M:%S"))
