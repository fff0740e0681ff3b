"""One-off next departure of EV Sessions: overrides the daily departure once."""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.datetime import DateTimeEntity, DateTimeEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import CONF_NEXT_DEPARTURE
from .coordinator import EvSessionsConfigEntry
from .entity import EvSessionsEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvSessionsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the one-off departure."""
    async_add_entities(
        [NextDeparture(entry.runtime_data, DateTimeEntityDescription(key="next_departure"))]
    )


class NextDeparture(EvSessionsEntity, DateTimeEntity):
    """A date and time the car must be ready by, once (e.g. "Monday 07:00")."""

    _attr_entity_category = EntityCategory.CONFIG

    _follows_reads = True

    @property
    def native_value(self) -> datetime | None:
        """The one-off departure while it lies ahead."""
        return self.coordinator.data.one_off_departure

    async def async_set_value(self, value: datetime) -> None:
        """Store a one-off departure."""
        self.coordinator.set_preference(CONF_NEXT_DEPARTURE, dt_util.as_utc(value).isoformat())
