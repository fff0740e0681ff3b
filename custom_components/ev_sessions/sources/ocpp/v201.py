"""OCPP 2.0.1: the central system's handlers and commands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
import logging
from typing import Any

from ocpp.v201 import (
    ChargePoint as ChargePoint201,
    call as call201,
    call_result as call201_result,
)

from homeassistant.util import dt as dt_util

from ...model.ocpp_meter import MeterSample, meter_samples, parse_moment, parse_time
from .charge_point import ChargePoint
from .const import HEARTBEAT_S, PROFILE_ID, PROTOCOL_201, RESPONSE_TIMEOUT_S, TRIGGERS
from .link import OcppLink, ProtocolMixin, answer_status, handles, require_accepted
from .server import WebSocketLink

_LOGGER = logging.getLogger(__name__)


def _id_token(token: Mapping[str, Any] | None) -> str | None:
    if not token:
        return None
    value = token.get("id_token")
    return str(value) if value else None


@dataclass(frozen=True, slots=True)
class TransactionEvent:
    """What a 2.0.1 TransactionEvent says."""

    kind: str  # Started, Updated, Ended
    transaction_id: str
    seq_no: int
    connector: int
    id_tag: str | None
    charging_state: str | None
    time: datetime
    samples: list[MeterSample]
    stopped_reason: str | None


def apply_transaction_event(charge_point: ChargePoint, event: TransactionEvent) -> None:
    """Apply a TransactionEvent (repeated ones, or ones of ended transactions: nothing)."""
    if event.transaction_id in charge_point.ended:
        return
    transaction = charge_point.transaction
    if transaction is None or transaction.id != event.transaction_id:
        # Started, or the first event seen of a transaction whose start was lost.
        transaction = charge_point.start_transaction(
            event.transaction_id, event.connector, event.id_tag, event.time
        )
        begin = next((s.begin_register_kwh for s in event.samples if s.begin_register_kwh), None)
        charge_point.apply_start(transaction, begin)
    elif event.seq_no in transaction.seq_nos:
        return
    transaction.seq_nos.add(event.seq_no)
    if event.id_tag and transaction.id_tag is None:
        transaction.id_tag = event.id_tag
        transaction.user = charge_point.tags.user_of(event.id_tag)
        charge_point.last_tag = event.id_tag
    if event.charging_state is not None:
        charge_point.charging_state = event.charging_state
    if event.samples:
        charge_point.apply_samples(event.samples, event.transaction_id)
    if event.kind == "Ended":
        if event.stopped_reason == "EVDisconnected":
            charge_point.status = "Available"
        charge_point.close(transaction, event.time, None)
    elif not event.samples:
        charge_point.emit(event.time)


def apply_charging_needs(
    charge_point: ChargePoint, departure: datetime | None, energy_kwh: float | None
) -> None:
    """What the car asks for (NotifyEVChargingNeeds) becomes the session's preferences."""
    charge_point.departure = departure
    charge_point.energy_wanted_kwh = energy_kwh
    charge_point.emit(charge_point.last_time or dt_util.utcnow())


class OcppLink201(ProtocolMixin, ChargePoint201, OcppLink):  # type: ignore[misc]
    """OCPP 2.0.1."""

    format_violation = "FormatViolation"
    protocol = PROTOCOL_201

    def __init__(self, charge_point: ChargePoint, websocket: WebSocketLink) -> None:
        """A 2.0.1 charging station on this websocket."""
        OcppLink.__init__(self, charge_point, websocket)
        ChargePoint201.__init__(
            self, charge_point.charge_point_id, websocket, response_timeout=RESPONSE_TIMEOUT_S
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
        require_accepted(answer, "charging profile")

    async def remote_start(self, id_tag: str) -> str:
        """RequestStartTransaction on EVSE 1."""
        self._remote_start_id += 1
        return answer_status(
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
        return answer_status(
            await self._call(call201.RequestStopTransaction(transaction_id=transaction_id))
        )

    async def reset(self, *, hard: bool) -> str:
        """Reset: Immediate (hard) or OnIdle (soft)."""
        reset = call201.Reset(type="Immediate" if hard else "OnIdle")
        return answer_status(await self._call(reset))

    async def unlock(self, connector: int) -> str:
        """UnlockConnector of the EVSE's first connector."""
        unlock = call201.UnlockConnector(evse_id=connector, connector_id=1)
        return answer_status(await self._call(unlock))

    async def change_availability(self, operative: bool) -> str:
        """ChangeAvailability of the whole station."""
        status = "Operative" if operative else "Inoperative"
        change = call201.ChangeAvailability(operational_status=status)
        return answer_status(await self._call(change))

    async def trigger(self, message: str) -> str:
        """TriggerMessage."""
        requested = TRIGGERS[message]
        return answer_status(await self._call(call201.TriggerMessage(requested_message=requested)))

    # -- messages from the charging station ----------------------------------------

    @handles("BootNotification")
    def on_boot_notification(
        self, charging_station: dict[str, Any], **_: Any
    ) -> call201_result.BootNotification:
        """Accept and note the boot data."""
        self.charge_point.received()
        self.charge_point.on_boot(charging_station)
        return call201_result.BootNotification(
            current_time=dt_util.utcnow().isoformat(), interval=HEARTBEAT_S, status="Accepted"
        )

    @handles("Heartbeat")
    def on_heartbeat(self, **_: Any) -> call201_result.Heartbeat:
        """The time."""
        self.charge_point.received()
        return call201_result.Heartbeat(current_time=dt_util.utcnow().isoformat())

    @handles("StatusNotification")
    def on_status_notification(
        self, timestamp: str, connector_status: str, evse_id: int, **_: Any
    ) -> call201_result.StatusNotification:
        """An EVSE's connector status."""
        received = self.charge_point.received()
        self.charge_point.on_status(
            evse_id, connector_status, None, parse_time(timestamp, received)
        )
        return call201_result.StatusNotification()

    @handles("Authorize")
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call201_result.Authorize:
        """Accept known tokens; unknown ones by option."""
        self.charge_point.received()
        status = self.charge_point.tags.authorize(_id_token(id_token))
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
        charge_point = self.charge_point
        received = charge_point.received()
        time = parse_time(timestamp, received)
        transaction_id = str(transaction_info["transaction_id"])
        evse = payload.get("evse") or {}
        connector = int(evse.get("id", 1))
        id_tag = _id_token(payload.get("id_token"))
        samples = meter_samples(
            payload.get("meter_value") or [], received, charge_point.last_register_kwh
        )
        charging_state = transaction_info.get("charging_state")
        if charge_point.follows(connector, transaction=True):
            event = TransactionEvent(
                event_type,
                transaction_id,
                seq_no,
                connector,
                id_tag,
                charging_state,
                time,
                samples,
                transaction_info.get("stopped_reason"),
            )
            charge_point.schedule(time, lambda: apply_transaction_event(charge_point, event))
        if id_tag is None:
            return call201_result.TransactionEvent()
        return call201_result.TransactionEvent(
            id_token_info={"status": charge_point.tags.authorize(id_tag)}
        )

    @handles("MeterValues")
    def on_meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], **_: Any
    ) -> call201_result.MeterValues:
        """Meter values outside transactions (EVSE 0 is the station's own meter)."""
        charge_point = self.charge_point
        received = charge_point.received()
        if charge_point.follows(evse_id):
            samples = meter_samples(meter_value, received, charge_point.last_register_kwh)
            if samples:
                charge_point.schedule(
                    samples[0].time, lambda: charge_point.apply_samples(samples, None)
                )
        return call201_result.MeterValues()

    @handles("NotifyEVChargingNeeds")
    def on_notify_ev_charging_needs(
        self, charging_needs: dict[str, Any], evse_id: int, **_: Any
    ) -> call201_result.NotifyEVChargingNeeds:
        """The car's departure time and the energy it wants become the session's preferences."""
        charge_point = self.charge_point
        received = charge_point.received()
        if not charge_point.follows(evse_id):
            return call201_result.NotifyEVChargingNeeds(status="Rejected")
        departure_text = charging_needs.get("departure_time")
        departure = parse_moment(departure_text)
        parameters = (
            charging_needs.get("ac_charging_parameters")
            or charging_needs.get("dc_charging_parameters")
            or {}
        )
        energy_wh = parameters.get("energy_amount")
        charge_point.schedule(
            received,
            lambda: apply_charging_needs(
                charge_point, departure, None if energy_wh is None else float(energy_wh) / 1000
            ),
        )
        return call201_result.NotifyEVChargingNeeds(status="Accepted")

    @handles("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **_: Any) -> call201_result.DataTransfer:
        """No vendor extensions are known."""
        self.charge_point.received()
        return call201_result.DataTransfer(status="UnknownVendorId")

    @handles("FirmwareStatusNotification")
    def on_firmware_status(
        self, status: str, **_: Any
    ) -> call201_result.FirmwareStatusNotification:
        """Note the firmware status."""
        self.charge_point.received()
        self.charge_point.boot["firmware_status"] = status
        return call201_result.FirmwareStatusNotification()
