"""Departure time preference of EV Sessions."""

from __future__ import annotations

from datetime import time

from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import (
    CONF_DEPARTURE_TIME,
    DEFAULT_DEPARTURE_TIME,
    SOURCE_DEFAULT,
    SOURCE_LEARNED,
    SOURCE_SET,
)
from .coordinator import EvSessionsConfigEntry
from .entity import EvSessionsEntity
from .model.habits import WEEKDAYS

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

    @property
    def native_value(self) -> time:
        """The daily departure in force: set, else learned for today, else the default."""
        options = self.coordinator.config_entry.options
        if options.get(CONF_DEPARTURE_TIME):
            return time.fromisoformat(str(options[CONF_DEPARTURE_TIME]))
        habits = self.coordinator.data.habits
        if habits is not None and habits.unplug:
            return habits.unplug[WEEKDAYS[dt_util.now().weekday()]]
        return time.fromisoformat(DEFAULT_DEPARTURE_TIME)

    @property
    def extra_state_attributes(self) -> dict[str, str]:
        """Whether the departure time was set or learned."""
        options = self.coordinator.config_entry.options
        if options.get(CONF_DEPARTURE_TIME):
            return {"source": SOURCE_SET}
        habits = self.coordinator.data.habits
        return {"source": SOURCE_LEARNED if habits and habits.unplug else SOURCE_DEFAULT}

    async def async_set_value(self, value: time) -> None:
        """Store a new departure time."""
        self.coordinator.set_preference(CONF_DEPARTURE_TIME, value.strftime("%H:%M:%S"))
