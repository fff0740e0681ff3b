"""Switch of the simulated wallbox: plug the simulated car in and out."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .coordinator import EvSessionsConfigEntry, EvSessionsCoordinator
from .entity import EvSessionsEntity
from .sources.simulator import SimulatorSource

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvSessionsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the simulator's plug switch (only for the simulated wallbox)."""
    coordinator = entry.runtime_data
    if isinstance(coordinator.source, SimulatorSource):
        async_add_entities([SimulatedCarPlug(coordinator, coordinator.source)])


class SimulatedCarPlug(EvSessionsEntity, SwitchEntity):
    """On while the simulated car is plugged in."""

    def __init__(self, coordinator: EvSessionsCoordinator, source: SimulatorSource) -> None:
        """Drive the simulated wallbox."""
        super().__init__(coordinator, SwitchEntityDescription(key="simulated_car_plugged_in"))
        self._source = source

    @property
    def is_on(self) -> bool:
        """Whether the simulated car is plugged in."""
        return self._source.wallbox.connected

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Plug the simulated car in."""
        self._source.set_plugged_in(True, dt_util.utcnow())

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Unplug the simulated car."""
        self._source.set_plugged_in(False, dt_util.utcnow())
