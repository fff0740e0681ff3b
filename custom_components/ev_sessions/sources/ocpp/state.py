"""What the protocol handlers need from the charge point's state: one transaction, the interface."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
import logging
from typing import Any, Protocol

from ...model.ocpp_meter import MeterSample

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


class ChargePointState(Protocol):
    """What the protocol handlers read and change: the charge point's state (the source).

    The handlers know the source only through this, so imports run one way: the source
    imports the handlers, never the other way round.
    """

    charge_point_id: str
    boot: dict[str, Any]
    answers: OrderedDict[str, str]
    rejected_messages: int
    repeated_messages: int
    last_register_kwh: float | None

    def received(self) -> datetime:
        """Note a message's arrival; return the time."""

    def schedule(self, time: datetime, apply: Callable[[], None]) -> None:
        """Apply what a message says, in timestamp order while the reorder window is open."""

    def authorize(self, id_tag: str | None) -> str:
        """Accepted or Invalid for an id tag."""

    def follows(self, connector: int) -> bool:
        """Whether this entry follows a connector (EVSE)."""

    def on_boot(self, data: Mapping[str, Any]) -> None:
        """The charge point said who it is."""

    def on_status(
        self, connector: int, status: str, error_code: str | None, time: datetime
    ) -> None:
        """A connector's status changed."""

    def start_transaction(
        self, transaction_id: str, connector: int, id_tag: str | None, time: datetime
    ) -> Transaction:
        """A transaction began (not applied yet)."""

    def apply_start(self, transaction: Transaction, meter_start_kwh: float | None) -> None:
        """Apply a transaction's start."""

    def apply_samples(self, samples: list[MeterSample], transaction_id: str | None) -> None:
        """Apply meter values."""

    def apply_stop(
        self,
        transaction_id: str,
        time: datetime,
        meter_stop_kwh: float | None,
        samples: list[MeterSample],
        reason: str | None = None,
    ) -> None:
        """Apply a transaction's end."""

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
        """Apply a 2.0.1 TransactionEvent."""

    def transaction_id_for(
        self, connector: int, time: datetime, meter_start: float | None
    ) -> tuple[str, bool]:
        """The id for a 1.6 StartTransaction, and whether it is new."""

    def on_charging_needs(self, departure: datetime | None, energy_kwh: float | None) -> None:
        """What the car asks for."""
