"""What the coordinator and the platforms know of a wallbox: the `Source` protocol.

A source reads one kind of wallbox and, where it can, drives it. Besides the members every
source has, a source declares its optional abilities in ``capabilities``; each ability comes
with the narrow protocol that a platform or an action uses once it has checked for it, so no
platform ever imports a concrete source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from homeassistant.exceptions import HomeAssistantError

from ..const import DOMAIN
from ..model.reading import Reading

type PushCallback = Callable[[Reading], None]


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What a wallbox says about itself, for its device (None: it has not said)."""

    manufacturer: str | None = None
    model: str | None = None
    sw_version: str | None = None
    hw_version: str | None = None
    serial_number: str | None = None
    configuration_url: str | None = None


def text(value: Any) -> str | None:
    """A reported value as text for a device field (None when empty or not a scalar)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value).strip() or None


SOURCE_ERROR_REASONS = (
    "unreachable",
    "invalid_answer",
    "auth_failed",
    "not_connected",
    "no_answer",
    "refused",
    "no_transaction",
    "port_in_use",
    "certificate",
    "already_served",
)


class SourceError(Exception):
    """The wallbox could not be read or did not do what it was asked.

    ``reason`` (one of SOURCE_ERROR_REASONS) picks the translated message, ``details`` fill
    its placeholders (``name``: the host or charge point id; ``answer``; ``port``); the text
    is for the log.
    """

    def __init__(self, message: str, reason: str = "unreachable", **details: str) -> None:
        """Keep the reason and the details."""
        super().__init__(message)
        self.reason = reason
        self.details = details

    def placeholders(self, name: str) -> dict[str, str]:
        """The message's placeholders; ``name`` (the entry's title) unless the error has one."""
        return {"name": name, "answer": "", "port": "", **self.details}


def command_failed(err: SourceError, name: str) -> HomeAssistantError:
    """The translated error for a command the wallbox refused or did not answer."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=f"command_{err.reason}",
        translation_placeholders=err.placeholders(name),
    )


class Capability(StrEnum):
    """What a wallbox can be asked to do, beyond being read."""

    START_STOP = "start_stop"  # async_set_charging
    CURRENT_LIMIT = "current_limit"  # async_set_current_limit
    PHASE_SWITCH = "phase_switch"  # PhaseSwitching
    SIMULATED_PLUG = "simulated_plug"  # SimulatedPlug
    COMMANDS = "commands"  # ChargePointCommands (OCPP)
    USERS = "users"  # KnowsUsers (id tags of a shared charger)
    ASKS_TO_SAVE = "asks_to_save"  # AsksToSave (state of its own that must be written soon)


class Source(Protocol):
    """What the coordinator needs from a wallbox."""

    poll_interval: timedelta
    uses_connection: bool
    has_register: bool
    has_soc: bool
    plausible_power_w: float

    def device(self) -> DeviceFacts:
        """What the wallbox is, as far as it has said (may change when it says more)."""

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the wallbox can be asked to do (may grow once it has been read)."""

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


class PhaseSwitching(Protocol):
    """Capability.PHASE_SWITCH: charging forced onto one phase or allowed on three."""

    def single_phase(self) -> bool | None:
        """Whether charging is forced onto one phase (None: unknown)."""

    async def async_set_single_phase(self, single: bool) -> None:
        """Force charging onto one phase, or let it use three again."""


class SimulatedPlug(Protocol):
    """Capability.SIMULATED_PLUG: a pretend car plugged in and out from the UI."""

    @property
    def plugged_in(self) -> bool:
        """Whether the simulated car is plugged in."""

    def set_plugged_in(self, plugged_in: bool, now: datetime) -> None:
        """Plug the simulated car in or out, and report it at once."""


@dataclass(frozen=True, slots=True)
class ChargePointFacts:
    """What a charge point (OCPP) reports beyond the session: for its device page."""

    status: str | None  # the followed connector's status, as the protocol names it
    error_code: str | None
    user: str | None  # the user (or bare tag) of the transaction under way
    transaction: bool
    last_message: datetime | None
    firmware: str | None = None  # as the charge point booted


class ChargePointCommands(Protocol):
    """Capability.COMMANDS: commands sent to the charge point, answered by it."""

    async def async_command(self, command: str, id_tag: str | None = None) -> str:
        """Send a command; return the charge point's answer (e.g. Accepted)."""

    def facts(self) -> ChargePointFacts:
        """Status, error, user, last contact (to the minute) and firmware of the charge point."""


class AsksToSave(Protocol):
    """Capability.ASKS_TO_SAVE: the source asks for the state to be written soon.

    OCPP: the messages the reorder window holds, so that a crash before they apply loses
    nothing.
    """

    request_save: Callable[[], None] | None


class KnowsUsers(Protocol):
    """Capability.USERS: the users (id tags) of a shared charger, changed without a reload."""

    def set_users(self, options: Mapping[str, Any]) -> None:
        """Take the users from the entry's options."""
