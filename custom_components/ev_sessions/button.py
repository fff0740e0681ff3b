"""Buttons: an OCPP charge point's reset and unlock."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EvSessionsConfigEntry
from .ocpp_entities import ocpp_buttons

PARALLEL_UPDATES = 1  # one command at a time to a charge point


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvSessionsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the buttons of an OCPP charge point."""
    async_add_entities(ocpp_buttons(entry.runtime_data))
