"""go-eCharger, through its local HTTP API v2 (``/api/status``, ``/api/set``).

``car``: 0 unknown, 1 idle (no car), 2 charging, 3 waiting for the car, 4 complete,
5 error, 6 initialising; null when the charge controller cannot be reached. ``nrg`` holds
voltages, currents and powers (index 11: total W); its items may be null and the array
short. ``eto`` is the lifetime energy in Wh (the register); ``trx`` the RFID card of the
session (null: none, 0: no card, n: card n - 1). Control: ``frc`` (force state: 0 neutral,
1 off, 2 on), ``amp`` (current limit, whole amperes) and, on models that switch phases,
``fsp`` (force single phase; absent from the status of models that cannot).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
import json
import logging
import math
from typing import Any

import aiohttp

from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..model.load_guard import VOLTAGE
from ..model.reading import Reading
from ..model.units import parse_number
from .base import Capability, DeviceFacts, PushCallback, SourceError, text
from .http import TIMEOUT, Identity, SourceAuthError, async_get_json, http_status

REQUIRED_KEYS = ("car", "nrg", "eto", "amp", "ama", "frc", "alw", "trx", "err", "pnp")
OPTIONAL_KEYS = ("fsp",)  # models without phase switching answer HTTP 400 to the filter
_LOGGER = logging.getLogger(__name__)
STATUS_KEYS = ",".join((*REQUIRED_KEYS, *OPTIONAL_KEYS))
CONNECTED = {2, 3, 4}
FORCE_OFF = 1
FORCE_ON = 2


def _nrg(nrg: Any, index: int) -> float | None:
    if isinstance(nrg, list) and index < len(nrg):
        return parse_number(nrg[index])
    return None


def status_reading(now: datetime, status: Mapping[str, Any]) -> Reading:
    """A reading from ``/api/status``."""
    car = status.get("car")
    err = status.get("err")
    nrg = status.get("nrg")
    power = _nrg(nrg, 11)
    currents = [_nrg(nrg, index) for index in (4, 5, 6)]
    phases = sum(1 for current in currents if current is not None and current >= 1.0)
    eto = parse_number(status.get("eto"))
    trx = status.get("trx")
    return Reading(
        time=now,
        power_w=None if power is None else max(0.0, power),
        energy_kwh=None if eto is None else eto / 1000,
        connected=None if car not in (1, *CONNECTED) else car in CONNECTED,
        charging=None if car not in (1, *CONNECTED) else car == 2,
        error=car == 5 or (isinstance(err, int) and err != 0),
        phases=phases or None,
        currents_a=None
        if any(current is None for current in currents)
        else tuple(max(0.0, current or 0.0) for current in currents),
        user=f"card {trx - 1}" if isinstance(trx, int) and trx > 0 else None,
    )


_CONTROLS = frozenset({Capability.START_STOP, Capability.CURRENT_LIMIT})


def identity_facts(host: str, status: Mapping[str, Any]) -> DeviceFacts:
    """The device from the ``sse`` (serial) and ``fwv`` (firmware) keys."""
    return DeviceFacts(
        manufacturer="go-e",
        model="go-eCharger",
        sw_version=text(status.get("fwv")),
        serial_number=text(status.get("sse")),
        configuration_url=f"http://{host}",
    )


class GoeSource:
    """Polled every 5 s while charging, every 30 s otherwise; controls force state and amps."""

    uses_connection = True
    has_register = True
    has_soc = False
    plausible_power_w = 25_000.0

    def __init__(self, hass: HomeAssistant, data: Mapping[str, Any]) -> None:
        """Talk to the charger at the entry's host."""
        self._session = async_get_clientsession(hass)
        self.host = str(data[CONF_HOST])
        self.poll_interval = timedelta(seconds=30)
        self._status: dict[str, Any] = {}
        self._keys: tuple[str, ...] = (*REQUIRED_KEYS, *OPTIONAL_KEYS)
        self._identity = Identity(self._identify, lambda status: identity_facts(self.host, status))

    def device(self) -> DeviceFacts:
        """The go-eCharger, with the serial and firmware it reports."""
        return self._identity.facts

    async def _identify(self) -> dict[str, Any]:
        try:
            return await async_get_json(self._session, self.host, "/api/status?filter=sse,fwv")
        except SourceAuthError:
            raise
        except SourceError:
            # Firmware without one of the keys answers 400 for the whole filter.
            return await async_get_json(self._session, self.host, "/api/status?filter=sse")

    @property
    def charger_phases(self) -> int | None:
        """Phases the charger reports as connected."""
        phases = self._status.get("pnp")
        return phases if phases in (1, 2, 3) else None

    @property
    def max_power_w(self) -> float | None:
        """The charger's maximum current on its phases."""
        ama = parse_number(self._status.get("ama"))
        if ama is None:
            return None
        return ama * VOLTAGE * (self.charger_phases or 3)

    async def async_start(self, push: PushCallback) -> None:
        """Nothing to start: the charger is polled."""

    async def async_stop(self) -> None:
        """Nothing to stop."""

    async def async_poll(self, now: datetime) -> Reading:
        """Read the status keys EV Sessions uses (and, when due, who the charger is)."""
        self._status = await self._identity.async_read(self._read_status)
        reading = status_reading(now, self._status)
        self.poll_interval = timedelta(seconds=5 if reading.charging else 30)
        return reading

    def offered_current_a(self) -> float | None:
        """The requested current (``amp``)."""
        return parse_number(self._status.get("amp"))

    def charging_enabled(self) -> bool | None:
        """Forced on or off, else whether the charger allows charging now."""
        force = self._status.get("frc")
        if force == FORCE_ON:
            return True
        if force == FORCE_OFF:
            return False
        allowed = self._status.get("alw")
        return allowed if isinstance(allowed, bool) else None

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Start/stop and current; phase switching once the model is known to have it."""
        if self.single_phase() is None:
            return _CONTROLS
        return _CONTROLS | {Capability.PHASE_SWITCH}

    def single_phase(self) -> bool | None:
        """Whether charging is forced onto one phase; None if the model cannot switch."""
        force = self._status.get("fsp")
        return force if isinstance(force, bool) else None

    async def async_set_single_phase(self, single: bool) -> None:
        """Force charging onto one phase, or let it use three again."""
        await self._set("fsp", single)

    async def _set(self, key: str, value: int | bool) -> None:
        text = json.dumps(value)  # the API takes JSON values: 2, true
        url = f"http://{self.host}/api/set?{key}={text}"
        try:
            async with self._session.get(url, timeout=TIMEOUT) as response:
                response.raise_for_status()
        except (aiohttp.ClientError, TimeoutError) as err:
            raise SourceError(f"{self.host}: {key}={text}: {err}", name=self.host) from err
        self._status[key] = value

    async def async_set_charging(self, enabled: bool) -> None:
        """Force charging on or off."""
        await self._set("frc", FORCE_ON if enabled else FORCE_OFF)

    async def async_set_current_limit(self, amps: float) -> None:
        """Set the current in whole amperes (0 forces charging off)."""
        if amps < 1:
            await self._set("frc", FORCE_OFF)
            return
        await self._set("amp", math.floor(amps))

    async def _read_status(self) -> dict[str, Any]:
        """The status keys; without the optional ones if the charger refuses them (HTTP 400)."""
        try:
            return await self._get_status()
        except SourceError as err:
            if http_status(err) != 400 or self._keys == REQUIRED_KEYS:
                raise
        _LOGGER.info(
            "go-eCharger at %s refuses the keys %s: reading without them",
            self.host,
            ", ".join(OPTIONAL_KEYS),
        )
        self._keys = REQUIRED_KEYS
        return await self._get_status()

    async def _get_status(self) -> dict[str, Any]:
        keys = ",".join(self._keys)
        return await async_get_json(self._session, self.host, f"/api/status?filter={keys}")

    def as_dict(self) -> dict[str, Any]:
        """The status keys the charger accepts (what the model lacks is remembered)."""
        return {"keys": list(self._keys)}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back the keys the charger accepts."""
        keys = data.get("keys")
        if isinstance(keys, list) and set(REQUIRED_KEYS) <= set(keys):
            self._keys = tuple(str(key) for key in keys)

    def diagnostics(self) -> dict[str, Any]:
        """The last status read."""
        return {"status": self._status, "poll_interval_s": self.poll_interval.total_seconds()}


def create(hass: HomeAssistant, data: Mapping[str, Any]) -> GoeSource:
    """Build the source from config entry data."""
    return GoeSource(hass, data)
