"""Base entity of EV Sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import EvSessionsCoordinator

# Long attributes that change with the plan or the session: shown, never recorded.
UNRECORDED = frozenset({"slots", "breakdown", "cost_breakdown"})


class EvSessionsEntity(CoordinatorEntity[EvSessionsCoordinator]):
    """An entity of one wallbox's device, with unique id ``{entry_id}_{key}``.

    A snapshot that leaves what the entity shows (availability, state, attributes, unit)
    unchanged writes nothing: most readings change a handful of a wallbox's entities.
    """

    _attr_has_entity_name = True
    _unrecorded_attributes = UNRECORDED
    _shown: tuple[Any, ...] | None = None
    _attributes_of: tuple[object, Any] | None = None  # (snapshot, its attributes)

    def __init__(self, coordinator: EvSessionsCoordinator, description: EntityDescription) -> None:
        """Attach to the wallbox's device; the key names and translates the entity."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.config_entry.entry_id}_{description.key}"
        self._attr_translation_key = description.key
        self._attr_device_info = coordinator.device_info

    def _once_per_snapshot(self, compute: Callable[[], Any]) -> Any:
        """Attributes worked out once per snapshot (the comparison and the write share them)."""
        data = self.coordinator.data
        known = self._attributes_of
        if known is not None and known[0] is data:
            return known[1]
        value = compute()
        self._attributes_of = (data, value)
        return value

    def _showing(self) -> tuple[Any, ...]:
        """What a write would show."""
        if not self.available:
            return (False,)
        return (
            True,
            self.state,
            self.state_attributes,
            self.extra_state_attributes,
            self.unit_of_measurement,
        )

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when what it shows changed."""
        showing = self._showing()
        if showing == self._shown:
            return
        super().async_write_ha_state()
        self._shown = showing

    @callback
    def async_write_ha_state(self) -> None:
        """Write (after a command, say): the next snapshot is compared afresh."""
        self._shown = None
        super().async_write_ha_state()
