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

from collections import OrderedDict
from collections.abc import Callable, Mapping
import contextlib
from datetime import datetime, timedelta
import logging
from typing import Any

from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ...const import (
    CONF_ACCEPT_UNKNOWN_TAGS,
    CONF_CHARGE_POINT_ID,
    CONF_ID_TAGS,
    DEFAULT_OCPP_PORT,
)
from ...model.ocpp_meter import MeterSample
from ...model.reading import Reading
from ..base import Capability, PushCallback, SourceError
from .const import (
    DISCONNECT_GRACE,
    PLUGGED_16,
    PROTOCOL_201,
    REMOTE_ID_TAG,
    OcppCommandError,
)
from .link import OcppLink
from .server import WebSocketLink, async_register
from .state import Transaction
from .v16 import OcppLink16
from .v201 import OcppLink201
from .window import ReorderWindow

_LOGGER = logging.getLogger(__name__)


class OcppSource:
    """A charge point speaking OCPP to EV Sessions' central system."""

    uses_connection = True
    has_register = True
    has_soc = True
    capabilities = frozenset(
        {Capability.START_STOP, Capability.CURRENT_LIMIT, Capability.COMMANDS, Capability.USERS}
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
        self._window = ReorderWindow(hass)
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
        self._push = push
        self._server_release = await async_register(self.hass, self)

    async def async_stop(self) -> None:
        """Drop the connection and unregister."""
        self._push = None
        self._window.cancel()
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
        if self._window.holding:
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
        self._window.open()
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

    def schedule(self, time: datetime, apply: Callable[[], None]) -> None:
        """Apply now, or after the reorder window when it is open."""
        self._window.schedule(time, apply)

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
