"""Charging mode preference of EV Sessions."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CHARGING_MODES, CONF_CHARGING_MODE, MODE_IMMEDIATE
from .coordinator import EvSessionsConfigEntry
from .entity import EvSessionsEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvSessionsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the charging mode select."""
    async_add_entities(
        [ChargingModeSelect(entry.runtime_data, SelectEntityDescription(key="charging_mode"))]
    )


class ChargingModeSelect(EvSessionsEntity, SelectEntity):
    """Charge at once, or in the cheapest hours before departure."""

    _attr_options = list(CHARGING_MODES)
    _follows_reads = True  # the options alone
    _attr_entity_category = EntityCategory.CONFIG

    @property
    def current_option(self) -> str:
        """The stored mode."""
        return str(self.coordinator.config_entry.options.get(CONF_CHARGING_MODE, MODE_IMMEDIATE))

    async def async_select_option(self, option: str) -> None:
        """Store a new mode."""
        self.coordinator.set_preference(CONF_CHARGING_MODE, option)
