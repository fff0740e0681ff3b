"""A real OCPP charge point for the tests: the ``ocpp`` package's ChargePoint over a websocket."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field
import json
import socket
from typing import Any

import aiohttp
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16, call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201, call_result as result201


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ClientLink:
    """recv/send over an aiohttp client websocket, as the ocpp package wants."""

    def __init__(self, websocket: aiohttp.ClientWebSocketResponse) -> None:
        self.websocket = websocket

    async def recv(self) -> str:
        message = await self.websocket.receive()
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError("closed")
        return str(message.data)

    async def send(self, text: str) -> None:
        await self.websocket.send_str(text)


@dataclass
class Received:
    """What the central system asked of the charge point."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    answer: str = "Accepted"
    delay: float = 0.0
    reset: asyncio.Event = field(default_factory=asyncio.Event)  # a Reset arrived


class Station16(ChargePoint16):  # type: ignore[misc]
    """A 1.6 charge point that accepts every command and records it."""

    received: Received

    @on("SetChargingProfile")
    def on_set_charging_profile(self, **payload: Any) -> Any:
        self.received.calls.append(("SetChargingProfile", payload))
        return result16.SetChargingProfile(status=self.received.answer)

    @on("RemoteStartTransaction")
    def on_remote_start(self, **payload: Any) -> Any:
        self.received.calls.append(("RemoteStartTransaction", payload))
        return result16.RemoteStartTransaction(status=self.received.answer)

    @on("RemoteStopTransaction")
    def on_remote_stop(self, **payload: Any) -> Any:
        self.received.calls.append(("RemoteStopTransaction", payload))
        return result16.RemoteStopTransaction(status=self.received.answer)

    @on("Reset")
    async def on_reset(self, **payload: Any) -> Any:
        self.received.calls.append(("Reset", payload))
        self.received.reset.set()
        await asyncio.sleep(self.received.delay)
        return result16.Reset(status=self.received.answer)

    @on("ChangeAvailability")
    def on_change_availability(self, **payload: Any) -> Any:
        self.received.calls.append(("ChangeAvailability", payload))
        return result16.ChangeAvailability(status=self.received.answer)

    @on("TriggerMessage")
    def on_trigger(self, **payload: Any) -> Any:
        self.received.calls.append(("TriggerMessage", payload))
        return result16.TriggerMessage(status=self.received.answer)

    @on("UnlockConnector")
    def on_unlock(self, **payload: Any) -> Any:
        self.received.calls.append(("UnlockConnector", payload))
        return result16.UnlockConnector(status="Unlocked")


class Station201(ChargePoint201):  # type: ignore[misc]
    """A 2.0.1 charging station that accepts every command and records it."""

    received: Received

    @on("SetChargingProfile")
    def on_set_charging_profile(self, **payload: Any) -> Any:
        self.received.calls.append(("SetChargingProfile", payload))
        return result201.SetChargingProfile(status=self.received.answer)

    @on("RequestStartTransaction")
    def on_request_start(self, **payload: Any) -> Any:
        self.received.calls.append(("RequestStartTransaction", payload))
        return result201.RequestStartTransaction(status=self.received.answer)

    @on("RequestStopTransaction")
    def on_request_stop(self, **payload: Any) -> Any:
        self.received.calls.append(("RequestStopTransaction", payload))
        return result201.RequestStopTransaction(status=self.received.answer)

    @on("Reset")
    def on_reset(self, **payload: Any) -> Any:
        self.received.calls.append(("Reset", payload))
        return result201.Reset(status=self.received.answer)

    @on("UnlockConnector")
    def on_unlock(self, **payload: Any) -> Any:
        self.received.calls.append(("UnlockConnector", payload))
        return result201.UnlockConnector(status="Unlocked")


@contextlib.asynccontextmanager
async def connect(
    port: int,
    charge_point_id: str,
    protocol: str = "ocpp1.6",
    *,
    password: str | None = None,
) -> AsyncIterator[Any]:
    """A connected charge point, served until the block ends (Basic auth with a password)."""
    headers = {}
    if password is not None:
        token = base64.b64encode(f"{charge_point_id}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"ws://127.0.0.1:{port}/ocpp/{charge_point_id}", protocols=(protocol,), headers=headers
        ) as websocket,
    ):
        link = ClientLink(websocket)
        station_class = Station201 if protocol == "ocpp2.0.1" else Station16
        station = station_class(charge_point_id, link, response_timeout=5)
        station.received = Received()
        station.websocket = websocket
        task = asyncio.get_running_loop().create_task(station.start())
        try:
            yield station
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task


async def raw_call(station: Any, frame: str) -> Any:
    """Send a raw frame (bypassing validation) and return the parsed answer."""
    websocket: aiohttp.ClientWebSocketResponse = station.websocket
    queue = station._response_queue
    await websocket.send_str(frame)
    message = await asyncio.wait_for(queue.get(), 5)
    return json.loads(message.to_json())
