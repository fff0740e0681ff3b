"""OCPP source: the charge point connects to Home Assistant as its central system (1.6J, 2.0.1).

Sessions follow the charge point's transactions and its connector status: a session runs from
plug-in (or the transaction's start) to the end of the transaction with the cable out, and the
session's user is the name of the id tag that started it. Energy is never the register's
absolute value (it is a lifetime counter on some boxes, a per-transaction one on others, and
both on ABB): each transaction's energy is its register minus the transaction's first register,
added to a register of EV Sessions' own, which is what the session tracker sees.

Messages the charge point queued while offline arrive after a reconnect with old timestamps,
behind the live status it sends first. For a short window after each connect, what the
messages say is applied in timestamp order; later, a message older than the last one applied
counts at the time of the last one (it still lands in the session it belongs to).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Mapping
import contextlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
import json
import logging
from typing import TYPE_CHECKING, Any, cast

from ocpp.exceptions import NotImplementedError as OcppNotImplementedError, OCPPError
from ocpp.messages import Call, unpack
from ocpp.routing import on as ocpp_on
from ocpp.v16 import (
    ChargePoint as ChargePoint16,
    call as call16,
    call_result as call16_result,
)
from ocpp.v201 import (
    ChargePoint as ChargePoint201,
    call as call201,
    call_result as call201_result,
)

from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from ..const import (
    CONF_ACCEPT_UNKNOWN_TAGS,
    CONF_CHARGE_POINT_ID,
    CONF_ID_TAGS,
    DEFAULT_OCPP_PORT,
)
from ..model.ocpp_meter import MeterSample, meter_samples, parse_moment, parse_time, wh_to_kwh
from ..model.reading import Reading
from . import PushCallback, SourceError

if TYPE_CHECKING:
    from .ocpp_server import WebSocketLink

_LOGGER = logging.getLogger(__name__)

PROTOCOL_16 = "ocpp1.6"
PROTOCOL_201 = "ocpp2.0.1"
PROTOCOLS = (PROTOCOL_201, PROTOCOL_16)
HEARTBEAT_S = 300
REORDER_WINDOW = timedelta(seconds=10)
DISCONNECT_GRACE = timedelta(minutes=2)
RESPONSE_TIMEOUT_S = 30
MESSAGE_ID_MEMORY = 200
REMOTE_ID_TAG = "EVSessions"
PROFILE_ID = 1_000_001
PLUGGED_16 = frozenset({"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"})

TRIGGERS = {
    "status": "StatusNotification",
    "meter_values": "MeterValues",
    "boot": "BootNotification",
}
# The commands of the ocpp_command action.
COMMANDS = (
    "start_transaction",
    "stop_transaction",
    "soft_reset",
    "hard_reset",
    "set_available",
    "set_unavailable",
    "trigger_status",
    "trigger_meter_values",
    "trigger_boot",
)


@dataclass(slots=True)
class Transaction:
    """One transaction, as far as the session needs it."""

    id: str
    connector: int
    start: datetime
    id_tag: str | None
    user: str | None
    base_kwh: float  # EV Sessions' register when it began
    first_kwh: float | None = None  # the charge point's register when it began
    meter_start_wh: float | None = None
    registers: int = 0  # registers seen after the start meter
    seq_nos: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        """Serialise (sequence numbers are not kept)."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        del data["seq_nos"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transaction:
        """Restore."""
        return cls(**{**data, "start": datetime.fromisoformat(data["start"])})


@dataclass(slots=True)
class _Pending:
    time: datetime
    order: int
    apply: Callable[[], None]


def handles[F: Callable[..., Any]](action: str) -> Callable[[F], F]:
    """The ocpp package's ``on`` decorator, typed."""
    return cast(Callable[[F], F], ocpp_on(action))


class OcppCommandError(SourceError):
    """The charge point refused or did not answer a command."""


class OcppSource:
    """A charge point speaking OCPP to EV Sessions' central system."""

    uses_connection = True
    has_register = True
    has_soc = True
    can_switch = True
    can_set_current = True
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
        self.id_tags: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self.connector: int | None = None
        self.accept_unknown = True
        self.set_users(data)
        self.model = "OCPP charge point"
        self.boot: dict[str, Any] = {}
        self.protocol: str | None = None
        self.link: OcppLink | None = None
        self.transaction: Transaction | None = None
        self.transaction_counter = 0
        self.energy_kwh = 0.0
        self.status: str | None = None
        self.error_code: str | None = None
        self.charging_state: str | None = None
        self.power_w: float | None = None
        self.soc: float | None = None
        self.phases: int | None = None
        self.offered_a: float | None = None
        self.limit_a: float | None = None  # the limit of the last profile sent
        self._resume_a = 32.0  # the limit to send when charging resumes
        self._paused = False
        self.departure: datetime | None = None
        self.energy_wanted_kwh: float | None = None
        self.last_tag: str | None = None
        self.last_message: datetime | None = None
        self.messages = 0
        self.rejected_messages = 0
        self.repeated_messages = 0
        self.answers: OrderedDict[str, str] = OrderedDict()
        self.last_register_kwh: float | None = None
        self._starts: dict[tuple[int, datetime, float | None], str] = {}
        self.ended: list[str] = []  # the last transactions ended, newest last
        self._push: PushCallback | None = None
        self._last_time: datetime | None = None
        self._pending: list[_Pending] = []
        self._order = 0
        self._flush_unsub: CALLBACK_TYPE | None = None
        self._disconnected_at = dt_util.utcnow()
        self._server_release: Callable[[], Any] | None = None

    def set_users(self, options: Mapping[str, Any]) -> None:
        """Id tags and their names; whether unknown tags may charge."""
        self.id_tags = {str(k): str(v) for k, v in (options.get(CONF_ID_TAGS) or {}).items()}
        self._names = {tag.casefold(): name for tag, name in self.id_tags.items()}
        self.accept_unknown = bool(options.get(CONF_ACCEPT_UNKNOWN_TAGS, True))

    # -- protocol members --------------------------------------------------------

    def offered_current_a(self) -> float | None:
        """The limit EV Sessions set, else the current the charge point offers."""
        return self.limit_a if self.limit_a is not None else self.offered_a

    def charging_enabled(self) -> bool | None:
        """Whether EV Sessions' charging profile allows charging (None: never set)."""
        return None if self.limit_a is None else not self._paused

    async def async_start(self, push: PushCallback) -> None:
        """Register with the central system on the entry's port (starting it if needed)."""
        from .ocpp_server import async_register  # noqa: PLC0415

        self._push = push
        self._server_release = await async_register(self.hass, self)

    async def async_stop(self) -> None:
        """Drop the connection and unregister."""
        self._push = None
        self._cancel_flush()
        if self.link is not None:
            await self.link.close()
            self.link = None
        if self._server_release is not None:
            await self._server_release()
            self._server_release = None

    async def async_poll(self, now: datetime) -> Reading:
        """The charge point's state now; SourceError once it has been away too long."""
        if self.link is None and now - self._disconnected_at > DISCONNECT_GRACE:
            raise SourceError(f"charge point {self.charge_point_id} is not connected")
        if self._pending:
            # Queued messages are being sorted: do not run ahead of them.
            return self._reading(self._last_time or now)
        self._last_time = max(now, self._last_time or now)
        return self._reading(self._last_time)

    async def async_set_charging(self, enabled: bool) -> None:
        """Pause (a 0 A profile) or resume (the last limit); start a transaction if none."""
        if enabled and self.transaction is None and self.link is not None:
            await self.async_command("start_transaction")
            return
        await self._send_limit(self._resume_a if enabled else 0.0)
        self._paused = not enabled

    async def async_set_current_limit(self, amps: float) -> None:
        """Set the limit; while paused it is kept for the resume (a profile is all there is)."""
        limit = round(max(0.0, amps), 1)
        if limit < 1:
            await self.async_set_charging(False)
            return
        if not self._paused:
            await self._send_limit(limit)
        self._resume_a = limit

    async def _send_limit(self, amps: float) -> None:
        await self._connected_link().set_limit(amps)
        self.limit_a = amps

    def as_dict(self) -> dict[str, Any]:
        """The open transaction, the register and the transaction counter."""
        return {
            "transaction": None if self.transaction is None else self.transaction.as_dict(),
            "transaction_counter": self.transaction_counter,
            "connector": self.connector,
            "energy_kwh": self.energy_kwh,
            "status": self.status,
            "last_tag": self.last_tag,
            "ended": self.ended,
            "last_time": None if self._last_time is None else self._last_time.isoformat(),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back an open transaction after a restart: its start meter is not lost."""
        if data.get("transaction"):
            self.transaction = Transaction.from_dict(data["transaction"])
        self.transaction_counter = int(data.get("transaction_counter", 0))
        self.connector = data.get("connector")
        self.energy_kwh = float(data.get("energy_kwh", 0.0))
        self.status = data.get("status")
        self.last_tag = data.get("last_tag")
        self.ended = list(data.get("ended", []))
        if data.get("last_time"):
            self._last_time = datetime.fromisoformat(data["last_time"])

    def diagnostics(self) -> dict[str, Any]:
        """Connection, boot data and the transaction."""
        return {
            "charge_point_id": self.charge_point_id,
            "port": self.port,
            "connector": self.connector,
            "protocol": self.protocol,
            "connected": self.link is not None,
            "boot": self.boot,
            "status": self.status,
            "error_code": self.error_code,
            "charging_state": self.charging_state,
            "transaction": None if self.transaction is None else self.transaction.as_dict(),
            "energy_kwh": self.energy_kwh,
            "limit_a": self.limit_a,
            "messages": self.messages,
            "rejected_messages": self.rejected_messages,
            "repeated_messages": self.repeated_messages,
            "last_message": None if self.last_message is None else self.last_message.isoformat(),
            "users": len(self.id_tags),
        }

    # -- connection --------------------------------------------------------------

    async def async_serve(self, websocket: WebSocketLink, protocol: str) -> None:
        """Talk to the charge point until the websocket closes."""
        if self.link is not None:
            _LOGGER.info(
                "Charge point %s connected again: closing the old link", self.charge_point_id
            )
            await self.link.close()
        link_class = OcppLink201 if protocol == PROTOCOL_201 else OcppLink16
        link = link_class(self, websocket)
        self.link, self.protocol = link, protocol
        _LOGGER.info("Charge point %s connected (%s)", self.charge_point_id, protocol)
        self._start_window()
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
        if self.link is None or self.link.closed.is_set():
            raise SourceError(f"charge point {self.charge_point_id} is not connected")
        return self.link

    async def async_command(self, command: str, id_tag: str | None = None) -> str:
        """Send one of COMMANDS; return the charge point's answer (e.g. Accepted)."""
        link = self._connected_link()
        if command == "start_transaction":
            return await link.remote_start(id_tag or self.last_tag or REMOTE_ID_TAG)
        if command == "stop_transaction":
            if self.transaction is None:
                raise OcppCommandError(f"{self.charge_point_id} has no transaction to stop")
            return await link.remote_stop(self.transaction.id)
        if command in ("soft_reset", "hard_reset"):
            return await link.reset(hard=command == "hard_reset")
        if command in ("set_available", "set_unavailable"):
            return await link.change_availability(command == "set_available")
        return await link.trigger(command.removeprefix("trigger_"))

    # -- ordering ----------------------------------------------------------------

    def _start_window(self) -> None:
        """Hold what the messages say for a moment, to apply it in timestamp order."""
        self._cancel_flush()
        self._flush_unsub = async_call_later(self.hass, REORDER_WINDOW, self._flush)

    def _cancel_flush(self) -> None:
        if self._flush_unsub is not None:
            self._flush_unsub()
            self._flush_unsub = None

    @callback
    def _flush(self, _now: datetime | None = None) -> None:
        self._flush_unsub = None
        pending, self._pending = self._pending, []
        for item in sorted(pending, key=lambda p: (p.time, p.order)):
            item.apply()

    def schedule(self, time: datetime, apply: Callable[[], None]) -> None:
        """Apply now, or after the reorder window when it is open."""
        if self._flush_unsub is None:
            apply()
            return
        self._order += 1
        self._pending.append(_Pending(time, self._order, apply))

    def _emit(self, time: datetime, energy_kwh: float | None = None) -> None:
        """Tell the coordinator; never earlier than what it was told before."""
        if self._last_time is not None and time < self._last_time:
            time = self._last_time
        self._last_time = time
        if self._push is not None:
            self._push(self._reading(time, energy_kwh))

    def _reading(self, time: datetime, energy_kwh: float | None = None) -> Reading:
        transaction = self.transaction
        return Reading(
            time=time,
            power_w=self.power_w,
            energy_kwh=energy_kwh,
            connected=self._plugged(),
            charging=self._charging(),
            error=self.status == "Faulted",
            soc=self.soc,
            phases=self.phases,
            user=None if transaction is None else transaction.user,
            departure=self.departure,
            energy_wanted_kwh=self.energy_wanted_kwh,
        )

    def _plugged(self) -> bool | None:
        if self.transaction is not None:
            return True
        if self.status is None:
            return None
        return self.status in PLUGGED_16 or self.status == "Occupied"

    def _charging(self) -> bool | None:
        if self.transaction is None:
            return False if self.status is not None else None
        if self.charging_state is not None:
            return self.charging_state == "Charging"
        if self.status in PLUGGED_16:
            return self.status == "Charging"
        return None

    # -- what messages say -------------------------------------------------------

    def user_of(self, id_tag: str | None) -> str | None:
        """The name an id tag maps to (the tag itself when it has none); tags ignore case."""
        if not id_tag:
            return None
        return self._names.get(id_tag.casefold(), id_tag)

    def authorize(self, id_tag: str | None) -> str:
        """Accepted or Invalid, by the users' option."""
        known = id_tag is None or id_tag == REMOTE_ID_TAG or id_tag.casefold() in self._names
        return "Accepted" if known or self.accept_unknown else "Invalid"

    def follows(self, connector: int) -> bool:
        """Whether a connector is the one this entry follows: the first one that reports.

        Connector (EVSE) 0 is the whole station, never a session.
        """
        if connector <= 0:
            return False
        if self.connector is None:
            self.connector = connector
        return connector == self.connector

    def received(self) -> datetime:
        """Note a message and return the time it arrived."""
        now = dt_util.utcnow()
        self.last_message = now
        self.messages += 1
        return now

    def on_boot(self, data: Mapping[str, Any]) -> None:
        """Boot data (a second BootNotification changes nothing)."""
        self.boot = {k: v for k, v in data.items() if isinstance(v, str | int)}
        vendor = data.get("charge_point_vendor") or data.get("vendor_name")
        model = data.get("charge_point_model") or data.get("model")
        if vendor or model:
            self.model = " ".join(str(part) for part in (vendor, model) if part)

    def on_status(
        self, connector: int, status: str, error_code: str | None, time: datetime
    ) -> None:
        """A connector's status (of the connector followed)."""
        if not self.follows(connector):
            return

        def apply() -> None:
            self.status, self.error_code = status, error_code
            if status in ("Available", "Unavailable") and self.transaction is None:
                self.power_w = 0.0
            self._emit(time)

        self.schedule(time, apply)

    def start_transaction(
        self, transaction_id: str, connector: int, id_tag: str | None, time: datetime
    ) -> Transaction:
        """A new transaction; one still open on the connector has ended."""
        transaction = Transaction(
            id=transaction_id,
            connector=connector,
            start=time,
            id_tag=id_tag,
            user=self.user_of(id_tag),
            base_kwh=self.energy_kwh,
        )
        if id_tag:
            self.last_tag = id_tag
        return transaction

    def apply_start(self, transaction: Transaction, meter_start_kwh: float | None) -> None:
        """Open the transaction (at its start meter) and tell the coordinator."""
        current = self.transaction
        if current is not None and current.id != transaction.id:
            _LOGGER.info(
                "Charge point %s started transaction %s while %s was open: that one ended",
                self.charge_point_id,
                transaction.id,
                current.id,
            )
        transaction.base_kwh = self.energy_kwh
        transaction.first_kwh = meter_start_kwh
        if meter_start_kwh is not None:
            self.last_register_kwh = meter_start_kwh
        self.transaction = transaction
        self.departure = self.energy_wanted_kwh = None
        self._emit(transaction.start, self.energy_kwh if meter_start_kwh is not None else None)

    def apply_samples(self, samples: list[MeterSample], transaction_id: str | None) -> None:
        """Meter values, each at its own time."""
        for sample in samples:
            self._apply_sample(sample, transaction_id)

    def _apply_sample(self, sample: MeterSample, transaction_id: str | None) -> None:
        if sample.power_w is not None:
            self.power_w = sample.power_w
        if sample.soc is not None:
            self.soc = sample.soc
        if sample.phases is not None:
            self.phases = sample.phases
        if sample.offered_a is not None:
            self.offered_a = sample.offered_a
        transaction = self.transaction
        energy = None
        if transaction is not None and transaction_id in (None, transaction.id):
            if transaction.first_kwh is None and sample.begin_register_kwh is not None:
                transaction.first_kwh = sample.begin_register_kwh
            energy = self._register(transaction, sample.register_kwh)
        self._emit(sample.time, energy)

    def _register(self, transaction: Transaction, register_kwh: float | None) -> float | None:
        """EV Sessions' register from the charge point's (None: no register in the sample)."""
        if register_kwh is None:
            return None
        self.last_register_kwh = register_kwh
        if transaction.first_kwh is None:
            transaction.first_kwh = register_kwh
        elif transaction.registers == 0 and 0 < register_kwh < transaction.first_kwh - 0.01:
            # Session energy inside a transaction, lifetime outside (ABB): count from zero.
            transaction.first_kwh = 0.0
        transaction.registers += 1
        self.energy_kwh = transaction.base_kwh + register_kwh - transaction.first_kwh
        return self.energy_kwh

    def apply_stop(
        self,
        transaction_id: str,
        time: datetime,
        meter_stop_kwh: float | None,
        samples: list[MeterSample],
        reason: str | None = None,
    ) -> None:
        """End a transaction (unknown or already ended ones change nothing)."""
        transaction = self.transaction
        if transaction is None or transaction.id != transaction_id:
            _LOGGER.debug("Stop of unknown transaction %s ignored", transaction_id)
            return
        self.apply_samples(samples, transaction_id)
        if reason == "EVDisconnected":
            # The cable came out with the stop (the status may only tell after a reconnect).
            self.status = "Available"
        self._close(transaction, time, self._register(transaction, meter_stop_kwh))

    def _close(self, transaction: Transaction, time: datetime, energy: float | None) -> None:
        if time < transaction.start:
            # Stamped before its own start (Grizzl-E): it ended when the message came.
            time = max(dt_util.utcnow(), transaction.start)
        self.transaction = None
        self.ended = [*self.ended[-19:], transaction.id]
        self.charging_state = None
        self.power_w = 0.0
        self.departure = self.energy_wanted_kwh = None
        self._emit(time, energy)

    def apply_event(  # noqa: PLR0917
        self,
        event_type: str,
        transaction_id: str,
        seq_no: int,
        connector: int,
        id_tag: str | None,
        charging_state: str | None,
        time: datetime,
        samples: list[MeterSample],
        stopped_reason: str | None = None,
    ) -> None:
        """A 2.0.1 TransactionEvent (repeated ones, or ones of ended transactions: nothing)."""
        if transaction_id in self.ended:
            return
        transaction = self.transaction
        if transaction is None or transaction.id != transaction_id:
            # Started, or the first event seen of a transaction whose start was lost.
            transaction = self.start_transaction(transaction_id, connector, id_tag, time)
            begin = next((s.begin_register_kwh for s in samples if s.begin_register_kwh), None)
            self.apply_start(transaction, begin)
        elif seq_no in transaction.seq_nos:
            return
        transaction.seq_nos.add(seq_no)
        if id_tag and transaction.id_tag is None:
            transaction.id_tag, transaction.user = id_tag, self.user_of(id_tag)
            self.last_tag = id_tag
        if charging_state is not None:
            self.charging_state = charging_state
        if samples:
            self.apply_samples(samples, transaction_id)
        if event_type == "Ended":
            if stopped_reason == "EVDisconnected":
                self.status = "Available"
            self._close(transaction, time, None)
        elif not samples:
            self._emit(time)

    def transaction_id_for(
        self, connector: int, time: datetime, meter_start: float | None
    ) -> tuple[str, bool]:
        """The 1.6 transaction id of a start, and whether it is new (ids survive restarts).

        A start the charge point repeats (its answer was lost) gets the id it got before.
        """
        key = (connector, time, meter_start)
        if (known := self._starts.get(key)) is not None:
            return known, False
        current = self.transaction
        if (
            current is not None
            and current.connector == connector
            and current.start == time
            and current.meter_start_wh == meter_start
        ):
            return current.id, False
        self.transaction_counter += 1
        self._starts = {key: str(self.transaction_counter)}
        return str(self.transaction_counter), True

    def on_charging_needs(self, departure: datetime | None, energy_kwh: float | None) -> None:
        """What the car asks for becomes the session's preferences."""
        self.departure = departure
        self.energy_wanted_kwh = energy_kwh
        self._emit(self._last_time or dt_util.utcnow())


class OcppLink:
    """What the source needs from a connection, whatever the protocol version."""

    def __init__(self, source: OcppSource, websocket: WebSocketLink) -> None:
        """Keep the websocket."""
        self.source = source
        self.websocket = websocket
        # Set when the websocket has closed: a command waiting for an answer fails at once.
        self.closed = asyncio.Event()

    async def start(self) -> None:
        """Serve until the websocket closes."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close the websocket."""
        await self.websocket.close()

    async def set_limit(self, amps: float) -> None:
        """Send a TxDefaultProfile with this limit."""
        raise NotImplementedError

    async def remote_start(self, id_tag: str) -> str:
        """Ask the charge point to start a transaction."""
        raise NotImplementedError

    async def remote_stop(self, transaction_id: str) -> str:
        """Ask the charge point to stop a transaction."""
        raise NotImplementedError

    async def reset(self, *, hard: bool) -> str:
        """Reset the charge point."""
        raise NotImplementedError

    async def change_availability(self, operative: bool) -> str:
        """Make the charge point available or not."""
        raise NotImplementedError

    async def trigger(self, message: str) -> str:
        """Ask for a status, meter values or boot notification now."""
        raise NotImplementedError


class _ProtocolMixin:
    """Message-level robustness shared by both versions (mixed into the ocpp ChargePoints).

    A frame repeated verbatim (same message id, same content) gets the answer the first one
    got and changes nothing; a message id reused for other content (counters restart after a
    reboot) is a new message.
    """

    source: OcppSource
    route_map: dict[str, Any]
    _answering: str | None
    format_violation: str

    def _setup_robustness(self) -> None:
        self._answering = None

    async def _call(self, payload: Any) -> Any:
        """Send a command; OcppCommandError when the charge point does not answer.

        A connection that closes while the command waits for its answer ends the wait at
        once, instead of after the response time-out.
        """
        closed: asyncio.Event = self.closed  # type: ignore[attr-defined]
        call = asyncio.ensure_future(self.call(payload))  # type: ignore[attr-defined]
        watch = asyncio.ensure_future(closed.wait())
        try:
            await asyncio.wait((call, watch), return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            if not call.done():
                call.cancel()
                await asyncio.wait((call,))
        try:
            return call.result()
        except TimeoutError as err:
            raise OcppCommandError(f"{self.source.charge_point_id} did not answer") from err
        except (ConnectionError, asyncio.CancelledError) as err:
            raise OcppCommandError(f"{self.source.charge_point_id} is not connected") from err

    async def route_message(self, raw_msg: str) -> None:
        """Answer malformed frames with a CALLERROR, repeated message ids with the same answer."""
        try:
            msg = unpack(raw_msg)
        except OCPPError as err:
            self.source.rejected_messages += 1
            unique_id = _message_id(raw_msg)
            await self._send(
                json.dumps([4, unique_id, self.format_violation, str(err.description), {}])
            )
            return
        if isinstance(msg, Call):
            if (answer := self.source.answers.get(raw_msg)) is not None:
                self.source.repeated_messages += 1
                await super()._send(answer)  # type: ignore[misc]
                return
            self._answering = raw_msg
            if msg.action not in self.route_map:
                # Not known here: NotImplemented, as the specification words it.
                error = OcppNotImplementedError(details={"cause": f"{msg.action} is not handled"})
                try:
                    await self._send(msg.create_call_error(error).to_json())
                finally:
                    self._answering = None
                return
        try:
            await super().route_message(raw_msg)  # type: ignore[misc]
        finally:
            self._answering = None

    async def _send(self, message: str) -> None:
        if self._answering is not None:
            answers = self.source.answers
            answers[self._answering] = message
            while len(answers) > MESSAGE_ID_MEMORY:
                answers.popitem(last=False)
        await super()._send(message)  # type: ignore[misc]


def _message_id(raw: str) -> str:
    """The message id of a frame that could not be read, when there is one."""
    try:
        frame = json.loads(raw)
    except ValueError:
        return "-1"
    if isinstance(frame, list) and len(frame) > 1 and isinstance(frame[1], str):
        return frame[1]
    return "-1"


def _status(answer: Any) -> str:
    if answer is None:
        raise OcppCommandError("the charge point answered with an error")
    return str(answer.status)


class OcppLink16(_ProtocolMixin, ChargePoint16, OcppLink):  # type: ignore[misc]
    """OCPP 1.6J."""

    format_violation = "FormationViolation"  # so spelled in 1.6

    def __init__(self, source: OcppSource, websocket: WebSocketLink) -> None:
        """A 1.6 charge point on this websocket."""
        OcppLink.__init__(self, source, websocket)
        ChargePoint16.__init__(
            self, source.charge_point_id, websocket, response_timeout=RESPONSE_TIMEOUT_S
        )
        self._setup_robustness()

    async def set_limit(self, amps: float) -> None:
        """TxDefaultProfile on connector 0 (all connectors, running transactions too)."""
        answer = await self._call(
            call16.SetChargingProfile(
                connector_id=0,
                cs_charging_profiles={
                    "chargingProfileId": PROFILE_ID,
                    "stackLevel": 1,
                    "chargingProfilePurpose": "TxDefaultProfile",
                    "chargingProfileKind": "Relative",
                    "chargingSchedule": {
                        "chargingRateUnit": "A",
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": amps}],
                    },
                },
            )
        )
        if _status(answer) != "Accepted":
            raise OcppCommandError(f"charging profile {answer.status}")

    async def remote_start(self, id_tag: str) -> str:
        """RemoteStartTransaction on connector 1."""
        return _status(
            await self._call(call16.RemoteStartTransaction(id_tag=id_tag, connector_id=1))
        )

    async def remote_stop(self, transaction_id: str) -> str:
        """RemoteStopTransaction."""
        return _status(
            await self._call(call16.RemoteStopTransaction(transaction_id=int(transaction_id)))
        )

    async def reset(self, *, hard: bool) -> str:
        """Reset."""
        return _status(await self._call(call16.Reset(type="Hard" if hard else "Soft")))

    async def change_availability(self, operative: bool) -> str:
        """ChangeAvailability of the whole charge point."""
        kind = "Operative" if operative else "Inoperative"
        return _status(await self._call(call16.ChangeAvailability(connector_id=0, type=kind)))

    async def trigger(self, message: str) -> str:
        """TriggerMessage."""
        requested = TRIGGERS[message]
        return _status(await self._call(call16.TriggerMessage(requested_message=requested)))

    # -- messages from the charge point ----------------------------------------------

    @handles("BootNotification")
    def on_boot_notification(self, **payload: Any) -> call16_result.BootNotification:
        """Accept and note the boot data."""
        self.source.received()
        self.source.on_boot(payload)
        return call16_result.BootNotification(
            current_time=dt_util.utcnow().isoformat(), interval=HEARTBEAT_S, status="Accepted"
        )

    @handles("Heartbeat")
    def on_heartbeat(self) -> call16_result.Heartbeat:
        """The time."""
        self.source.received()
        return call16_result.Heartbeat(current_time=dt_util.utcnow().isoformat())

    @handles("StatusNotification")
    def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **payload: Any
    ) -> call16_result.StatusNotification:
        """A connector's status."""
        received = self.source.received()
        time = parse_time(payload.get("timestamp"), received)
        self.source.on_status(connector_id, status, error_code, time)
        return call16_result.StatusNotification()

    @handles("Authorize")
    def on_authorize(self, id_tag: str) -> call16_result.Authorize:
        """Accept known tags; unknown ones by option."""
        self.source.received()
        return call16_result.Authorize(id_tag_info={"status": self.source.authorize(id_tag)})

    @handles("StartTransaction")
    def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any
    ) -> call16_result.StartTransaction:
        """A transaction id, the same one when the charge point repeats the message."""
        source = self.source
        received = source.received()
        time = parse_time(timestamp, received)
        transaction_id, new = source.transaction_id_for(connector_id, time, meter_start)
        if new and source.follows(connector_id):
            transaction = source.start_transaction(transaction_id, connector_id, id_tag, time)
            transaction.meter_start_wh = meter_start
            source.schedule(
                time,
                lambda: source.apply_start(transaction, wh_to_kwh(meter_start)),
            )
        return call16_result.StartTransaction(
            transaction_id=int(transaction_id),
            id_tag_info={"status": source.authorize(id_tag)},
        )

    @handles("StopTransaction")
    def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, **payload: Any
    ) -> call16_result.StopTransaction:
        """End the transaction with its final register and transaction data."""
        source = self.source
        received = source.received()
        time = parse_time(timestamp, received)
        samples = meter_samples(payload.get("transaction_data") or [], received)
        source.schedule(
            time,
            lambda: source.apply_stop(
                str(transaction_id), time, wh_to_kwh(meter_stop), samples, payload.get("reason")
            ),
        )
        id_tag = payload.get("id_tag")
        return call16_result.StopTransaction(
            id_tag_info={"status": source.authorize(id_tag)} if id_tag else None
        )

    @handles("MeterValues")
    def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **payload: Any
    ) -> call16_result.MeterValues:
        """Meter values of a connector (connector 0 is the station's own meter)."""
        source = self.source
        received = source.received()
        if source.follows(connector_id):
            transaction_id = payload.get("transaction_id")
            samples = meter_samples(meter_value, received, source.last_register_kwh)
            if samples:
                source.schedule(
                    samples[0].time,
                    lambda: source.apply_samples(
                        samples, None if transaction_id is None else str(transaction_id)
                    ),
                )
        return call16_result.MeterValues()

    @handles("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **_: Any) -> call16_result.DataTransfer:
        """No vendor extensions are known."""
        self.source.received()
        return call16_result.DataTransfer(status="UnknownVendorId")

    @handles("FirmwareStatusNotification")
    def on_firmware_status(self, status: str) -> call16_result.FirmwareStatusNotification:
        """Note the firmware status."""
        self.source.received()
        self.source.boot["firmware_status"] = status
        return call16_result.FirmwareStatusNotification()

    @handles("DiagnosticsStatusNotification")
    def on_diagnostics_status(self, status: str) -> call16_result.DiagnosticsStatusNotification:
        """Note the diagnostics status."""
        self.source.received()
        self.source.boot["diagnostics_status"] = status
        return call16_result.DiagnosticsStatusNotification()


def _id_token(token: Mapping[str, Any] | None) -> str | None:
    if not token:
        return None
    value = token.get("id_token")
    return str(value) if value else None


class OcppLink201(_ProtocolMixin, ChargePoint201, OcppLink):  # type: ignore[misc]
    """OCPP 2.0.1."""

    format_violation = "FormatViolation"

    def __init__(self, source: OcppSource, websocket: WebSocketLink) -> None:
        """A 2.0.1 charging station on this websocket."""
        OcppLink.__init__(self, source, websocket)
        ChargePoint201.__init__(
            self, source.charge_point_id, websocket, response_timeout=RESPONSE_TIMEOUT_S
        )
        self._setup_robustness()
        self._remote_start_id = 0

    async def set_limit(self, amps: float) -> None:
        """TxDefaultProfile on EVSE 0 (the whole station, running transactions too)."""
        answer = await self._call(
            call201.SetChargingProfile(
                evse_id=0,
                charging_profile={
                    "id": PROFILE_ID,
                    "stackLevel": 1,
                    "chargingProfilePurpose": "TxDefaultProfile",
                    "chargingProfileKind": "Relative",
                    "chargingSchedule": [
                        {
                            "id": 1,
                            "chargingRateUnit": "A",
                            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": amps}],
                        }
                    ],
                },
            )
        )
        if _status(answer) != "Accepted":
            raise OcppCommandError(f"charging profile {answer.status}")

    async def remote_start(self, id_tag: str) -> str:
        """RequestStartTransaction on EVSE 1."""
        self._remote_start_id += 1
        return _status(
            await self._call(
                call201.RequestStartTransaction(
                    id_token={"idToken": id_tag, "type": "Central"},
                    remote_start_id=self._remote_start_id,
                    evse_id=1,
                )
            )
        )

    async def remote_stop(self, transaction_id: str) -> str:
        """RequestStopTransaction."""
        return _status(
            await self._call(call201.RequestStopTransaction(transaction_id=transaction_id))
        )

    async def reset(self, *, hard: bool) -> str:
        """Reset: Immediate (hard) or OnIdle (soft)."""
        return _status(await self._call(call201.Reset(type="Immediate" if hard else "OnIdle")))

    async def change_availability(self, operative: bool) -> str:
        """ChangeAvailability of the whole station."""
        status = "Operative" if operative else "Inoperative"
        return _status(await self._call(call201.ChangeAvailability(operational_status=status)))

    async def trigger(self, message: str) -> str:
        """TriggerMessage."""
        requested = TRIGGERS[message]
        return _status(await self._call(call201.TriggerMessage(requested_message=requested)))

    # -- messages from the charging station ----------------------------------------

    @handles("BootNotification")
    def on_boot_notification(
        self, charging_station: dict[str, Any], **_: Any
    ) -> call201_result.BootNotification:
        """Accept and note the boot data."""
        self.source.received()
        self.source.on_boot(charging_station)
        return call201_result.BootNotification(
            current_time=dt_util.utcnow().isoformat(), interval=HEARTBEAT_S, status="Accepted"
        )

    @handles("Heartbeat")
    def on_heartbeat(self, **_: Any) -> call201_result.Heartbeat:
        """The time."""
        self.source.received()
        return call201_result.Heartbeat(current_time=dt_util.utcnow().isoformat())

    @handles("StatusNotification")
    def on_status_notification(
        self, timestamp: str, connector_status: str, evse_id: int, **_: Any
    ) -> call201_result.StatusNotification:
        """An EVSE's connector status."""
        received = self.source.received()
        self.source.on_status(evse_id, connector_status, None, parse_time(timestamp, received))
        return call201_result.StatusNotification()

    @handles("Authorize")
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call201_result.Authorize:
        """Accept known tokens; unknown ones by option."""
        self.source.received()
        status = self.source.authorize(_id_token(id_token))
        return call201_result.Authorize(id_token_info={"status": status})

    @handles("TransactionEvent")
    def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        **payload: Any,
    ) -> call201_result.TransactionEvent:
        """Started, Updated and Ended, with their meter values and id token."""
        source = self.source
        received = source.received()
        time = parse_time(timestamp, received)
        transaction_id = str(transaction_info["transaction_id"])
        evse = payload.get("evse") or {}
        connector = int(evse.get("id", 1))
        id_tag = _id_token(payload.get("id_token"))
        samples = meter_samples(
            payload.get("meter_value") or [], received, source.last_register_kwh
        )
        charging_state = transaction_info.get("charging_state")
        if source.follows(connector):
            source.schedule(
                time,
                lambda: source.apply_event(
                    event_type,
                    transaction_id,
                    seq_no,
                    connector,
                    id_tag,
                    charging_state,
                    time,
                    samples,
                    transaction_info.get("stopped_reason"),
                ),
            )
        if id_tag is None:
            return call201_result.TransactionEvent()
        return call201_result.TransactionEvent(id_token_info={"status": source.authorize(id_tag)})

    @handles("MeterValues")
    def on_meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], **_: Any
    ) -> call201_result.MeterValues:
        """Meter values outside transactions (EVSE 0 is the station's own meter)."""
        source = self.source
        received = source.received()
        if source.follows(evse_id):
            samples = meter_samples(meter_value, received, source.last_register_kwh)
            if samples:
                source.schedule(samples[0].time, lambda: source.apply_samples(samples, None))
        return call201_result.MeterValues()

    @handles("NotifyEVChargingNeeds")
    def on_notify_ev_charging_needs(
        self, charging_needs: dict[str, Any], evse_id: int, **_: Any
    ) -> call201_result.NotifyEVChargingNeeds:
        """The car's departure time and the energy it wants become the session's preferences."""
        source = self.source
        received = source.received()
        if not source.follows(evse_id):
            return call201_result.NotifyEVChargingNeeds(status="Rejected")
        departure_text = charging_needs.get("departure_time")
        departure = parse_moment(departure_text)
        parameters = (
            charging_needs.get("ac_charging_parameters")
            or charging_needs.get("dc_charging_parameters")
            or {}
        )
        energy_wh = parameters.get("energy_amount")
        source.schedule(
            received,
            lambda: source.on_charging_needs(
                departure, None if energy_wh is None else float(energy_wh) / 1000
            ),
        )
        return call201_result.NotifyEVChargingNeeds(status="Accepted")

    @handles("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **_: Any) -> call201_result.DataTransfer:
        """No vendor extensions are known."""
        self.source.received()
        return call201_result.DataTransfer(status="UnknownVendorId")

    @handles("FirmwareStatusNotification")
    def on_firmware_status(
        self, status: str, **_: Any
    ) -> call201_result.FirmwareStatusNotification:
        """Note the firmware status."""
        self.source.received()
        self.source.boot["firmware_status"] = status
        return call201_result.FirmwareStatusNotification()


def create(hass: HomeAssistant, data: Mapping[str, Any]) -> OcppSource:
    """Build the source from config entry data (and the users' options)."""
    return OcppSource(hass, data)
