"""A simulated OCPP 1.6J charge point, to try EV Sessions' central system without a wallbox.

    .venv/bin/python scripts/ocpp_charger.py ws://localhost:9000/demo-garage

It connects (and reconnects) like a real box: BootNotification, a StatusNotification, then
sessions one after another: plug in, a card (alternating 04A1B2C3 and 04D5E6F7) is
authorized, StartTransaction, MeterValues every 10 s (lifetime register in Wh, power, three
currents) until the car has had its energy, StopTransaction, unplug, a pause. It follows the
charging profiles EV Sessions sends (0 A pauses the car) and answers remote start and stop,
reset, availability and trigger requests.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
import logging
from typing import Any

import aiohttp
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result

VOLTAGE = 230.0
PHASES = 3
MAX_A = 16.0
TAGS = ("04A1B2C3", "04D5E6F7")
_LOGGER = logging.getLogger("ocpp_charger")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Link:
    """recv/send over an aiohttp client websocket."""

    def __init__(self, websocket: aiohttp.ClientWebSocketResponse) -> None:
        self.websocket = websocket

    async def recv(self) -> str:
        """The next text frame."""
        message = await self.websocket.receive()
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError("closed")
        return str(message.data)

    async def send(self, text: str) -> None:
        """Send a text frame."""
        await self.websocket.send_str(text)


class SimulatedBox(ChargePoint):  # type: ignore[misc]
    """One connector, a car that takes what the profile allows."""

    register_wh = 1_250_000.0
    limit_a = MAX_A
    available = True
    stop_requested = False

    @on("SetChargingProfile")
    def on_set_charging_profile(self, cs_charging_profiles: dict[str, Any], **_: Any) -> Any:
        """Follow the limit (below 6 A the car pauses)."""
        period = cs_charging_profiles["charging_schedule"]["charging_schedule_period"][0]
        self.limit_a = min(MAX_A, float(period["limit"]))
        _LOGGER.info("Charging profile: %.1f A", self.limit_a)
        return call_result.SetChargingProfile(status="Accepted")

    @on("RemoteStartTransaction")
    def on_remote_start(self, **_: Any) -> Any:
        """Accept (the next session starts on its own)."""
        return call_result.RemoteStartTransaction(status="Accepted")

    @on("RemoteStopTransaction")
    def on_remote_stop(self, **_: Any) -> Any:
        """Stop the transaction."""
        self.stop_requested = True
        return call_result.RemoteStopTransaction(status="Accepted")

    @on("Reset")
    def on_reset(self, **_: Any) -> Any:
        """Accept."""
        return call_result.Reset(status="Accepted")

    @on("ChangeAvailability")
    def on_change_availability(self, type: str, **_: Any) -> Any:
        """Note the availability."""
        self.available = type == "Operative"
        return call_result.ChangeAvailability(status="Accepted")

    @on("TriggerMessage")
    def on_trigger(self, **_: Any) -> Any:
        """Accept."""
        return call_result.TriggerMessage(status="Accepted")

    async def status(self, status: str) -> None:
        """Send the connector's status."""
        await self.call(
            call.StatusNotification(
                connector_id=1, error_code="NoError", status=status, timestamp=_now()
            )
        )

    async def session(self, tag: str, energy_wh: float, tick_s: float) -> None:
        """One plug-in to unplug."""
        await self.status("Preparing")
        await self.call(call.Authorize(id_tag=tag))
        started = await self.call(
            call.StartTransaction(
                connector_id=1, id_tag=tag, meter_start=int(self.register_wh), timestamp=_now()
            )
        )
        transaction_id = started.transaction_id
        await self.status("Charging")
        delivered = 0.0
        self.stop_requested = False
        while delivered < energy_wh and not self.stop_requested:
            await asyncio.sleep(tick_s)
            amps = self.limit_a if self.limit_a >= 6 else 0.0
            power = amps * VOLTAGE * PHASES
            step = power * tick_s / 3600
            delivered += step
            self.register_wh += step
            await self.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=transaction_id,
                    meter_value=[
                        {
                            "timestamp": _now(),
                            "sampledValue": [
                                {"value": f"{self.register_wh:.0f}", "unit": "Wh"},
                                {
                                    "value": f"{power:.0f}",
                                    "measurand": "Power.Active.Import",
                                    "unit": "W",
                                },
                                *(
                                    {
                                        "value": f"{amps:.1f}",
                                        "measurand": "Current.Import",
                                        "phase": phase,
                                        "unit": "A",
                                    }
                                    for phase in ("L1", "L2", "L3")
                                ),
                            ],
                        }
                    ],
                )
            )
        await self.status("Finishing")
        await self.call(
            call.StopTransaction(
                meter_stop=int(self.register_wh),
                timestamp=_now(),
                transaction_id=transaction_id,
                reason="EVDisconnected",
            )
        )
        await self.status("Available")


async def run(url: str, energy_kwh: float, pause_s: float, tick_s: float) -> None:
    """Connect, reconnect after a drop, and charge cars forever."""
    session_number = 0
    register_wh = SimulatedBox.register_wh
    async with aiohttp.ClientSession() as http:
        while True:
            serving: asyncio.Task[None] | None = None
            try:
                async with http.ws_connect(url, protocols=("ocpp1.6",)) as websocket:
                    box = SimulatedBox(url.rsplit("/", 1)[-1], Link(websocket))
                    box.register_wh = register_wh
                    serving = asyncio.create_task(box.start())
                    await box.call(
                        call.BootNotification(
                            charge_point_model="Simulated", charge_point_vendor="EV Sessions"
                        )
                    )
                    await box.status("Available")
                    while True:
                        await asyncio.sleep(pause_s)
                        tag = TAGS[session_number % len(TAGS)]
                        session_number += 1
                        await box.session(tag, energy_kwh * 1000, tick_s)
                        register_wh = box.register_wh
            except (aiohttp.ClientError, ConnectionError, OSError) as err:
                _LOGGER.info("Not connected (%s); trying again in 10 s", err)
                if serving is not None:
                    serving.cancel()
                await asyncio.sleep(10)


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="ws://<home assistant>:<port>/<charge point id>")
    parser.add_argument("--energy-kwh", type=float, default=2.0, help="energy per session")
    parser.add_argument("--pause-s", type=float, default=60, help="idle time between sessions")
    parser.add_argument("--tick-s", type=float, default=10, help="seconds between meter values")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    asyncio.run(run(arguments.url, arguments.energy_kwh, arguments.pause_s, arguments.tick_s))


if __name__ == "__main__":
    main()
