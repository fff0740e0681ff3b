"""Base entity of EV Sessions."""

from __future__ import annotations

from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import EvSessionsCoordinator


class EvSessionsEntity(CoordinatorEntity[EvSessionsCoordinator]):
    """An entity of one wallbox's device, with unique id ``{entry_id}_{key}``."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: EvSessionsCoordinator, description: EntityDescription) -> None:
        """Attach to the wallbox's device; the key names and translates the entity."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.config_entry.entry_id}_{description.key}"
        self._attr_translation_key = description.key
        self._attr_device_info = coordinator.device_info
