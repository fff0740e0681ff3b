"""Preference numbers of EV Sessions: target energy and maximum power."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import (
    CONF_MAX_CURRENT_A,
    CONF_MAX_POWER_KW,
    CONF_TARGET_ENERGY_KWH,
    CONF_TARGET_SOC,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_TARGET_ENERGY_KWH,
)
from .coordinator import EvSessionsConfigEntry, EvSessionsCoordinator
from .entity import EvSessionsEntity
from .ocpp_entities import has_commands

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PreferenceNumberDescription(NumberEntityDescription):
    """A number stored as an option of the entry."""

    option: str
    default: float | None
    has_fn: Callable[[EvSessionsCoordinator], bool] = lambda _: True


DESCRIPTIONS: tuple[PreferenceNumberDescription, ...] = (
    PreferenceNumberDescription(
        key="target_energy",
        option=CONF_TARGET_ENERGY_KWH,
        default=DEFAULT_TARGET_ENERGY_KWH,
        device_class=NumberDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        native_min_value=0,
        native_max_value=200,
        native_step=0.5,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
    ),
    PreferenceNumberDescription(
        key="max_power",
        option=CONF_MAX_POWER_KW,
        default=DEFAULT_MAX_POWER_KW,
        device_class=NumberDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        native_min_value=1.0,
        native_max_value=50.0,
        native_step=0.1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
    ),
    PreferenceNumberDescription(
        key="max_current",
        option=CONF_MAX_CURRENT_A,
        default=32.0,
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_min_value=6,
        native_max_value=80,
        native_step=1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        has_fn=has_commands,
    ),
    PreferenceNumberDescription(
        key="target_soc",
        option=CONF_TARGET_SOC,
        default=None,
        device_class=NumberDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        native_min_value=1,
        native_max_value=100,
        native_step=1,
        mode=NumberMode.SLIDER,
        entity_category=EntityCategory.CONFIG,
        has_fn=lambda coordinator: coordinator.source.has_soc,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvSessionsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the preference numbers."""
    coordinator = entry.runtime_data
    async_add_entities(
        PreferenceNumber(coordinator, description)
        for description in DESCRIPTIONS
        if description.has_fn(coordinator)
    )


class PreferenceNumber(EvSessionsEntity, NumberEntity):
    """A preference number."""

    entity_description: PreferenceNumberDescription
    _follows_reads = True  # the options and the snapshot

    @property
    def native_value(self) -> float | None:
        """The preference in force (for the target: set, else learned, else default)."""
        description = self.entity_description
        if description.option == CONF_TARGET_ENERGY_KWH:
            return self.coordinator.data.target_kwh
        value = self.coordinator.config_entry.options.get(description.option, description.default)
        return None if value is None else float(value)

    @property
    def extra_state_attributes(self) -> dict[str, str] | None:
        """Whether the target was set or learned."""
        if self.entity_description.option == CONF_TARGET_ENERGY_KWH:
            return {"source": self.coordinator.data.target_source}
        return None

    async def async_set_native_value(self, value: float) -> None:
        """Store a new preference."""
        self.coordinator.set_preference(self.entity_description.option, value)
