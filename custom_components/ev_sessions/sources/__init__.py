"""Wallbox sources: one module per kind, all behind the small `Source` protocol.

Adding a source means one module here (a class with the protocol's members and a
``create`` function registered in ``SOURCE_FACTORIES``) and one config-flow step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from ..const import (
    CONF_SOURCE,
    DOMAIN,
    SOURCE_ENTITIES,
    SOURCE_GOE,
    SOURCE_OCPP,
    SOURCE_OPENEVSE,
    SOURCE_SIMULATOR,
    SOURCE_TESLA_WALL_CONNECTOR,
)
from ..model.reading import Reading

type PushCallback = Callable[[Reading], None]


class SourceError(Exception):
    """The wallbox could not be read."""


def command_failed(err: SourceError) -> HomeAssistantError:
    """The translated error for a command the wallbox refused or did not answer."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="command_failed",
        translation_placeholders={"error": str(err)},
    )


class Source(Protocol):
    """What the coordinator needs from a wallbox."""

    model: str
    poll_interval: timedelta
    uses_connection: bool
    has_register: bool
    has_soc: bool
    can_switch: bool
    can_set_current: bool
    plausible_power_w: float

    @property
    def charger_phases(self) -> int | None:
        """Phases the wallbox charges on, when known."""

    @property
    def max_power_w(self) -> float | None:
        """The wallbox's maximum power, when known."""

    def offered_current_a(self) -> float | None:
        """The current limit set on the wallbox now (A per phase), when known."""

    def charging_enabled(self) -> bool | None:
        """Whether the wallbox's charging switch is on now, when known."""

    async def async_start(self, push: PushCallback) -> None:
        """Begin pushing readings as the wallbox reports them."""

    async def async_stop(self) -> None:
        """Stop pushing readings."""

    async def async_poll(self, now: datetime) -> Reading:
        """Read the wallbox now."""

    async def async_set_charging(self, enabled: bool) -> None:
        """Allow or stop charging."""

    async def async_set_current_limit(self, amps: float) -> None:
        """Set the charging current limit."""

    def as_dict(self) -> dict[str, Any]:
        """State to keep across restarts (empty for a stateless source)."""

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back the state saved by as_dict."""

    def diagnostics(self) -> dict[str, Any]:
        """What a bug report needs to know about the source."""


def create_source(hass: HomeAssistant, data: Mapping[str, Any]) -> Source:
    """Build the source a config entry describes."""
    from . import entities, goe, ocpp, openevse, simulator, tesla_wall_connector  # noqa: PLC0415

    factories: dict[str, Callable[[HomeAssistant, Mapping[str, Any]], Source]] = {
        SOURCE_ENTITIES: entities.create,
        SOURCE_SIMULATOR: simulator.create,
        SOURCE_TESLA_WALL_CONNECTOR: tesla_wall_connector.create,
        SOURCE_GOE: goe.create,
        SOURCE_OPENEVSE: openevse.create,
        SOURCE_OCPP: ocpp.create,
    }
    return factories[data[CONF_SOURCE]](hass, data)
