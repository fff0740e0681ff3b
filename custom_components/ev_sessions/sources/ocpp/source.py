"""OCPP source: the charge point connects to Home Assistant as its central system (1.6J, 2.0.1).

Sessions follow the charge point's transactions and its connector status: a session runs from
plug-in (or the transaction's start) to the end of the transaction with the cable out, and the
session's user is the name of the id tag that started it. What the charge point says is kept
in its `ChargePoint` state; this module is the `Source` around it: the connection, charging
control, commands, persistence and diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import contextlib
from datetime import datetime, timedelta
import logging
from typing import Any, cast

from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ...const import CONF_CHARGE_POINT_ID, CONF_CONNECTOR, CONF_MAX_CURRENT_A, DEFAULT_OCPP_PORT
from ...model.reading import Reading
from ..base import Capability, ChargePointFacts, DeviceFacts, PushCallback, SourceError
from .charge_point import ChargePoint
from .const import DISCONNECT_GRACE, PROTOCOL_201, REMOTE_ID_TAG, OcppCommandError
from .link import OcppLink
from .schema import checks_ready, handled_actions, prepare_checks
from .server import WebSocketLink, async_register
from .v16 import OcppLink16
from .v201 import OcppLink201

_LOGGER = logging.getLogger(__name__)


# The calls each protocol version answers, by version: their schema checks are compiled in
# the executor at the first set-up (see schema.prepare_checks), not at every one.
_ANSWERED: tuple[tuple[str, list[str]], ...] = tuple(
    (link._ocpp_version, handled_actions(link)) for link in (OcppLink16, OcppLink201)
)


def _prepare_checks() -> None:
    """The schema checks of every call either protocol version answers (reads files)."""
    for version, actions in _ANSWERED:
        prepare_checks(version, actions)


class OcppSource:
    """A charge point speaking OCPP to EV Sessions' central system."""

    uses_connection = True
    has_register = True
    has_soc = True
    capabilities = frozenset(
        {
            Capability.START_STOP,
            Capability.CURRENT_LIMIT,
            Capability.COMMANDS,
            Capability.USERS,
            Capability.ASKS_TO_SAVE,
        }
    )
    plausible_power_w = 50_000.0
    charger_phases: int | None = None
    max_power_w: float | None = None
    poll_interval = timedelta(seconds=30)

    def __init__(self, hass: HomeAssistant, data: Mapping[str, Any]) -> None:
        """Describe the charge point; it connects once the source has started."""
        self.hass = hass
        self.charge_point_id = str(data[CONF_CHARGE_POINT_ID])
        self.port = int(data.get(CONF_PORT, DEFAULT_OCPP_PORT))
        self.password: str | None = data.get(CONF_PASSWORD) or None
        self.data = data
        self.state = ChargePoint(hass, self.charge_point_id)
        self._facts: tuple[tuple[Any, ...], ChargePointFacts] | None = None  # the last, by key
        self.protocol: str | None = None
        self.request_save: Callable[[], None] | None = None  # set by the coordinator
        self.state.window.on_hold = lambda: self.request_save() if self.request_save else None
        self.link: OcppLink | None = None
        self.limit_a: float | None = None  # the limit of the last profile sent
        self._resume_a = 32.0  # the limit to send when charging resumes
        self._paused = False
        self._disconnected_at = dt_util.utcnow()
        self._server_release: Callable[[], Any] | None = None
        self.max_current_a: float | None = None
        self.set_users(data)  # tags, the connector followed, the maximum current

    def device(self) -> DeviceFacts:
        """Vendor, model, firmware and serial, as the charge point booted."""
        return self.state.device

    def set_users(self, options: Mapping[str, Any]) -> None:
        """Id tags and their names; whether unknown tags may charge; the connector followed."""
        self.state.tags.set(options)
        self.state.choose_connector(_connector(options))
        cap = options.get(CONF_MAX_CURRENT_A)
        changed = cap != self.max_current_a
        self.max_current_a = None if cap is None else float(cap)
        if changed and self.link is not None and not self._paused and self.limit_a is not None:
            # Lower (or raise) the limit in force to the new maximum now.
            self.hass.async_create_task(
                self._send_limit(self._capped(self._resume_a)), eager_start=False
            )

    # -- protocol members --------------------------------------------------------

    def offered_current_a(self) -> float | None:
        """The limit EV Sessions set, else the current the charge point offers."""
        return self.limit_a if self.limit_a is not None else self.state.offered_a

    def charging_enabled(self) -> bool | None:
        """Whether EV Sessions' charging profile allows charging (None: never set)."""
        return None if self.limit_a is None else not self._paused

    async def async_start(self, push: PushCallback) -> None:
        """Register with the central system on the entry's port (starting it if needed)."""
        self.state.push = push
        if not all(checks_ready(version, actions) for version, actions in _ANSWERED):
            await self.hass.async_add_executor_job(_prepare_checks)
        await self._replay_held()
        self._server_release = await async_register(self.hass, self)

    async def _replay_held(self) -> None:
        """Apply what the reorder window held when Home Assistant stopped without a word.

        The box had its answers then; nothing is sent now.
        """
        frames, self.state.window.frames = self.state.window.frames, []
        if not frames:
            return
        _LOGGER.info("%s: replaying %s held OCPP messages", self.charge_point_id, len(frames))
        self.state.window.open()
        for protocol, raw in frames:
            link_class = OcppLink201 if protocol == PROTOCOL_201 else OcppLink16
            with contextlib.suppress(Exception):  # one bad frame must not stop the others
                await link_class(self.state, cast(WebSocketLink, _Silent())).route_message(raw)
        self.state.window.flush()

    async def async_stop(self) -> None:
        """Drop the connection and unregister."""
        self.state.window.flush()  # what the box said is applied before the state is saved
        self.state.push = None
        if self.link is not None:
            await self.link.close()
            self.link = None
        if self._server_release is not None:
            await self._server_release()
            self._server_release = None

    async def async_poll(self, now: datetime) -> Reading:
        """The charge point's state now; SourceError once it has been away too long."""
        if self.link is None and now - self._disconnected_at > DISCONNECT_GRACE:
            raise SourceError(
                f"charge point {self.charge_point_id} is not connected",
                "not_connected",
                name=self.charge_point_id,
            )
        return self.state.poll(now, connected=self.link is not None)

    async def async_set_charging(self, enabled: bool) -> None:
        """Pause (a 0 A profile) or resume (the last limit); start a transaction if none."""
        if enabled and self.state.transaction is None and self.link is not None:
            await self.async_command("start_transaction")
            return
        await self._send_limit(self._capped(self._resume_a) if enabled else 0.0)
        self._paused = not enabled

    async def async_set_current_limit(self, amps: float) -> None:
        """Set the limit; while paused it is kept for the resume (a profile is all there is)."""
        limit = round(max(0.0, amps), 1)
        if limit < 1:
            await self.async_set_charging(False)
            return
        if not self._paused:
            await self._send_limit(self._capped(limit))
        self._resume_a = limit

    def _capped(self, amps: float) -> float:
        """A limit no higher than the maximum current set for this charge point."""
        return amps if self.max_current_a is None else min(amps, self.max_current_a)

    async def _send_limit(self, amps: float) -> None:
        await self._connected_link().set_limit(amps)
        self.limit_a = amps

    def as_dict(self) -> dict[str, Any]:
        """The open transaction, the register and the transaction counter."""
        return self.state.as_dict()

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back an open transaction after a restart: its start meter is not lost."""
        self.state.restore(data)

    def diagnostics(self) -> dict[str, Any]:
        """Connection, boot data and the transaction."""
        state = self.state
        return {
            "charge_point_id": self.charge_point_id,
            "port": self.port,
            "connector": state.connector,
            "protocol": self.protocol,
            "connected": self.link is not None,
            "boot": state.boot,
            "status": state.status,
            "error_code": state.error_code,
            "charging_state": state.charging_state,
            "transaction": None if state.transaction is None else state.transaction.as_dict(),
            "energy_kwh": state.energy_kwh,
            "limit_a": self.limit_a,
            "messages": state.messages,
            "rejected_messages": state.rejected_messages,
            "repeated_messages": state.repeated_messages,
            "last_message": None if state.last_message is None else state.last_message.isoformat(),
            "users": len(state.tags.id_tags),
        }

    # -- connection --------------------------------------------------------------

    async def async_serve(self, websocket: WebSocketLink, protocol: str) -> None:
        """Talk to the charge point until the websocket closes."""
        # The reorder window opens first: nothing may run ahead of what the box queued,
        # not even a poll while the old link is still being closed.
        self.state.window.open()
        if self.link is not None:
            _LOGGER.info(
                "Charge point %s connected again: closing the old link", self.charge_point_id
            )
            await self.link.close()
        link_class = OcppLink201 if protocol == PROTOCOL_201 else OcppLink16
        link = link_class(self.state, websocket)
        self.link, self.protocol = link, protocol
        _LOGGER.info("Charge point %s connected (%s)", self.charge_point_id, protocol)
        try:
            with contextlib.suppress(ConnectionError):
                await link.start()
        finally:
            link.closed.set()
            if self.link is link:
                self.link = None
                self._disconnected_at = dt_util.utcnow()
                _LOGGER.info("Charge point %s disconnected", self.charge_point_id)

    def _connected_link(self) -> OcppLink:
        if self.link is None:
            raise SourceError(
                f"charge point {self.charge_point_id} is not connected",
                "not_connected",
                name=self.charge_point_id,
            )
        return self.link

    def facts(self) -> ChargePointFacts:
        """Status, error, user, last contact and firmware (the device page's entities).

        The last contact to the minute: the device page shows no more, and to the second
        every message would change it (and wake the entities that show it). The same object
        while nothing in it changed (asked at every message).
        """
        state = self.state
        transaction = state.transaction
        heard = state.last_message
        key = (
            state.status,
            state.error_code,
            None if transaction is None else transaction.user,
            transaction is not None,
            None if heard is None else int(heard.timestamp()) // 60,
            state.device.sw_version,
        )
        known = self._facts
        if known is not None and known[0] == key:
            return known[1]
        facts = ChargePointFacts(
            status=key[0],
            error_code=key[1],
            user=key[2],
            transaction=key[3],
            last_message=None if heard is None else heard.replace(second=0, microsecond=0),
            firmware=key[5],
        )
        self._facts = (key, facts)
        return facts

    async def async_command(self, command: str, id_tag: str | None = None) -> str:
        """Send one of COMMANDS; return the charge point's answer (e.g. Accepted)."""
        link = self._connected_link()
        if command == "start_transaction":
            return await link.remote_start(id_tag or self.state.last_tag or REMOTE_ID_TAG)
        if command == "stop_transaction":
            if self.state.transaction is None:
                raise OcppCommandError(
                    f"{self.charge_point_id} has no transaction to stop",
                    "no_transaction",
                    name=self.charge_point_id,
                )
            return await link.remote_stop(self.state.transaction.id)
        if command in ("soft_reset", "hard_reset"):
            return await link.reset(hard=command == "hard_reset")
        if command == "unlock_connector":
            return await link.unlock(self.state.connector or 1)
        if command in ("set_available", "set_unavailable"):
            return await link.change_availability(command == "set_available")
        return await link.trigger(command.removeprefix("trigger_"))


def _connector(options: Mapping[str, Any]) -> int | None:
    """The connector chosen in the options (None: follow the first transaction's)."""
    try:
        chosen = int(options.get(CONF_CONNECTOR) or 0)
    except (TypeError, ValueError):
        return None
    return chosen if chosen > 0 else None


class _Silent:
    """A connection for replayed frames: their answers were sent long ago."""

    async def recv(self) -> str:  # pragma: no cover - nothing is read from it
        raise ConnectionError("replay")

    async def send(self, _text: str) -> None:
        """Drop the answer."""
