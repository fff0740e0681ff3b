"""Switches: smart charging, single-phase charging, the simulated car's plug (by capability)."""

from __future__ import annotations

from typing import Any, cast

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import CONF_SMART_CHARGING
from .coordinator import EvSessionsConfigEntry, EvSessionsCoordinator
from .entity import EvSessionsEntity
from .ocpp_entities import ocpp_switches
from .sources.base import Capability, PhaseSwitching, SimulatedPlug, SourceError, command_failed

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvSessionsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the switches the wallbox's capabilities call for."""
    coordinator = entry.runtime_data
    source = coordinator.source
    capabilities = source.capabilities
    entities: list[SwitchEntity] = []
    if capabilities & {Capability.START_STOP, Capability.CURRENT_LIMIT}:
        entities.append(
            SmartChargingSwitch(coordinator, SwitchEntityDescription(key="smart_charging"))
        )
    if Capability.PHASE_SWITCH in capabilities:
        entities.append(SinglePhaseSwitch(coordinator, cast(PhaseSwitching, source)))
    if Capability.SIMULATED_PLUG in capabilities:
        entities.append(SimulatedCarPlug(coordinator, cast(SimulatedPlug, source)))
    entities.extend(ocpp_switches(coordinator))
    async_add_entities(entities)


class SmartChargingSwitch(EvSessionsEntity, SwitchEntity):
    """On: EV Sessions starts and stops the wallbox by the plan."""

    _follows_reads = True  # the options alone

    @property
    def is_on(self) -> bool:
        """Whether smart charging is on."""
        return self.coordinator.smart_charging

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Let the plan drive the wallbox."""
        self.coordinator.set_preference(CONF_SMART_CHARGING, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Leave the wallbox alone."""
        self.coordinator.set_preference(CONF_SMART_CHARGING, False)


class SinglePhaseSwitch(EvSessionsEntity, SwitchEntity):
    """On: the wallbox charges on one phase (for small surplus or a weak connection)."""

    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, coordinator: EvSessionsCoordinator, source: PhaseSwitching) -> None:
        """Switch the charger's phases."""
        super().__init__(coordinator, SwitchEntityDescription(key="single_phase"))
        self._source = source

    @property
    def is_on(self) -> bool | None:
        """Whether charging is forced onto one phase."""
        return self._source.single_phase()

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Charge on one phase."""
        await self._switch(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Charge on three phases."""
        await self._switch(False)

    async def _switch(self, single: bool) -> None:
        try:
            await self._source.async_set_single_phase(single)
        except SourceError as err:
            raise command_failed(err, self.coordinator.config_entry.title) from err
        self.async_write_ha_state()  # the charger took it; the next poll confirms it
        await self.coordinator.async_request_refresh()


class SimulatedCarPlug(EvSessionsEntity, SwitchEntity):
    """On while the simulated car is plugged in."""

    def __init__(self, coordinator: EvSessionsCoordinator, source: SimulatedPlug) -> None:
        """Drive the simulated wallbox."""
        super().__init__(coordinator, SwitchEntityDescription(key="simulated_car_plugged_in"))
        self._source = source

    @property
    def is_on(self) -> bool:
        """Whether the simulated car is plugged in."""
        return self._source.plugged_in

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Plug the simulated car in."""
        self._source.set_plugged_in(True, dt_util.utcnow())

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Unplug the simulated car."""
        self._source.set_plugged_in(False, dt_util.utcnow())
