"""OpenEVSE (WiFi gateway firmware 2.x-5.x), through its HTTP API (``/status``, ``/config``).

Units differ by firmware: ``power`` (W) exists from 4.2.2, before it is voltage x ``amp``
(mA in some firmware, A in others); the lifetime register is ``total_energy`` (kWh) in new
firmware, ``watthour`` (Wh) before. ``vehicle`` is the plug flag: state 254 (sleeping) with
vehicle 1 means plugged in. ``vehicle_soc`` is there only when the OpenEVSE gets it from the car
(MQTT or the Tesla API). Control goes through the claims API: EV Sessions holds one claim
(``state`` active or disabled, ``charge_current``) as client 65540, and posts it whole each time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..model.reading import Reading
from ..model.units import parse_number
from .base import Capability, DeviceFacts, PushCallback, text
from .http import AuthHeaders, Identity, async_get_json, async_request_json, basic_auth

CLAIM_CLIENT = 65540
STATE_CHARGING = 3
ERROR_STATES = frozenset(range(4, 12))
DISABLED_STATES = frozenset({254, 255})


def credentials(data: Mapping[str, Any]) -> AuthHeaders | None:
    """HTTP basic auth when the entry has a username."""
    username = data.get(CONF_USERNAME)
    if not username:
        return None
    return basic_auth(str(username), str(data.get(CONF_PASSWORD) or ""))


def status_reading(now: datetime, status: Mapping[str, Any]) -> Reading:
    """A reading from ``/status`` (or a merged websocket update)."""
    state = status.get("state")
    vehicle = status.get("vehicle")
    power = parse_number(status.get("power"))
    if power is None:
        amp = parse_number(status.get("amp"))
        voltage = parse_number(status.get("voltage"))
        if amp is not None and voltage is not None:
            power = voltage * (amp / 1000 if amp > 100 else amp)
    total_kwh = parse_number(status.get("total_energy"))
    watthour = parse_number(status.get("watthour", status.get("wh")))
    energy = total_kwh if total_kwh is not None else None if watthour is None else watthour / 1000
    soc = parse_number(status.get("vehicle_soc"))
    if isinstance(vehicle, int) and not isinstance(vehicle, bool):
        connected: bool | None = vehicle == 1
    elif isinstance(state, int):
        connected = state in (2, STATE_CHARGING)
    else:
        connected = None
    return Reading(
        time=now,
        power_w=None if power is None else max(0.0, power),
        energy_kwh=energy,
        connected=connected,
        charging=state == STATE_CHARGING if isinstance(state, int) else None,
        error=isinstance(state, int) and state in ERROR_STATES,
        soc=soc if soc is not None and 0 < soc <= 100 else None,
    )


def config_facts(host: str, config: Mapping[str, Any]) -> DeviceFacts:
    """The device from /config: the Wi-Fi gateway's version and serial, the EVSE firmware."""
    controller = text(config.get("firmware"))
    return DeviceFacts(
        manufacturer="OpenEVSE",
        model="OpenEVSE",
        sw_version=text(config.get("version")),
        hw_version=None if controller is None else f"EVSE controller {controller}",
        serial_number=text(config.get("wifi_serial")),
        configuration_url=f"http://{host}",
    )


class OpenEvseSource:
    """Polled every 5 s while charging, every 30 s otherwise; controlled by one claim."""

    uses_connection = True
    has_register = True
    has_soc = False
    capabilities = frozenset({Capability.START_STOP, Capability.CURRENT_LIMIT})
    plausible_power_w = 25_000.0
    charger_phases: int | None = None

    def __init__(self, hass: HomeAssistant, data: Mapping[str, Any]) -> None:
        """Talk to the OpenEVSE at the entry's host, with its credentials if any."""
        self._session = async_get_clientsession(hass)
        self.host = str(data[CONF_HOST])
        self._auth = credentials(data)
        self.poll_interval = timedelta(seconds=30)
        self._status: dict[str, Any] = {}
        self._claim_props: dict[str, Any] = {}
        self._identity = Identity(
            lambda: async_get_json(self._session, self.host, "/config", self._auth),
            lambda config: config_facts(self.host, config),
        )

    def device(self) -> DeviceFacts:
        """The OpenEVSE, with the versions and serial its /config reports."""
        return self._identity.facts

    @property
    def max_power_w(self) -> float | None:
        """The hard current maximum at the measured voltage."""
        current = parse_number(self._status.get("max_current"))
        voltage = parse_number(self._status.get("voltage"))
        return None if current is None or voltage is None else current * voltage

    async def async_start(self, push: PushCallback) -> None:
        """Nothing to start: the OpenEVSE is polled."""

    async def async_stop(self) -> None:
        """Nothing to stop."""

    async def async_poll(self, now: datetime) -> Reading:
        """Read ``/status`` (and, when due, ``/config`` for the device)."""
        self._status = await self._identity.async_read(
            lambda: async_get_json(self._session, self.host, "/status", self._auth)
        )
        reading = status_reading(now, self._status)
        self.poll_interval = timedelta(seconds=5 if reading.charging else 30)
        return reading

    def offered_current_a(self) -> float | None:
        """The pilot current the OpenEVSE offers now."""
        return parse_number(self._status.get("pilot"))

    def charging_enabled(self) -> bool | None:
        """Whether the OpenEVSE is enabled (not sleeping or disabled)."""
        state = self._status.get("state")
        return state not in DISABLED_STATES if isinstance(state, int) else None

    async def _claim(self, change: dict[str, Any]) -> None:
        """Post the whole claim: a new one replaces what this client claimed before."""
        claim = self._claim_props | change
        await async_request_json(
            self._session,
            self.host,
            f"/claims/{CLAIM_CLIENT}",
            method="POST",
            payload=claim,
            auth=self._auth,
        )
        self._claim_props = claim

    async def async_set_charging(self, enabled: bool) -> None:
        """Claim the OpenEVSE active or disabled."""
        await self._claim({"state": "active" if enabled else "disabled"})
        self._status["state"] = 1 if enabled else 254

    async def async_set_current_limit(self, amps: float) -> None:
        """Claim a charge current (0 disables charging)."""
        if amps < 1:
            await self.async_set_charging(False)
            return
        await self._claim({"charge_current": int(amps)})
        self._status["pilot"] = int(amps)

    def as_dict(self) -> dict[str, Any]:
        """Nothing to keep: the OpenEVSE holds the state."""
        return {}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Nothing to take back."""

    def diagnostics(self) -> dict[str, Any]:
        """The last status read and what EV Sessions claims."""
        return {
            "status": self._status,
            "claim": self._claim_props,
            "poll_interval_s": self.poll_interval.total_seconds(),
        }


def create(hass: HomeAssistant, data: Mapping[str, Any]) -> OpenEvseSource:
    """Build the source from config entry data."""
    return OpenEvseSource(hass, data)
