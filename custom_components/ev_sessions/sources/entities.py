"""Any wallbox already in Home Assistant, read and driven through its entities."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_UNIT_OF_MEASUREMENT,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util

from ..bursts import async_track_state_bursts
from ..const import (
    CONF_CHARGING_STATES,
    CONF_CHARGING_SWITCH_ENTITY,
    CONF_CONNECTED_ENTITY,
    CONF_CONNECTED_STATES,
    CONF_CURRENT_LIMIT_ENTITY,
    CONF_ENERGY_ENTITY,
    CONF_ERROR_STATES,
    CONF_POWER_ENTITY,
    CONF_SOC_ENTITY,
    TICK_INTERVAL,
)
from ..model.reading import Reading
from ..model.units import energy_to_kwh, parse_number, power_to_w
from .base import Capability, DeviceFacts, PushCallback

PLAUSIBLE_POWER_W = 100_000.0
_UNKNOWN = (STATE_UNAVAILABLE, STATE_UNKNOWN)


def _known(state: State | None) -> State | None:
    return None if state is None or state.state in _UNKNOWN else state


class EntitiesSource:
    """Readings from the wallbox's own entities; control through its switch and number."""

    poll_interval = TICK_INTERVAL
    has_register: bool
    plausible_power_w = PLAUSIBLE_POWER_W
    charger_phases: int | None = None
    max_power_w: float | None = None

    def device(self) -> DeviceFacts:
        """The wallbox's own device in Home Assistant (the power sensor's), when it has one."""
        entity = er.async_get(self._hass).async_get(self._power)
        device = (
            None
            if entity is None or entity.device_id is None
            else dr.async_get(self._hass).async_get(entity.device_id)
        )
        if device is None:
            return DeviceFacts(model="Wallbox in Home Assistant")
        return DeviceFacts(
            manufacturer=device.manufacturer,
            model=device.model,
            sw_version=device.sw_version,
            hw_version=device.hw_version,
            serial_number=device.serial_number,
            configuration_url=device.configuration_url,
        )

    def __init__(self, hass: HomeAssistant, data: Mapping[str, Any]) -> None:
        """Remember which entities to read."""
        self._hass = hass
        self._power = str(data[CONF_POWER_ENTITY])
        self._energy: str | None = data.get(CONF_ENERGY_ENTITY)
        self._connected: str | None = data.get(CONF_CONNECTED_ENTITY)
        self._switch: str | None = data.get(CONF_CHARGING_SWITCH_ENTITY)
        self._current: str | None = data.get(CONF_CURRENT_LIMIT_ENTITY)
        self._soc: str | None = data.get(CONF_SOC_ENTITY)
        self._connected_states = set(data.get(CONF_CONNECTED_STATES, ()))
        self._charging_states = set(data.get(CONF_CHARGING_STATES, ()))
        self._error_states = set(data.get(CONF_ERROR_STATES, ()))
        self.uses_connection = self._connected is not None
        self.has_register = self._energy is not None
        self.has_soc = self._soc is not None
        self.capabilities = frozenset(
            {
                *([Capability.START_STOP] if self._switch is not None else []),
                *([Capability.CURRENT_LIMIT] if self._current is not None else []),
            }
        )
        self._unsubscribe: Callable[[], None] = lambda: None

    @property
    def entity_ids(self) -> list[str]:
        """Every entity read for readings."""
        return [
            entity_id
            for entity_id in (self._power, self._energy, self._connected, self._soc)
            if entity_id is not None
        ]

    async def async_start(self, push: PushCallback) -> None:
        """Push one reading for each burst of changes, read after the last of them.

        The wallbox's integration writes its entities one after the other: a reading taken
        at the first change would mix the new plug state with the old SoC or register.
        """

        @callback
        def _changed() -> None:
            push(self.read(dt_util.utcnow()))

        self._unsubscribe = async_track_state_bursts(self._hass, self.entity_ids, _changed)

    async def async_stop(self) -> None:
        """Stop listening."""
        self._unsubscribe()

    async def async_poll(self, now: datetime) -> Reading:
        """Read the entities' current states."""
        return self.read(now)

    def read(self, now: datetime) -> Reading:
        """One reading from the current states; anything unknown or nonsense is None."""
        states = self._hass.states
        power_state = _known(states.get(self._power))
        power = (
            None
            if power_state is None
            else power_to_w(power_state.state, power_state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))
        )
        if power is not None:
            if power > self.plausible_power_w:
                power = None
            elif power < 0:
                power = 0.0
        energy = None
        if self._energy is not None and (energy_state := _known(states.get(self._energy))):
            energy = energy_to_kwh(
                energy_state.state, energy_state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
            )
            if energy is not None and energy < 0:
                energy = None
        soc = None
        if self._soc is not None and (soc_state := _known(states.get(self._soc))):
            soc = parse_number(soc_state.state)
            if soc is not None and not 0 <= soc <= 100:
                soc = None
        connected, charging, error = self._connection()
        return Reading(
            time=now,
            power_w=power,
            energy_kwh=energy,
            connected=connected,
            charging=charging,
            error=error,
            soc=soc,
        )

    def _connection(self) -> tuple[bool | None, bool | None, bool | None]:
        if self._connected is None:
            return None, None, None
        state = _known(self._hass.states.get(self._connected))
        if state is None:
            return None, None, None
        value = state.state
        if self._connected.startswith("binary_sensor."):
            return value == STATE_ON, None, False
        if value in self._error_states:
            return None, None, True
        if value in self._charging_states:
            return True, True, False
        return value in self._connected_states, None, False

    def offered_current_a(self) -> float | None:
        """The wallbox's current-limit number, when there is one and it reads as a number."""
        if self._current is None or (state := _known(self._hass.states.get(self._current))) is None:
            return None
        return parse_number(state.state)

    def charging_enabled(self) -> bool | None:
        """The charging switch's state (None without one, or while it is unavailable)."""
        if self._switch is None or (state := _known(self._hass.states.get(self._switch))) is None:
            return None
        return state.state == "on"

    async def async_set_charging(self, enabled: bool) -> None:
        """Turn the wallbox's charging switch on or off."""
        if self._switch is None:
            return
        domain = self._switch.split(".", 1)[0]
        await self._hass.services.async_call(
            domain,
            SERVICE_TURN_ON if enabled else SERVICE_TURN_OFF,
            {ATTR_ENTITY_ID: self._switch},
            blocking=True,
        )

    async def async_set_current_limit(self, amps: float) -> None:
        """Set the wallbox's current-limit number."""
        if self._current is None:
            return
        domain = self._current.split(".", 1)[0]
        await self._hass.services.async_call(
            domain, "set_value", {ATTR_ENTITY_ID: self._current, "value": amps}, blocking=True
        )

    def as_dict(self) -> dict[str, Any]:
        """Nothing to keep: the entities hold the state."""
        return {}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Nothing to take back."""

    def diagnostics(self) -> dict[str, Any]:
        """The entities and their current states."""
        return {
            entity_id: (state.as_dict() if (state := self._hass.states.get(entity_id)) else None)
            for entity_id in [*self.entity_ids, self._switch, self._current]
            if entity_id is not None
        }


def create(hass: HomeAssistant, data: Mapping[str, Any]) -> EntitiesSource:
    """Build the source from config entry data."""
    return EntitiesSource(hass, data)
