"""A simulated wallbox and car, so that everything can be tried without one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant

from ..const import (
    CONF_BATTERY_CAPACITY_KWH,
    CONF_MAX_POWER_KW,
    CONF_PHASES,
    DEFAULT_BATTERY_CAPACITY_KWH,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_PHASES,
)
from ..model.reading import Reading
from ..model.simulator import SimulatedWallbox
from .base import Capability, DeviceFacts, PushCallback

_KEPT = (
    "current_limit_a",
    "charging_enabled",
    "connected",
    "soc",
    "register_kwh",
    "plug_ins",
    "car_phases",
)


class SimulatorSource:
    """The simulated wallbox, polled every 10 seconds, plugged and unplugged from the UI."""

    poll_interval = timedelta(seconds=10)
    uses_connection = True
    has_register = True
    has_soc = True
    capabilities = frozenset(
        {Capability.START_STOP, Capability.CURRENT_LIMIT, Capability.SIMULATED_PLUG}
    )

    def device(self) -> DeviceFacts:
        """EV Sessions' own simulated wallbox."""
        return DeviceFacts(manufacturer="EV Sessions", model="Simulated wallbox")

    def __init__(self, data: Mapping[str, Any]) -> None:
        """Build the wallbox from the entry's settings."""
        self.wallbox = SimulatedWallbox(
            max_power_kw=float(data.get(CONF_MAX_POWER_KW, DEFAULT_MAX_POWER_KW)),
            phases=int(data.get(CONF_PHASES, DEFAULT_PHASES)),
            battery_capacity_kwh=float(
                data.get(CONF_BATTERY_CAPACITY_KWH, DEFAULT_BATTERY_CAPACITY_KWH)
            ),
        )
        self.plausible_power_w = self.wallbox.max_power_kw * 1000.0 * 1.5
        self.charger_phases: int | None = self.wallbox.phases
        self.max_power_w: float | None = self.wallbox.max_power_kw * 1000.0
        self._push: PushCallback = lambda _reading: None

    async def async_start(self, push: PushCallback) -> None:
        """Remember where to push readings when the car is plugged or unplugged."""
        self._push = push

    async def async_stop(self) -> None:
        """Stop pushing."""
        self._push = lambda _reading: None

    async def async_poll(self, now: datetime) -> Reading:
        """What the wallbox reports now."""
        return self.wallbox.reading(now)

    @property
    def plugged_in(self) -> bool:
        """Whether the simulated car is plugged in."""
        return self.wallbox.connected

    def set_plugged_in(self, plugged_in: bool, now: datetime) -> None:
        """Plug the simulated car in or out, and report it at once."""
        if plugged_in:
            self.wallbox.plug_in(now)
        else:
            self.wallbox.unplug(now)
        self._push(self.wallbox.reading(now))

    def offered_current_a(self) -> float:
        """The current limit set on the simulated wallbox."""
        return self.wallbox.current_limit_a

    def charging_enabled(self) -> bool:
        """Whether the simulated wallbox lets the car charge."""
        return self.wallbox.charging_enabled

    async def async_set_charging(self, enabled: bool) -> None:
        """Allow or stop charging."""
        self.wallbox.charging_enabled = enabled

    async def async_set_current_limit(self, amps: float) -> None:
        """Set the current limit (A)."""
        self.wallbox.current_limit_a = amps

    def as_dict(self) -> dict[str, Any]:
        """The car and wallbox state, kept across restarts."""
        state = asdict(self.wallbox)
        return {key: state[key] for key in _KEPT}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back the car and wallbox state."""
        for key in set(_KEPT) & data.keys():
            setattr(self.wallbox, key, data[key])

    def diagnostics(self) -> dict[str, Any]:
        """The whole simulated state."""
        state = asdict(self.wallbox)
        state["time"] = None if self.wallbox.time is None else self.wallbox.time.isoformat()
        return state


def create(hass: HomeAssistant, data: Mapping[str, Any]) -> SimulatorSource:
    """Build the source from config entry data."""
    return SimulatorSource(data)
