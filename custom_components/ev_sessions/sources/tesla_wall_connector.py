"""Tesla Wall Connector (gen 3), read from its local API (read-only).

Sessions come from ``vehicle_connected`` and ``contactor_closed``/current, never from
``evse_state``: three published meanings of that number disagree. The firmware sometimes
answers with invalid JSON (a bare ``nan``, a missing brace); such a poll is unavailable,
never zero energy.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..model.reading import Reading
from ..model.units import parse_number
from .base import Capability, DeviceFacts, PushCallback, text
from .http import Identity, async_get_json

PHASES = ("A", "B", "C")
MIN_PHASE_CURRENT_A = 1.0


def vitals_reading(
    now: datetime, vitals: Mapping[str, Any], lifetime: Mapping[str, Any]
) -> Reading:
    """A reading from /api/1/vitals and /api/1/lifetime."""
    connected = vitals.get("vehicle_connected")
    contactor = vitals.get("contactor_closed")
    currents = [parse_number(vitals.get(f"current{phase}_a")) for phase in PHASES]
    voltages = [parse_number(vitals.get(f"voltage{phase}_v")) for phase in PHASES]
    power = None
    phases = None
    if contactor is False:
        power = 0.0
    elif contactor is True and all(c is not None for c in currents):
        live = [
            (current or 0.0) * (voltage or 230.0)
            for current, voltage in zip(currents, voltages, strict=True)
            if (current or 0.0) >= MIN_PHASE_CURRENT_A
        ]
        power = sum(live)
        phases = len(live) or None
    energy_wh = parse_number(lifetime.get("energy_wh"))
    return Reading(
        time=now,
        power_w=power,
        energy_kwh=None if energy_wh is None else energy_wh / 1000,
        connected=connected if isinstance(connected, bool) else None,
        charging=None if power is None else power > 0,
        phases=phases,
        currents_a=None
        if contactor is not True or any(c is None for c in currents)
        else tuple(max(0.0, c or 0.0) for c in currents),
    )


def version_facts(host: str, version: Mapping[str, Any]) -> DeviceFacts:
    """The device from /api/1/version."""
    return DeviceFacts(
        manufacturer="Tesla",
        model="Wall Connector (gen 3)",
        sw_version=text(version.get("firmware_version")),
        hw_version=text(version.get("part_number")),
        serial_number=text(version.get("serial_number")),
        configuration_url=f"http://{host}",
    )


class TeslaWallConnectorSource:
    """Polled every 10 s while charging, every 30 s otherwise."""

    uses_connection = True
    has_register = True
    has_soc = False
    capabilities: frozenset[Capability] = frozenset()  # read-only
    plausible_power_w = 25_000.0
    charger_phases: int | None = None
    max_power_w: float | None = None

    def __init__(self, hass: HomeAssistant, data: Mapping[str, Any]) -> None:
        """Talk to the wall connector at the entry's host."""
        self._session = async_get_clientsession(hass)
        self.host = str(data[CONF_HOST])
        self.poll_interval = timedelta(seconds=30)
        self._identity = Identity(
            lambda: async_get_json(self._session, self.host, "/api/1/version"),
            lambda version: version_facts(self.host, version),
        )

    def device(self) -> DeviceFacts:
        """Tesla's Wall Connector, with the firmware, part and serial it reports."""
        return self._identity.facts

    async def async_start(self, push: PushCallback) -> None:
        """Nothing to start: the wall connector is polled."""

    async def async_stop(self) -> None:
        """Nothing to stop."""

    async def async_poll(self, now: datetime) -> Reading:
        """Read vitals and the lifetime energy register (and, when due, the version)."""
        vitals, lifetime = await self._identity.async_read(self._read)
        reading = vitals_reading(now, vitals, lifetime)
        self.poll_interval = timedelta(seconds=10 if reading.charging else 30)
        return reading

    async def _read(self) -> tuple[dict[str, Any], dict[str, Any]]:
        vitals = await async_get_json(self._session, self.host, "/api/1/vitals")
        lifetime = await async_get_json(self._session, self.host, "/api/1/lifetime")
        return vitals, lifetime

    def offered_current_a(self) -> float | None:
        """Not published by the local API."""
        return None

    def charging_enabled(self) -> bool | None:
        """Not controllable."""
        return None

    async def async_set_charging(self, enabled: bool) -> None:
        """The local API is read-only."""

    async def async_set_current_limit(self, amps: float) -> None:
        """The local API is read-only."""

    def as_dict(self) -> dict[str, Any]:
        """Nothing to keep."""
        return {}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Nothing to take back."""

    def diagnostics(self) -> dict[str, Any]:
        """The polling rhythm."""
        return {"poll_interval_s": self.poll_interval.total_seconds()}


def create(hass: HomeAssistant, data: Mapping[str, Any]) -> TeslaWallConnectorSource:
    """Build the source from config entry data."""
    return TeslaWallConnectorSource(hass, data)
