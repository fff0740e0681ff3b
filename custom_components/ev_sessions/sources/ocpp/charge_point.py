"""What a charge point has said: its identity, connector status, transactions and meter values.

Energy is never the register's absolute value (it is a lifetime counter on some boxes, a
per-transaction one on others, and both on ABB): each transaction's energy is its register minus
the transaction's first register, added to a register of EV Sessions' own, which is what the
session tracker sees.

Messages the charge point queued while offline arrive after a reconnect with old timestamps,
behind the live status it sends first. For a short window after each connect, what the
messages say is applied in timestamp order; later, a message older than the last one applied
counts at the time of the last one (it still lands in the session it belongs to).

The protocol handlers (``v16``, ``v201``) change this state and nothing else; it imports none
of them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ...model.ocpp_meter import MeterSample
from ...model.reading import Reading
from ..base import DeviceFacts, PushCallback, text
from .const import PLUGGED_16
from .tags import IdTags
from .window import ReorderWindow

_LOGGER = logging.getLogger(__name__)


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
    lifetime_start_kwh: float | None = None  # ABB: the lifetime start, when inside is per session
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


class ChargePoint:
    """The state of one charge point, as its messages tell it."""

    def __init__(self, hass: HomeAssistant, charge_point_id: str) -> None:
        """Nothing known yet."""
        self.charge_point_id = charge_point_id
        self.tags = IdTags()
        self.connector: int | None = None
        self.connector_settled = False  # a transaction was seen on self.connector
        self.chosen: int | None = None  # the connector the user chose to follow
        self.device = DeviceFacts(model="OCPP charge point")
        self.boot: dict[str, Any] = {}
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
        self.departure: datetime | None = None
        self.energy_wanted_kwh: float | None = None
        self.last_tag: str | None = None
        self.last_message: datetime | None = None
        self.messages = 0
        self.rejected_messages = 0
        self.repeated_messages = 0
        self.answers: OrderedDict[str, str] = OrderedDict()
        self.last_register_kwh: float | None = None
        # 1.6 starts answered (a repeat gets the same id): see v16.transaction_id_for
        self.starts: dict[tuple[int, datetime, float | None], str] = {}
        self.ended: list[str] = []  # the last transactions ended, newest last
        self.others: set[str] = set()  # transactions of connectors not followed (this run)
        self.push: PushCallback | None = None
        self.last_time: datetime | None = None
        self.window = ReorderWindow(hass)

    def as_dict(self) -> dict[str, Any]:
        """The open transaction, the register and the transaction counter."""
        return {
            "transaction": None if self.transaction is None else self.transaction.as_dict(),
            "transaction_counter": self.transaction_counter,
            "connector": self.connector,
            "connector_settled": self.connector_settled,
            "energy_kwh": self.energy_kwh,
            "status": self.status,
            "last_tag": self.last_tag,
            "ended": self.ended,
            "boot": self.boot,
            # The last register read: unit-less OCMF values are told from Wh by it.
            "last_register_kwh": self.last_register_kwh,
            "last_time": None if self.last_time is None else self.last_time.isoformat(),
            "held_frames": [list(frame) for frame in self.window.frames],
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back an open transaction after a restart: its start meter is not lost."""
        if data.get("transaction"):
            self.transaction = Transaction.from_dict(data["transaction"])
        self.transaction_counter = int(data.get("transaction_counter", 0))
        self.connector = data.get("connector")
        self.connector_settled = data.get("connector_settled") is True or bool(
            data.get("transaction")
        )
        self.energy_kwh = float(data.get("energy_kwh", 0.0))
        self.status = data.get("status")
        self.last_tag = data.get("last_tag")
        self.ended = list(data.get("ended", []))
        self.choose_connector(self.chosen)
        if isinstance(last := data.get("last_register_kwh"), int | float):
            self.last_register_kwh = float(last)
        if isinstance(data.get("boot"), dict):
            self._note_boot(data["boot"])  # who it is, until it boots again
        if data.get("last_time"):
            self.last_time = datetime.fromisoformat(data["last_time"])
        self.window.frames = [
            (str(frame[0]), str(frame[1]))
            for frame in data.get("held_frames") or []
            if isinstance(frame, list) and len(frame) == 2
        ]

    # -- ordering ----------------------------------------------------------------

    def schedule(self, time: datetime, apply: Callable[[], None]) -> None:
        """Apply now, or after the reorder window when it is open."""
        self.window.schedule(time, apply)

    def poll(self, now: datetime, *, connected: bool = True) -> Reading:
        """The state now, or at the last time applied while the box is away or sorting.

        What a box queued while away comes after its reconnect, with its own older times:
        neither a poll during the outage nor one inside the reorder window runs ahead of it.
        """
        if self.window.holding or not connected:
            return self.reading(self.last_time or now)
        self.last_time = max(now, self.last_time or now)
        return self.reading(self.last_time)

    def emit(self, time: datetime, energy_kwh: float | None = None) -> None:
        """Tell the coordinator; never earlier than what it was told before."""
        if self.last_time is not None and time < self.last_time:
            time = self.last_time
        self.last_time = time
        if self.push is not None:
            self.push(self.reading(time, energy_kwh))

    def reading(self, time: datetime, energy_kwh: float | None = None) -> Reading:
        """What the charge point's state means for the session at a time."""
        transaction = self.transaction
        return Reading(
            time=time,
            power_w=self.power_w,
            energy_kwh=energy_kwh,
            energy_vouched=energy_kwh is not None,
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

    def choose_connector(self, connector: int | None) -> None:
        """Follow one connector (chosen in the options), or find it (None or 0)."""
        if not connector or connector <= 0:
            self.chosen = None
            return
        if connector != self.connector and self.transaction is None:
            self.status = self.error_code = None
        self.chosen = self.connector = connector
        self.connector_settled = True

    def follows(self, connector: int, *, transaction: bool = False) -> bool:
        """Whether a connector is the one this entry follows: that of the first transaction.

        Until a transaction has been seen, the first connector that reports is followed; the
        first transaction (on any connector, while the followed one has none) settles it for
        good. Connector (EVSE) 0 is the whole station, never a session.
        """
        if connector <= 0:
            return False
        if self.chosen is not None:
            return connector == self.chosen
        if self.connector is None:
            self.connector = connector
        if transaction and not self.connector_settled:
            if connector != self.connector and self.transaction is None:
                _LOGGER.info(
                    "Charge point %s: following connector %s, where the first transaction is",
                    self.charge_point_id,
                    connector,
                )
                self.connector = connector
                self.status = self.error_code = None
            self.connector_settled = connector == self.connector
        return connector == self.connector

    def received(self) -> datetime:
        """Note a message and return the time it arrived."""
        now = dt_util.utcnow()
        self.last_message = now
        self.messages += 1
        return now

    def on_boot(self, data: Mapping[str, Any]) -> None:
        """Boot data, shown at once (a box updated boots again with its new firmware).

        Nothing else changes: the coordinator is told the state as it stands, as at the
        next tick's poll (which never runs ahead of what the reorder window holds).
        """
        self._note_boot(data)
        if self.push is not None:
            self.push(self.poll(self.last_message or dt_util.utcnow()))

    def _note_boot(self, data: Mapping[str, Any]) -> None:
        """Who the box is: vendor, model, firmware, serial."""
        self.boot = {k: v for k, v in data.items() if isinstance(v, str | int | dict)}
        serial = (
            data.get("charge_point_serial_number")
            or data.get("charge_box_serial_number")
            or data.get("serial_number")
        )
        self.device = DeviceFacts(
            manufacturer=text(data.get("charge_point_vendor") or data.get("vendor_name")),
            model=text(data.get("charge_point_model") or data.get("model")) or self.device.model,
            sw_version=text(data.get("firmware_version")),
            serial_number=text(serial),
        )

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
            self.emit(time)

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
            user=self.tags.user_of(id_tag),
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
        self.emit(transaction.start, self.energy_kwh if meter_start_kwh is not None else None)

    def apply_samples(self, samples: list[MeterSample], transaction_id: str | None) -> None:
        """Meter values, each at its own time (of a transaction never seen: adopted)."""
        if transaction_id is not None and samples:
            self._adopt(transaction_id, samples[0].time)
        for sample in samples:
            self._apply_sample(sample, transaction_id)

    def _adopt(self, transaction_id: str, time: datetime) -> None:
        """Take up a transaction this entry never saw start.

        Home Assistant restarted before it was saved, or the entry was added again: its
        energy counts from its first meter value on, and the session goes on or begins.
        Transactions of connectors this entry does not follow are never taken up.
        """
        current = self.transaction
        if (
            transaction_id in self.ended
            or transaction_id in self.others
            or (current is not None and current.id == transaction_id)
        ):
            return
        _LOGGER.info(
            "Charge point %s: transaction %s was not known here; taking it up",
            self.charge_point_id,
            transaction_id,
        )
        if transaction_id.isdigit():
            # 1.6 ids are ours: never hand this one out again.
            self.transaction_counter = max(self.transaction_counter, int(transaction_id))
        self.apply_start(
            self.start_transaction(transaction_id, self.connector or 1, None, time), None
        )

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
        self.emit(sample.time, energy)

    def _register(self, transaction: Transaction, register_kwh: float | None) -> float | None:
        """EV Sessions' register from the charge point's (None: no register in the sample)."""
        if register_kwh is None:
            return None
        self.last_register_kwh = register_kwh
        if transaction.first_kwh is None:
            transaction.first_kwh = register_kwh
        elif transaction.registers == 0 and 0 < register_kwh < transaction.first_kwh - 0.01:
            # Session energy inside a transaction, lifetime outside (ABB): count from zero.
            transaction.lifetime_start_kwh = transaction.first_kwh
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
            if transaction_id in self.ended or not (samples or self.status in PLUGGED_16):
                # Ended already, or nothing says it was this connector's: ignored.
                _LOGGER.debug("Stop of unknown transaction %s ignored", transaction_id)
                return
            self._adopt(transaction_id, samples[0].time if samples else time)
            transaction = self.transaction
            if transaction is None or transaction.id != transaction_id:
                return
        self.apply_samples(samples, transaction_id)
        if reason == "EVDisconnected":
            # The cable came out with the stop (the status may only tell after a reconnect).
            self.status = "Available"
        lifetime = transaction.lifetime_start_kwh
        if lifetime is not None and meter_stop_kwh is not None and meter_stop_kwh >= lifetime:
            # ABB: the stop meter is the lifetime counter again; the transaction's energy is
            # stop minus start, including what came after the last meter values.
            meter_stop_kwh -= lifetime
        self.close(transaction, time, self._register(transaction, meter_stop_kwh))

    def close(self, transaction: Transaction, time: datetime, energy: float | None) -> None:
        """End a transaction at a time (with its last register, when known)."""
        if time < transaction.start:
            # Stamped before its own start (Grizzl-E): it ended when the message came.
            time = max(dt_util.utcnow(), transaction.start)
        self.transaction = None
        if self.status is None:
            # A box that tells no connector status (Blink): the session is its transaction.
            self.status = "Available"
        self.ended = [*self.ended[-19:], transaction.id]
        self.charging_state = None
        self.power_w = 0.0
        self.departure = self.energy_wanted_kwh = None
        self.emit(time, energy)
