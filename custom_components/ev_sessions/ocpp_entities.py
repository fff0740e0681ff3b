"""The device page of an OCPP charge point: its controls and what it reports.

Charging on/off (remote start and stop), availability, reset and unlock; the user of the
transaction under way, the connector status, the error code, the firmware and when it was last
heard. Created for sources with Capability.COMMANDS only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory

from .coordinator import EvSessionsCoordinator
from .entity import EvSessionsEntity
from .sources.base import (
    Capability,
    ChargePointCommands,
    ChargePointFacts,
    SourceError,
    command_failed,
)


def has_commands(coordinator: EvSessionsCoordinator) -> bool:
    """Whether the wallbox is an OCPP charge point (takes commands)."""
    return Capability.COMMANDS in coordinator.source.capabilities


class OcppEntity(EvSessionsEntity):
    """An entity of a charge point that takes commands."""

    @property
    def _charge_point(self) -> ChargePointCommands:
        return cast(ChargePointCommands, self.coordinator.source)

    @property
    def _facts(self) -> ChargePointFacts:
        """What the charge point reported, as of the last snapshot (last heard to the minute).

        OCPP entities exist for charge points alone, whose snapshots always carry this.
        """
        facts = self.coordinator.data.charge_point
        assert facts is not None
        return facts

    async def _command(self, command: str) -> None:
        """Send a command; a refusal or a box away is a translated error."""
        try:
            await self._charge_point.async_command(command)
        except SourceError as err:
            raise command_failed(err, self.coordinator.config_entry.title) from err


@dataclass(frozen=True, kw_only=True)
class OcppSensorDescription(SensorEntityDescription):
    """A sensor of what the charge point reports."""

    value_fn: Callable[[ChargePointFacts], str | datetime | None]


SENSORS: tuple[OcppSensorDescription, ...] = (
    OcppSensorDescription(
        key="current_user",
        value_fn=lambda facts: facts.user,
    ),
    OcppSensorDescription(
        key="connector_status",
        value_fn=lambda facts: facts.status,
    ),
    OcppSensorDescription(
        key="error_code",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda facts: facts.error_code,
    ),
    OcppSensorDescription(
        key="firmware",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda facts: facts.firmware,
    ),
    OcppSensorDescription(
        key="last_heard",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        # To the minute (the snapshot has it so): to the second it was a row in the
        # database for every message.
        value_fn=lambda facts: facts.last_message,
    ),
)


class OcppSensor(OcppEntity, SensorEntity):
    """What the charge point reports."""

    entity_description: OcppSensorDescription
    _follows_reads = True  # from the snapshot's charge point facts alone

    @property
    def native_value(self) -> str | datetime | None:
        """The reported value."""
        return self.entity_description.value_fn(self._facts)

    def _showing(self) -> tuple[Any, ...]:
        return (self.available, self.native_value)


class OcppTransactionSwitch(OcppEntity, SwitchEntity):
    """On while a transaction runs; on starts one remotely, off stops it."""

    _follows_reads = True

    def __init__(self, coordinator: EvSessionsCoordinator) -> None:
        """The charge point's transaction."""
        super().__init__(coordinator, SwitchEntityDescription(key="transaction"))

    @property
    def is_on(self) -> bool:
        """Whether a transaction runs."""
        return self._facts.transaction

    async def async_turn_on(self, **kwargs: Any) -> None:
        """RemoteStartTransaction (with the last user's tag)."""
        await self._command("start_transaction")

    async def async_turn_off(self, **kwargs: Any) -> None:
        """RemoteStopTransaction."""
        await self._command("stop_transaction")


class OcppAvailabilitySwitch(OcppEntity, SwitchEntity):
    """On while the charge point is operative; off takes it out of service."""

    _attr_entity_category = EntityCategory.CONFIG
    _follows_reads = True

    def __init__(self, coordinator: EvSessionsCoordinator) -> None:
        """The charge point's availability."""
        super().__init__(coordinator, SwitchEntityDescription(key="operative"))

    @property
    def is_on(self) -> bool:
        """Whether the connector is not Unavailable."""
        return self._facts.status != "Unavailable"

    async def async_turn_on(self, **kwargs: Any) -> None:
        """ChangeAvailability Operative."""
        await self._command("set_available")

    async def async_turn_off(self, **kwargs: Any) -> None:
        """ChangeAvailability Inoperative."""
        await self._command("set_unavailable")


BUTTONS = {"reset": "soft_reset", "unlock": "unlock_connector"}


class OcppButton(OcppEntity, ButtonEntity):
    """Reset the charge point, or release the cable."""

    _attr_entity_category = EntityCategory.CONFIG
    _follows_reads = True  # shows when it was last pressed: no snapshot changes that

    async def async_press(self) -> None:
        """Send the button's command."""
        await self._command(BUTTONS[self.entity_description.key])


def ocpp_sensors(coordinator: EvSessionsCoordinator) -> list[OcppSensor]:
    """The charge point's sensors (none for other wallboxes)."""
    if not has_commands(coordinator):
        return []
    return [OcppSensor(coordinator, description) for description in SENSORS]


def ocpp_switches(coordinator: EvSessionsCoordinator) -> list[SwitchEntity]:
    """The charge point's switches (none for other wallboxes)."""
    if not has_commands(coordinator):
        return []
    return [OcppTransactionSwitch(coordinator), OcppAvailabilitySwitch(coordinator)]


def ocpp_buttons(coordinator: EvSessionsCoordinator) -> list[OcppButton]:
    """The charge point's buttons (none for other wallboxes)."""
    if not has_commands(coordinator):
        return []
    return [OcppButton(coordinator, ButtonEntityDescription(key=key)) for key in BUTTONS]
