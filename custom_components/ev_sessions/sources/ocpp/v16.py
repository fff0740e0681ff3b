"""OCPP 1.6J: the central system's handlers and commands."""

from __future__ import annotations

from datetime import datetime
import logging
from typing import Any

from ocpp.v16 import (
    ChargePoint as ChargePoint16,
    call as call16,
    call_result as call16_result,
)

from homeassistant.util import dt as dt_util

from ...model.ocpp_meter import meter_samples, parse_time, wh_to_kwh
from .charge_point import ChargePoint
from .const import HEARTBEAT_S, PROFILE_ID, PROTOCOL_16, RESPONSE_TIMEOUT_S, TRIGGERS
from .link import OcppLink, ProtocolMixin, answer_status, handles, require_accepted
from .server import WebSocketLink

_LOGGER = logging.getLogger(__name__)


def transaction_id_for(
    charge_point: ChargePoint, connector: int, time: datetime, meter_start: float | None
) -> tuple[str, bool]:
    """The 1.6 transaction id of a start, and whether it is new (ids survive restarts).

    A start the charge point repeats (its answer was lost) gets the id it got before.
    """
    key = (connector, time, meter_start)
    if (known := charge_point.starts.get(key)) is not None:
        return known, False
    current = charge_point.transaction
    if (
        current is not None
        and current.connector == connector
        and current.start == time
        and current.meter_start_wh == meter_start
    ):
        return current.id, False
    charge_point.transaction_counter += 1
    charge_point.starts = {key: str(charge_point.transaction_counter)}
    return str(charge_point.transaction_counter), True


class OcppLink16(ProtocolMixin, ChargePoint16, OcppLink):  # type: ignore[misc]
    """OCPP 1.6J."""

    format_violation = "FormationViolation"  # so spelled in 1.6
    protocol = PROTOCOL_16

    def __init__(self, charge_point: ChargePoint, websocket: WebSocketLink) -> None:
        """A 1.6 charge point on this websocket."""
        OcppLink.__init__(self, charge_point, websocket)
        ChargePoint16.__init__(
            self, charge_point.charge_point_id, websocket, response_timeout=RESPONSE_TIMEOUT_S
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
        require_accepted(answer, "charging profile")

    async def remote_start(self, id_tag: str) -> str:
        """RemoteStartTransaction on connector 1."""
        return answer_status(
            await self._call(call16.RemoteStartTransaction(id_tag=id_tag, connector_id=1))
        )

    async def remote_stop(self, transaction_id: str) -> str:
        """RemoteStopTransaction."""
        return answer_status(
            await self._call(call16.RemoteStopTransaction(transaction_id=int(transaction_id)))
        )

    async def reset(self, *, hard: bool) -> str:
        """Reset."""
        return answer_status(await self._call(call16.Reset(type="Hard" if hard else "Soft")))

    async def unlock(self, connector: int) -> str:
        """UnlockConnector (Unlocked, UnlockFailed or NotSupported)."""
        return answer_status(await self._call(call16.UnlockConnector(connector_id=connector)))

    async def change_availability(self, operative: bool) -> str:
        """ChangeAvailability of the whole charge point."""
        kind = "Operative" if operative else "Inoperative"
        return answer_status(await self._call(call16.ChangeAvailability(connector_id=0, type=kind)))

    async def trigger(self, message: str) -> str:
        """TriggerMessage."""
        requested = TRIGGERS[message]
        return answer_status(await self._call(call16.TriggerMessage(requested_message=requested)))

    # -- messages from the charge point ----------------------------------------------

    @handles("BootNotification")
    def on_boot_notification(self, **payload: Any) -> call16_result.BootNotification:
        """Accept and note the boot data."""
        self.charge_point.received()
        self.charge_point.on_boot(payload)
        return call16_result.BootNotification(
            current_time=dt_util.utcnow().isoformat(), interval=HEARTBEAT_S, status="Accepted"
        )

    @handles("Heartbeat")
    def on_heartbeat(self) -> call16_result.Heartbeat:
        """The time."""
        self.charge_point.received()
        return call16_result.Heartbeat(current_time=dt_util.utcnow().isoformat())

    @handles("StatusNotification")
    def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **payload: Any
    ) -> call16_result.StatusNotification:
        """A connector's status."""
        received = self.charge_point.received()
        time = parse_time(payload.get("timestamp"), received)
        self.charge_point.on_status(connector_id, status, error_code, time)
        return call16_result.StatusNotification()

    @handles("Authorize")
    def on_authorize(self, id_tag: str) -> call16_result.Authorize:
        """Accept known tags; unknown ones by option."""
        self.charge_point.received()
        return call16_result.Authorize(
            id_tag_info={"status": self.charge_point.tags.authorize(id_tag)}
        )

    @handles("StartTransaction")
    def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any
    ) -> call16_result.StartTransaction:
        """A transaction id, the same one when the charge point repeats the message."""
        charge_point = self.charge_point
        received = charge_point.received()
        time = parse_time(timestamp, received)
        transaction_id, new = transaction_id_for(charge_point, connector_id, time, meter_start)
        if new and charge_point.follows(connector_id, transaction=True):
            transaction = charge_point.start_transaction(transaction_id, connector_id, id_tag, time)
            transaction.meter_start_wh = meter_start
            charge_point.schedule(
                time,
                lambda: charge_point.apply_start(transaction, wh_to_kwh(meter_start)),
            )
        elif new:
            charge_point.others.add(transaction_id)
        return call16_result.StartTransaction(
            transaction_id=int(transaction_id),
            id_tag_info={"status": charge_point.tags.authorize(id_tag)},
        )

    @handles("StopTransaction")
    def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, **payload: Any
    ) -> call16_result.StopTransaction:
        """End the transaction with its final register and transaction data."""
        charge_point = self.charge_point
        received = charge_point.received()
        time = parse_time(timestamp, received)
        samples = meter_samples(payload.get("transaction_data") or [], received)
        charge_point.schedule(
            time,
            lambda: charge_point.apply_stop(
                str(transaction_id), time, wh_to_kwh(meter_stop), samples, payload.get("reason")
            ),
        )
        id_tag = payload.get("id_tag")
        return call16_result.StopTransaction(
            id_tag_info={"status": charge_point.tags.authorize(id_tag)} if id_tag else None
        )

    @handles("MeterValues")
    def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **payload: Any
    ) -> call16_result.MeterValues:
        """Meter values of a connector (connector 0 is the station's own meter)."""
        charge_point = self.charge_point
        received = charge_point.received()
        if charge_point.follows(connector_id):
            transaction_id = payload.get("transaction_id")
            samples = meter_samples(meter_value, received, charge_point.last_register_kwh)
            if samples:
                charge_point.schedule(
                    samples[0].time,
                    lambda: charge_point.apply_samples(
                        samples, None if transaction_id is None else str(transaction_id)
                    ),
                )
        return call16_result.MeterValues()

    @handles("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **_: Any) -> call16_result.DataTransfer:
        """No vendor extensions are known."""
        self.charge_point.received()
        return call16_result.DataTransfer(status="UnknownVendorId")

    @handles("FirmwareStatusNotification")
    def on_firmware_status(self, status: str) -> call16_result.FirmwareStatusNotification:
        """Note the firmware status."""
        self.charge_point.received()
        self.charge_point.boot["firmware_status"] = status
        return call16_result.FirmwareStatusNotification()

    @handles("DiagnosticsStatusNotification")
    def on_diagnostics_status(self, status: str) -> call16_result.DiagnosticsStatusNotification:
        """Note the diagnostics status."""
        self.charge_point.received()
        self.charge_point.boot["diagnostics_status"] = status
        return call16_result.DiagnosticsStatusNotification()
