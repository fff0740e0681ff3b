"""OCPP central system: real charge points (the ocpp package) over real websockets on localhost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import threading
from typing import Any
from unittest.mock import patch

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from ocpp import charge_point as ocpp_charge_point, messages
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from custom_components.ev_sessions.const import (
    CONF_ACCEPT_UNKNOWN_TAGS,
    CONF_CHARGE_POINT_ID,
    CONF_ID_TAGS,
    CONF_LISTEN_ADDRESS,
    CONF_SOURCE,
    DOMAIN,
    EVENT_SESSION_ENDED,
    SOURCE_OCPP,
)
from custom_components.ev_sessions.diagnostics import async_get_config_entry_diagnostics
from custom_components.ev_sessions.model.ocpp_meter import parse_moment
from custom_components.ev_sessions.sources.base import DeviceFacts, SourceError
from custom_components.ev_sessions.sources.ocpp import schema
from custom_components.ev_sessions.sources.ocpp.charge_point import ChargePoint
from custom_components.ev_sessions.sources.ocpp.const import REORDER_WINDOW
from custom_components.ev_sessions.sources.ocpp.server import (
    HEADER_TIMEOUT,
    SERVERS,
    WebSocketLink,
)
from custom_components.ev_sessions.sources.ocpp.source import OcppSource

from .conftest import setup_entry
from .helpers import crash, device_of, entities_looked_at, number, number_now, restart, state_value
from .ocpp_client import connect, free_port, raw_call

pytestmark = pytest.mark.usefixtures("socket_enabled")

CP = "garage-1"
T0 = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)
USERS = {"04A1B2C3": "Anna", "04D5E6F7": "Bo"}


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_entry(port: int, charge_point_id: str = CP, **data: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Garage 1",
        unique_id=f"ocpp_{charge_point_id}",
        data={CONF_SOURCE: SOURCE_OCPP, CONF_CHARGE_POINT_ID: charge_point_id, CONF_PORT: port}
        | data,
        options={CONF_ID_TAGS: USERS, CONF_ACCEPT_UNKNOWN_TAGS: True},
    )


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
async def entry(
    hass: HomeAssistant, port: int, freezer: FrozenDateTimeFactory
) -> AsyncIterator[MockConfigEntry]:
    freezer.move_to(T0 - timedelta(minutes=5))
    entry = await setup_entry(hass, make_entry(port))
    yield entry
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


async def settle(hass: HomeAssistant, freezer: FrozenDateTimeFactory | None = None) -> None:
    """Let the reorder window after a connect pass, so messages apply at once."""
    if freezer is not None:
        freezer.tick(REORDER_WINDOW + timedelta(seconds=1))
    async_fire_time_changed(hass, datetime.now(UTC) + REORDER_WINDOW + timedelta(seconds=1))
    await hass.async_block_till_done()


def source_of(entry: MockConfigEntry) -> OcppSource:
    source = entry.runtime_data.source
    assert isinstance(source, OcppSource)
    return source


def register(wh: float, *, context: str | None = None, unit: str | None = "Wh") -> dict[str, Any]:
    value: dict[str, Any] = {"value": f"{wh}", "measurand": "Energy.Active.Import.Register"}
    if unit:
        value["unit"] = unit
    if context:
        value["context"] = context
    return value


def power(w: float) -> dict[str, Any]:
    return {"value": f"{w}", "measurand": "Power.Active.Import", "unit": "W"}


async def meter16(
    station: Any, moment: datetime, *values: dict[str, Any], transaction_id: int | None = None
) -> None:
    await station.call(
        call16.MeterValues(
            connector_id=1,
            transaction_id=transaction_id,
            meter_value=[{"timestamp": ts(moment), "sampledValue": list(values)}],
        )
    )


async def boot16(station: Any) -> None:
    await station.call(
        call16.BootNotification(charge_point_model="Pulsar Plus", charge_point_vendor="Wallbox")
    )


async def boot201(station: Any, vendor: str = "Y", model: str = "X") -> None:
    await station.call(
        call201.BootNotification(
            charging_station={"model": model, "vendorName": vendor}, reason="PowerUp"
        )
    )


async def status16(station: Any, status: str, moment: datetime | None = None) -> None:
    await station.call(
        call16.StatusNotification(
            connector_id=1,
            error_code="NoError",
            status=status,
            timestamp=None if moment is None else ts(moment),
        )
    )


async def status201(station: Any, status: str = "Available") -> None:
    await station.call(
        call201.StatusNotification(
            timestamp=datetime.now(UTC).isoformat(),
            connector_status=status,
            evse_id=1,
            connector_id=1,
        )
    )


async def test_whole_session_16(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """Plug in, tap Anna's card, charge 11 kW for an hour, unplug: one session of Anna's."""
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        await status16(station, "Preparing", T0)
        answer = await station.call(call16.Authorize(id_tag="04A1B2C3"))
        assert answer.id_tag_info["status"] == "Accepted"
        started = await station.call(
            call16.StartTransaction(
                connector_id=1, id_tag="04A1B2C3", meter_start=532_000, timestamp=ts(T0)
            )
        )
        transaction_id = started.transaction_id
        await status16(station, "Charging", T0)
        for minute in (15, 30, 45, 60):
            freezer.move_to(T0 + timedelta(minutes=minute))
            await meter16(
                station,
                T0 + timedelta(minutes=minute),
                register(532_000 + 11_000 * minute / 60),
                power(11_000),
                transaction_id=transaction_id,
            )
        await hass.async_block_till_done()
        assert state_value(hass, "sensor.garage_1_status") == "charging"
        assert await number_now(hass, "sensor.garage_1_session_energy") == pytest.approx(11.0)
        await station.call(
            call16.StopTransaction(
                meter_stop=543_000,
                timestamp=ts(T0 + timedelta(minutes=61)),
                transaction_id=transaction_id,
                reason="EVDisconnected",
            )
        )
        await status16(station, "Available", T0 + timedelta(minutes=61))
        await hass.async_block_till_done()
    assert len(ended) == 1
    assert ended[0].data["user"] == "Anna"
    assert ended[0].data["energy_kwh"] == pytest.approx(11.0)
    assert state_value(hass, "sensor.garage_1_status") == "disconnected"
    assert number(hass, "sensor.garage_1_energy_total") == pytest.approx(11.0)


async def test_no_schema_file_is_read_on_the_event_loop(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ocpp package reads an action's schema file at its first use: at set-up, in the
    executor, not on the event loop at a box's first call of each action (Home Assistant
    2026.11 logged "Detected blocking call to open … by custom integration 'ev_sessions'").
    """
    monkeypatch.setattr(messages, "_validators", {})  # as in a fresh Home Assistant
    monkeypatch.setattr(schema, "_checks", {})
    on_the_loop: list[str] = []
    elsewhere: list[str] = []

    def _open(path: str, *args: Any, **kwargs: Any) -> Any:
        loop_thread = threading.current_thread() is threading.main_thread()
        (on_the_loop if loop_thread else elsewhere).append(Path(path).name)
        return open(path, *args, **kwargs)  # noqa: PTH123

    monkeypatch.setattr(messages, "open", _open, raising=False)

    async def _unchecked(message: Any, version: str) -> None:
        """The test's boxes check nothing (their checks would fill the shared cache)."""

    monkeypatch.setattr(ocpp_charge_point, "validate_payload", _unchecked)
    freezer.move_to(T0)
    entry = await setup_entry(hass, make_entry(port))
    for protocol, boot in (("ocpp1.6", boot16), ("ocpp2.0.1", boot201)):
        async with connect(port, CP, protocol) as station:
            await boot(station)
            await station.call(call16.Heartbeat() if boot is boot16 else call201.Heartbeat())
    async with connect(port, CP) as station:
        await status16(station, "Preparing", T0)
        await station.call(call16.Authorize(id_tag="04A1B2C3"))
        transaction_id = await start16(station, "04A1B2C3", 1000, T0)
        await meter16(station, T0, register(1500), transaction_id=transaction_id)
        await stop16(station, transaction_id, 2000, T0 + timedelta(minutes=5))
    await hass.async_block_till_done()
    assert on_the_loop == []
    assert {"BootNotification.json", "MeterValues.json", "TransactionEventRequest.json"} <= set(
        elsewhere
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def start16(station: Any, tag: str, meter_wh: int, moment: datetime) -> int:
    answer = await station.call(
        call16.StartTransaction(
            connector_id=1, id_tag=tag, meter_start=meter_wh, timestamp=ts(moment)
        )
    )
    transaction_id: int = answer.transaction_id
    return transaction_id


async def stop16(
    station: Any, transaction_id: int, meter_wh: int, moment: datetime, reason: str | None = None
) -> None:
    await station.call(
        call16.StopTransaction(
            meter_stop=meter_wh, timestamp=ts(moment), transaction_id=transaction_id, reason=reason
        )
    )


def sessions(entry: MockConfigEntry) -> list[Any]:
    return list(entry.runtime_data.history.sessions)


async def test_per_transaction_register_and_growatt_begin_values(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A register restarting at 0 per transaction, with the start value repeated (Growatt)."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        for number_, (start, tag) in enumerate(
            ((T0, "04A1B2C3"), (T0 + timedelta(hours=3), "04D5E6F7"))
        ):
            freezer.move_to(start)
            transaction_id = await start16(station, tag, 60, start)
            await status16(station, "Charging", start)
            for minute in (20, 40, 60):
                moment = start + timedelta(minutes=minute)
                freezer.move_to(moment)
                await meter16(
                    station,
                    moment,
                    register(60, context="Transaction.Begin"),
                    register(60 + 7_400 * minute / 60, context="Sample.Periodic"),
                    power(7_400),
                    transaction_id=transaction_id,
                )
            end = start + timedelta(minutes=61)
            freezer.move_to(end)
            await stop16(station, transaction_id, 7_460, end)
            await status16(station, "Available", end)
            assert len(sessions(entry)) == number_ + 1
    first, second = sessions(entry)
    assert (first.user, second.user) == ("Anna", "Bo")
    assert first.energy_kwh == pytest.approx(7.4)
    assert second.energy_kwh == pytest.approx(7.4)
    assert number(hass, "sensor.garage_1_energy_total") == pytest.approx(14.8)


async def test_zero_glitch_and_register_near_2_32(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A lifetime register just above 2^32 Wh (Zaptec) that briefly reads 0 (Wallbox Pulsar)."""
    base = 4_296_944_685
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        transaction_id = await start16(station, "04A1B2C3", base, T0)
        readings = [(10, base + 1_000), (20, 0), (30, base + 3_000), (40, base + 4_000)]
        for minute, wh in readings:
            moment = T0 + timedelta(minutes=minute)
            freezer.move_to(moment)
            await meter16(
                station, moment, register(wh), power(6_000), transaction_id=transaction_id
            )
        assert await number_now(hass, "sensor.garage_1_session_energy") == pytest.approx(4.0)
        freezer.move_to(T0 + timedelta(minutes=41))
        await stop16(station, transaction_id, base + 4_100, T0 + timedelta(minutes=41))
        await status16(station, "Available", T0 + timedelta(minutes=41))
    (session,) = sessions(entry)
    assert session.energy_kwh == pytest.approx(4.1)


async def test_units_phases_soc_and_timestamps(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """kWh registers, kW power per phase without a total, SoC 0, odd offsets and skew."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0 + timedelta(minutes=1))
        transaction_id = await start16(station, "04A1B2C3", 733_255, T0)
        await status16(station, "Charging", T0)
        phase_power = [
            {"value": "2.3", "measurand": "Power.Active.Import", "unit": "kW", "phase": f"L{n}-N"}
            for n in (1, 2, 3)
        ]
        currents = [
            {"value": "10", "measurand": "Current.Import", "unit": "A", "phase": f"L{n}"}
            for n in (1, 2, 3)
        ]
        soc = {"value": "0", "measurand": "SoC", "unit": "Percent", "location": "EV"}
        freezer.move_to(T0 + timedelta(minutes=31))
        await station.call(
            call16.MeterValues(
                connector_id=1,
                transaction_id=transaction_id,
                meter_value=[
                    {
                        # 18:30 at +01:00 is 17:30 UTC.
                        "timestamp": "2026-11-02T18:30:00+0100",
                        "sampledValue": [
                            {"value": "736.705", "unit": "kWh"},
                            *phase_power,
                            *currents,
                            soc,
                        ],
                    },
                    {
                        # The Body's own meter is not the car's.
                        "timestamp": "2026-11-02T17:30:00.000Z",
                        "sampledValue": [
                            {"value": "999", "measurand": "Power.Active.Import", "location": "Body"}
                        ],
                    },
                ],
            )
        )
        await hass.async_block_till_done()
        assert number(hass, "sensor.garage_1_power") == pytest.approx(6_900)
        assert await number_now(hass, "sensor.garage_1_session_energy") == pytest.approx(3.45)
        assert entry.runtime_data.tracker.soc is None
        # A frame stamped in the future (clock skew) counts when it arrived.
        freezer.move_to(T0 + timedelta(minutes=41))
        await meter16(
            station,
            T0 + timedelta(hours=5),
            register(737_855),
            transaction_id=transaction_id,
        )
        assert source_of(entry).state.last_time == T0 + timedelta(minutes=41)
        assert await number_now(hass, "sensor.garage_1_session_energy") == pytest.approx(4.6)
        assert entry.runtime_data.tracker.active.phases == 3


async def test_stop_stamped_before_start_and_repeated_messages(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A Grizzl-E stop 6 h before its start; a repeated frame and a double boot change nothing."""
    async with connect(port, CP) as station:
        await boot16(station)
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        frame = (
            '[2,"77","StartTransaction",{"connectorId":1,"idTag":"04D5E6F7",'
            f'"meterStart":1000,"timestamp":"{ts(T0)}"}}]'
        )
        first = await raw_call(station, frame)
        again = await raw_call(station, frame)
        assert first == again
        assert source_of(entry).state.repeated_messages == 1
        transaction_id = first[2]["transactionId"]
        # The same start with a new message id (its answer was lost): the same transaction.
        assert await start16(station, "04D5E6F7", 1000, T0) == transaction_id
        freezer.move_to(T0 + timedelta(minutes=30))
        await meter16(
            station, T0 + timedelta(minutes=30), register(3000), transaction_id=transaction_id
        )
        await meter16(
            station, T0 + timedelta(minutes=30), register(3000), transaction_id=transaction_id
        )
        freezer.move_to(T0 + timedelta(minutes=40))
        await stop16(station, transaction_id, 4000, T0 - timedelta(hours=6))
        await stop16(station, transaction_id, 4000, T0 - timedelta(hours=6))
        await status16(station, "Available")
    (session,) = sessions(entry)
    assert session.user == "Bo"
    assert session.energy_kwh == pytest.approx(3.0)
    assert session.end == T0 + timedelta(minutes=40)


async def test_a_box_that_reuses_message_ids_is_answered_afresh_when_the_frame_has_no_time(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """Blink sends the same message id more than once. A frame with no timestamp in it (a
    Heartbeat, a status without one) says nothing about when it was sent: the same frame
    later is news, not a retry. It got the old answer (a Heartbeat's time an hour stale, which
    a box sets its clock by) and was not applied (a status back to Charging was lost)."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        beat = '[2,"1","Heartbeat",{}]'
        first = await raw_call(station, beat)
        freezer.move_to(T0 + timedelta(hours=1))
        later = await raw_call(station, beat)
        assert first[2]["currentTime"] != later[2]["currentTime"]
        assert parse_moment(later[2]["currentTime"]) == T0 + timedelta(hours=1)
        charging = (
            '[2,"2","StatusNotification",'
            '{"connectorId":1,"errorCode":"NoError","status":"Charging"}]'
        )
        await raw_call(station, charging)
        await raw_call(
            station,
            '[2,"3","StatusNotification",'
            '{"connectorId":1,"errorCode":"NoError","status":"SuspendedEV"}]',
        )
        assert source_of(entry).state.status == "SuspendedEV"
        await raw_call(station, charging)
        assert source_of(entry).state.status == "Charging"
        # A frame with its own time is the same event when it comes again: answered as
        # before and applied once (see test_stop_stamped_before_start_and_repeated_messages).
        assert source_of(entry).state.repeated_messages == 0


async def test_a_command_sent_while_an_answer_is_on_its_way_is_not_kept_as_the_answer(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A repeated frame gets the answer it got, not a command sent while that answer waited on
    a full socket (the command was kept as the answer and sent again for the repeat)."""
    gate, waiting = asyncio.Event(), asyncio.Event()
    send = WebSocketLink.send

    async def _slow_answers(link: WebSocketLink, text: str) -> None:
        if text.startswith('[3,"status-1"') and not gate.is_set():
            waiting.set()
            await gate.wait()  # the answer waits on the socket (the box reads slowly)
        await send(link, text)

    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        frame = (
            '[2,"status-1","StatusNotification",{"connectorId":1,"errorCode":"NoError",'
            f'"status":"Available","timestamp":"{ts(datetime.now(UTC))}"}}]'
        )
        with patch.object(WebSocketLink, "send", _slow_answers):
            first_call = asyncio.ensure_future(raw_call(station, frame))
            await asyncio.wait_for(waiting.wait(), 5)
            command = asyncio.ensure_future(source_of(entry).async_set_current_limit(10))
            for _ in range(10_000):  # the command reaches the box while the answer waits
                if station.received.calls:
                    break
                await asyncio.sleep(0)
            # The race is on: the command went out while the answer still waits.
            assert [call for call, _ in station.received.calls] == ["SetChargingProfile"]
            assert not first_call.done()
            gate.set()
            first = await first_call
            await command
        # What is kept for a repeat is each frame's answer (the command was kept, and a repeat
        # waited for an answer that never came).
        kept = list(source_of(entry).state.answers.values())
        assert [json.loads(answer)[0] for answer in kept] == [3] * len(kept)
        again = await raw_call(station, frame)
        assert first[0] == 3
        assert again == first
        assert [call for call, _ in station.received.calls] == ["SetChargingProfile"]
        assert source_of(entry).state.repeated_messages == 1


async def test_no_frame_drops_the_connection(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """Frames that used to drop the link or pile up: each answered as OCPP says, link up."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        # An object where the action belongs (a TypeError and code 1006 before).
        answer = await raw_call(station, '[2,"a",{"a":1},{}]')
        assert answer[:3] == [4, "a", "FormationViolation"]
        # JSON nested 10,000 deep (a RecursionError before): no usable id, so "-1".
        answer = await raw_call(station, "[" * 10_000 + "]" * 10_000)
        assert answer[:3] == [4, "-1", "FormationViolation"]
        # A message id longer than 36 characters.
        answer = await raw_call(station, f'[2,"{"x" * 37}","Heartbeat",{{}}]')
        assert answer[:3] == [4, "-1", "FormationViolation"]
        # A timestamp past year 9999 in UTC (InternalError before): the arrival time.
        status = await station.call(
            call16.StatusNotification(
                connector_id=1,
                error_code="NoError",
                status="Preparing",
                timestamp="9999-12-31T23:59:59-01:00",
            )
        )
        assert status is not None
        await hass.async_block_till_done()
        assert state_value(hass, "sensor.garage_1_status") != "disconnected"
        # 5,000 answers to no command (they piled up; the next command hit a RecursionError).
        websocket: aiohttp.ClientWebSocketResponse = station.websocket
        for n in range(5_000):
            await websocket.send_str(f'[3,"stray-{n}",{{"status":"Accepted"}}]')
        beat = await station.call(call16.Heartbeat())
        assert beat.current_time
        await source_of(entry).async_set_current_limit(10)
        assert station.received.calls[-1][0] == "SetChargingProfile"
        # A power of 10^12 W is a broken value, not the session's peak.
        freezer.move_to(T0)
        await start16(station, "04A1B2C3", 0, T0)
        await status16(station, "Charging", T0)
        await meter16(station, T0, register(0), power(1e12))
        freezer.move_to(T0 + timedelta(minutes=1))
        await meter16(station, T0 + timedelta(minutes=1), register(100), power(6_000))
        await hass.async_block_till_done()
        assert source_of(entry).link is not None
    active = entry.runtime_data.tracker.active
    assert active is not None
    assert active.peak_power_w == 6_000


async def test_malformed_frames_get_callerror_and_connection_stays(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """Bad JSON, schema-invalid payloads and unknown actions: a CALLERROR each, link up."""
    async with connect(port, CP) as station:
        await boot16(station)
        broken = await raw_call(station, '[2,"b1","Heartbeat",{')
        assert broken[0] == 4
        assert broken[2] == "FormationViolation"
        # NaN is not JSON (Python's own parser took it); an integer past 64 bits is no
        # connector.
        nan = await raw_call(station, '[2,"b6","MeterValues",{"connectorId":NaN,"meterValue":[]}]')
        assert nan[:3] == [4, "-1", "FormationViolation"]
        huge = await raw_call(
            station, '[2,"b7","MeterValues",{"connectorId":1180591620717411303424,"meterValue":[]}]'
        )
        assert huge[:3] == [4, "b7", "TypeConstraintViolation"]
        invalid = await raw_call(station, '[2,"b2","StartTransaction",{"connectorId":"one"}]')
        assert invalid[0] == 4
        assert invalid[2] == "TypeConstraintViolation"
        # Meter values are checked too (the check runs on the loop, not in the executor).
        missing = await raw_call(
            station, '[2,"b4","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"x"}]}]'
        )
        assert missing[0] == 4
        assert missing[2] == "ProtocolError"  # "payload for action is incomplete"
        unknown = await raw_call(station, '[2,"b3","MakeCoffee",{}]')
        assert unknown[0] == 4
        assert unknown[2] == "NotImplemented"
        vendor = await station.call(call16.DataTransfer(vendor_id="com.example", data="x"))
        assert vendor.status == "UnknownVendorId"
        beat = await station.call(call16.Heartbeat())
        assert beat.current_time
        await station.call(call16.FirmwareStatusNotification(status="Installed"))
        await station.call(call16.DiagnosticsStatusNotification(status="Uploaded"))
        assert source_of(entry).link is not None
        # A fault of ours while answering is an InternalError; the link stays up.
        with patch.object(ChargePoint, "received", side_effect=RuntimeError("bug")):
            failed = await raw_call(station, '[2,"b5","Heartbeat",{}]')
        assert failed[0] == 4
        assert failed[2] == "InternalError"
        assert (await station.call(call16.Heartbeat())).current_time
        assert source_of(entry).state.boot["firmware_status"] == "Installed"


async def test_unknown_tag_refused_by_option(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, port: int
) -> None:
    """With unknown tags refused, a stranger's card is Invalid; members' cards are Accepted."""
    freezer.move_to(T0 - timedelta(minutes=5))
    entry = make_entry(port)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={CONF_ID_TAGS: USERS, CONF_ACCEPT_UNKNOWN_TAGS: False}
    )
    await setup_entry(hass, entry)
    async with connect(port, CP) as station:
        stranger = await station.call(call16.Authorize(id_tag="DEADBEEF"))
        member = await station.call(call16.Authorize(id_tag="04D5E6F7"))
    assert stranger.id_tag_info["status"] == "Invalid"
    assert member.id_tag_info["status"] == "Accepted"
    # KEBA sends a card with a suffix of its serial: the registered card, not a stranger.
    async with connect(port, CP) as station:
        keba = await station.call(call16.Authorize(id_tag="04d5e6f7_cc8b4f"))
        other = await station.call(call16.Authorize(id_tag="DEADBEEF_cc8b4f"))
        await boot16(station)
        await settle(hass, freezer)
        await start16(station, "04D5E6F7_cc8b4f", 0, T0)
        await hass.async_block_till_done()
    assert (keba.id_tag_info["status"], other.id_tag_info["status"]) == ("Accepted", "Invalid")
    active = entry.runtime_data.tracker.active
    assert active is not None
    assert active.user == "Bo"
    # Changing the users applies without a reconnect.
    hass.config_entries.async_update_entry(
        entry, options={CONF_ID_TAGS: {"DEADBEEF": "Cay"}, CONF_ACCEPT_UNKNOWN_TAGS: False}
    )
    await hass.async_block_till_done()
    assert source_of(entry).state.tags.authorize("DEADBEEF") == "Accepted"
    assert source_of(entry).state.tags.user_of("DEADBEEF") == "Cay"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_wrong_password_gets_401(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, port: int
) -> None:
    """Security profile 1: the right Basic credentials connect, wrong ones get HTTP 401."""
    entry = await setup_entry(hass, make_entry(port, **{CONF_PASSWORD: "s3cret"}))
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with connect(port, CP, password="wrong"):
            pass
    assert refused.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError):
        async with connect(port, CP):
            pass
    async with connect(port, CP, password="s3cret") as station:
        await boot16(station)
        assert source_of(entry).link is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def event201(
    station: Any,
    event_type: str,
    moment: str,
    seq_no: int,
    *,
    transaction_id: str = "8F3C2A1B9D4E5F60718293A4B5C6D7E8",
    charging_state: str | None = None,
    meter_value: list[dict[str, Any]] | None = None,
    id_token: str | None = None,
    stopped_reason: str | None = None,
) -> Any:
    info: dict[str, Any] = {"transactionId": transaction_id}
    if charging_state:
        info["chargingState"] = charging_state
    if stopped_reason:
        info["stoppedReason"] = stopped_reason
    return await station.call(
        call201.TransactionEvent(
            event_type=event_type,
            timestamp=moment,
            trigger_reason="CablePluggedIn" if event_type == "Started" else "MeterValuePeriodic",
            seq_no=seq_no,
            transaction_info=info,
            evse={"id": 1, "connectorId": 1},
            meter_value=meter_value,
            id_token=None if id_token is None else {"idToken": id_token, "type": "ISO14443"},
        )
    )


async def test_whole_session_201_keba(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """KEBA 2.0.1: a unit-less Started register, +0000 offsets, signed kWh values in Ended."""
    async with connect(port, CP, "ocpp2.0.1") as station:
        await boot201(station, "Keba AG", "KC-P30")
        await settle(hass, freezer)
        assert source_of(entry).protocol == "ocpp2.0.1"
        freezer.move_to(T0)
        await station.call(
            call201.StatusNotification(
                timestamp="2026-11-02T17:00:00+0000",
                connector_status="Occupied",
                evse_id=1,
                connector_id=1,
            )
        )
        started = [
            {
                "timestamp": "2026-11-02T17:00:00+0000",
                "sampledValue": [{"value": 2114135.6, "context": "Transaction.Begin"}],
            }
        ]
        await event201(
            station,
            "Started",
            "2026-11-02T17:00:00+0000",
            0,
            charging_state="EVConnected",
            meter_value=started,
        )
        answer = await event201(
            station,
            "Updated",
            "2026-11-02T17:00:05+0000",
            1,
            id_token="04A1B2C3",
            charging_state="Charging",
        )
        assert answer.id_token_info["status"] == "Accepted"
        # The car asks for 30 kWh by 06:30 UTC.
        await station.call(
            call201.NotifyEVChargingNeeds(
                evse_id=1,
                charging_needs={
                    "requestedEnergyTransfer": "AC_three_phase",
                    "departureTime": "2026-11-03T06:30:00Z",
                    "acChargingParameters": {
                        "energyAmount": 30000,
                        "evMinCurrent": 6,
                        "evMaxCurrent": 16,
                        "evMaxVoltage": 400,
                    },
                },
            )
        )
        freezer.move_to(T0 + timedelta(minutes=30))
        periodic = [
            {
                "timestamp": "2026-11-02T17:30:00+0000",
                "sampledValue": [
                    {"value": 2119635.6, "unitOfMeasure": {"unit": "Wh"}},
                    {
                        "value": 11,
                        "measurand": "Power.Active.Import",
                        "unitOfMeasure": {"unit": "W", "multiplier": 3},
                    },
                ],
            }
        ]
        await event201(station, "Updated", "2026-11-02T17:30:00+0000", 2, meter_value=periodic)
        await hass.async_block_till_done()
        assert await number_now(hass, "sensor.garage_1_session_energy") == pytest.approx(5.5)
        assert number(hass, "sensor.garage_1_power") == pytest.approx(11_000)
        data = entry.runtime_data.data
        assert data.target_kwh == 30
        assert data.target_source == "car"
        assert data.departure == datetime(2026, 11, 3, 6, 30, tzinfo=UTC)
        freezer.move_to(T0 + timedelta(minutes=61))
        ended = [
            {
                "timestamp": "2026-11-02T18:01:00+0000",
                "sampledValue": [
                    {
                        "value": 2125.1356,
                        "context": "Transaction.End",
                        "signedMeterValue": {
                            "signedMeterData": "OCMF|{}",
                            "signingMethod": "",
                            "encodingMethod": "OCMF",
                            "publicKey": "",
                        },
                    }
                ],
            }
        ]
        await event201(
            station,
            "Ended",
            "2026-11-02T18:01:00+0000",
            3,
            meter_value=ended,
            charging_state="Idle",
            stopped_reason="EVDisconnected",
        )
        # A repeated Ended changes nothing.
        await event201(station, "Ended", "2026-11-02T18:01:00+0000", 3, meter_value=ended)
        await station.call(
            call201.StatusNotification(
                timestamp="2026-11-02T18:01:00+0000",
                connector_status="Available",
                evse_id=1,
                connector_id=1,
            )
        )
    (session,) = sessions(entry)
    assert session.user == "Anna"
    assert session.energy_kwh == pytest.approx(11.0)
    assert session.target_energy_kwh == 30


async def test_commands_reach_the_charge_point(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """Current limits as charging profiles (0 A pauses), remote start/stop, reset and the rest."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        source = source_of(entry)
        await source.async_set_current_limit(10.5)
        await source.async_set_charging(False)
        profile = station.received.calls[0][1]
        assert profile["connector_id"] == 0
        schedule = profile["cs_charging_profiles"]["charging_schedule"]
        assert schedule["charging_rate_unit"] == "A"
        assert schedule["charging_schedule_period"][0]["limit"] == 10.5
        assert (
            station.received.calls[1][1]["cs_charging_profiles"]["charging_schedule"][
                "charging_schedule_period"
            ][0]["limit"]
            == 0
        )
        assert source.charging_enabled() is False
        # No transaction: switching on starts one remotely, with the last tag.
        await source.async_set_charging(True)
        assert station.received.calls[-1] == (
            "RemoteStartTransaction",
            {"id_tag": "EVSessions", "connector_id": 1},
        )
        freezer.move_to(T0)
        transaction_id = await start16(station, "04A1B2C3", 0, T0)
        # While paused, a new limit (the load guard's) is kept for the resume, not sent.
        sent = len(station.received.calls)
        await source.async_set_current_limit(8)
        assert len(station.received.calls) == sent
        await source.async_set_charging(True)
        name, resumed = station.received.calls[-1]
        assert name == "SetChargingProfile"
        period = resumed["cs_charging_profiles"]["charging_schedule"]["charging_schedule_period"]
        assert period[0]["limit"] == 8
        assert source.charging_enabled() is True
        for command, expected in (
            ("stop_transaction", ("RemoteStopTransaction", {"transaction_id": transaction_id})),
            ("soft_reset", ("Reset", {"type": "Soft"})),
            ("hard_reset", ("Reset", {"type": "Hard"})),
            ("set_unavailable", ("ChangeAvailability", {"connector_id": 0, "type": "Inoperative"})),
            ("set_available", ("ChangeAvailability", {"connector_id": 0, "type": "Operative"})),
            ("trigger_meter_values", ("TriggerMessage", {"requested_message": "MeterValues"})),
        ):
            response = await hass.services.async_call(
                DOMAIN,
                "ocpp_command",
                {"config_entry_id": entry.entry_id, "command": command},
                blocking=True,
                return_response=True,
            )
            assert response == {"status": "Accepted"}
            assert station.received.calls[-1] == expected
        station.received.answer = "Rejected"
        with pytest.raises(SourceError, match="Rejected"):
            await source.async_set_current_limit(16)
        assert source.limit_a == 8
    # Disconnected: a command fails with a clear error.
    with pytest.raises(HomeAssistantError, match="not connected"):
        await hass.services.async_call(
            DOMAIN,
            "ocpp_command",
            {"config_entry_id": entry.entry_id, "command": "soft_reset"},
            blocking=True,
            return_response=True,
        )


async def test_a_command_fails_at_once_when_the_box_drops_the_connection(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """The box closes its websocket while a command waits: the error comes at once.

    Without watching the connection, the command would wait out the 30 s response time-out,
    which never comes in this test (the clock is frozen), so the test would hang.
    """
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        station.received.delay = 600  # the box takes ten minutes to answer a reset
        command = asyncio.ensure_future(source_of(entry).async_command("soft_reset"))
        await station.received.reset.wait()
        await station.websocket.close()
        with pytest.raises(SourceError, match="is not connected"):
            await command
        assert source_of(entry).link is None


async def test_restart_mid_transaction_keeps_the_start_meter(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    port: int,
    hass_storage: dict[str, Any],
) -> None:
    """Home Assistant restarts while a car charges: the session goes on, nothing is lost."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        transaction_id = await start16(station, "04D5E6F7", 100_000, T0)
        await status16(station, "Charging", T0)
        freezer.move_to(T0 + timedelta(minutes=30))
        await meter16(
            station, T0 + timedelta(minutes=30), register(103_000), transaction_id=transaction_id
        )
    await restart(hass, entry, hass_storage)
    source = source_of(entry)
    assert source.state.transaction is not None
    assert source.state.transaction.first_kwh == 100.0
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0 + timedelta(minutes=60))
        await meter16(
            station, T0 + timedelta(minutes=60), register(106_000), transaction_id=transaction_id
        )
        freezer.move_to(T0 + timedelta(minutes=61))
        await stop16(station, transaction_id, 106_500, T0 + timedelta(minutes=61))
        await status16(station, "Available", T0 + timedelta(minutes=61))
    (session,) = sessions(entry)
    assert session.user == "Bo"
    assert session.energy_kwh == pytest.approx(6.5)


async def test_queued_messages_after_reconnect_land_in_their_session(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """Offline: the box sends its live status first, then the queued meter values and stop."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        transaction_id = await start16(station, "04A1B2C3", 0, T0)
        await status16(station, "Charging", T0)
        await meter16(station, T0, register(0), power(7_000), transaction_id=transaction_id)
    freezer.move_to(T0 + timedelta(hours=2))
    async with connect(port, CP) as station:
        await status16(station, "Available", T0 + timedelta(hours=2))
        for minute in (30, 60):
            await meter16(
                station,
                T0 + timedelta(minutes=minute),
                register(3_500 * minute / 30),
                power(7_000),
                transaction_id=transaction_id,
            )
        await stop16(station, transaction_id, 7_200, T0 + timedelta(minutes=62), "EVDisconnected")
        await hass.async_block_till_done()
        assert sessions(entry) == []  # still sorting
        await settle(hass, freezer)
    (session,) = sessions(entry)
    assert session.energy_kwh == pytest.approx(7.2)
    assert session.end == T0 + timedelta(minutes=62)
    by_hour = session.energy_between(T0, T0 + timedelta(hours=1))
    assert by_hour == pytest.approx(7.0, abs=0.01)


async def test_station_meter_on_connector_0_is_not_a_session(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """KEBA and Zaptec send the whole station's meter on connector 0."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        await station.call(
            call16.MeterValues(
                connector_id=0,
                meter_value=[
                    {"timestamp": ts(T0), "sampledValue": [register(2_100_000), power(9_000)]}
                ],
            )
        )
        await station.call(
            call16.StatusNotification(connector_id=0, error_code="NoError", status="Available")
        )
        await hass.async_block_till_done()
    assert entry.runtime_data.tracker.active is None
    assert state_value(hass, "sensor.garage_1_status") == "disconnected"


async def test_unknown_charge_point_is_discovered(
    hass: HomeAssistant, entry: MockConfigEntry, port: int
) -> None:
    """A charge point that is not set up gets 404 and a discovered flow to accept it."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with connect(port, "garage-2"):
            pass
    assert refused.value.status == 404
    await hass.async_block_till_done()
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["step_id"] == "ocpp_confirm"
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    assert result["title"] == "garage-2"
    await hass.async_block_till_done()
    new = hass.config_entries.async_get_entry(result["result"].entry_id)
    assert new is not None
    assert new.state is ConfigEntryState.LOADED
    async with connect(port, "garage-2") as station:
        await boot16(station)
        assert source_of(new).link is not None
    assert await hass.config_entries.async_unload(new.entry_id)


async def test_many_charge_points_share_one_server(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, port: int
) -> None:
    """Ten charge points on one port; the server stops with the last entry."""
    freezer.move_to(T0 - timedelta(minutes=5))
    entries = [await setup_entry(hass, make_entry(port, f"cp{n}")) for n in range(10)]
    async with contextlib.AsyncExitStack() as stack:
        stations = [await stack.enter_async_context(connect(port, f"cp{n}")) for n in range(10)]
        await asyncio.gather(*(boot16(station) for station in stations))
        await settle(hass, freezer)
        freezer.move_to(T0)
        ids = await asyncio.gather(
            *(start16(station, f"TAG{n}", 0, T0) for n, station in enumerate(stations))
        )
        freezer.move_to(T0 + timedelta(minutes=30))
        await asyncio.gather(
            *(
                meter16(
                    station,
                    T0 + timedelta(minutes=30),
                    register(1_000 * (n + 1)),
                    transaction_id=ids[n],
                )
                for n, station in enumerate(stations)
            )
        )
    for n, entry in enumerate(entries):
        assert entry.runtime_data.tracker.active.energy_kwh == pytest.approx(n + 1)
        assert entry.runtime_data.tracker.active.user == f"TAG{n}"
    for entry in entries:
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert not hass.data.get(SERVERS)


async def test_201_commands_and_other_messages(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """2.0.1: profiles, remote start/stop, reset; Authorize, MeterValues, Heartbeat and more."""
    async with connect(port, CP, "ocpp2.0.1") as station:
        await boot201(station, "ABB", "Terra AC")
        await settle(hass, freezer)
        source = source_of(entry)
        assert (await station.call(call201.Heartbeat())).current_time
        unknown = await station.call(
            call201.Authorize(id_token={"idToken": "X1", "type": "ISO14443"})
        )
        assert unknown.id_token_info["status"] == "Accepted"  # unknown tags may charge
        vendor = await station.call(call201.DataTransfer(vendor_id="com.abb"))
        assert vendor.status == "UnknownVendorId"
        await station.call(call201.FirmwareStatusNotification(status="Installed"))
        freezer.move_to(T0)
        await station.call(
            call201.MeterValues(
                evse_id=1,
                meter_value=[
                    {
                        "timestamp": ts(T0),
                        "sampledValue": [
                            {"value": 3500, "measurand": "Power.Active.Import"},
                            {"value": 55, "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}},
                        ],
                    }
                ],
            )
        )
        await source.async_set_current_limit(16)
        profile = station.received.calls[-1][1]
        assert profile["evse_id"] == 0
        period = profile["charging_profile"]["charging_schedule"][0]["charging_schedule_period"]
        assert period == [{"start_period": 0, "limit": 16}]
        assert await source.async_command("start_transaction", "04A1B2C3") == "Accepted"
        assert station.received.calls[-1][1]["id_token"] == {
            "id_token": "04A1B2C3",
            "type": "Central",
        }
        # Session energy inside a transaction, lifetime outside it (ABB): counted from zero.
        await event201(
            station,
            "Started",
            ts(T0),
            0,
            transaction_id="T-1",
            id_token="04A1B2C3",
            charging_state="Charging",
            meter_value=[
                {
                    "timestamp": ts(T0),
                    "sampledValue": [{"value": 5_000_000.0, "context": "Transaction.Begin"}],
                }
            ],
        )
        freezer.move_to(T0 + timedelta(minutes=30))
        await event201(
            station,
            "Updated",
            ts(T0 + timedelta(minutes=30)),
            1,
            transaction_id="T-1",
            meter_value=[
                {"timestamp": ts(T0 + timedelta(minutes=30)), "sampledValue": [{"value": 1750.0}]}
            ],
        )
        assert entry.runtime_data.tracker.active.energy_kwh == pytest.approx(1.75)
        assert await source.async_command("stop_transaction") == "Accepted"
        assert station.received.calls[-1] == ("RequestStopTransaction", {"transaction_id": "T-1"})
        assert await source.async_command("hard_reset") == "Accepted"
        assert station.received.calls[-1] == ("Reset", {"type": "Immediate"})
        assert await source.async_command("unlock_connector") == "Unlocked"
        assert station.received.calls[-1] == ("UnlockConnector", {"evse_id": 1, "connector_id": 1})
        diagnostics = source.diagnostics()
        assert diagnostics["protocol"] == "ocpp2.0.1"
        assert diagnostics["transaction"]["id"] == "T-1"


async def test_twin_charger_follows_its_first_connector(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A second connector's status, transaction and meter values do not touch the session."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        await status16(station, "Preparing", T0)
        first = await start16(station, "04a1b2c3", 0, T0)  # tags ignore case
        other = await station.call(
            call16.StartTransaction(connector_id=2, id_tag="X", meter_start=0, timestamp=ts(T0))
        )
        assert other.transaction_id != first
        await station.call(
            call16.StatusNotification(connector_id=2, error_code="NoError", status="Faulted")
        )
        await station.call(
            call16.MeterValues(
                connector_id=2,
                transaction_id=other.transaction_id,
                meter_value=[{"timestamp": ts(T0), "sampledValue": [register(5_000)]}],
            )
        )
        freezer.move_to(T0 + timedelta(minutes=30))
        await meter16(station, T0 + timedelta(minutes=30), register(2_000), transaction_id=first)
        await hass.async_block_till_done()
        session = entry.runtime_data.tracker.active
        assert session.user == "Anna"
        assert session.energy_kwh == pytest.approx(2.0)
        assert state_value(hass, "sensor.garage_1_status") != "error"
        assert source_of(entry).diagnostics()["connector"] == 1


async def test_charger_away_makes_entities_unavailable_and_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A short drop is bridged; after two minutes away the entities go unavailable."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        await status16(station, "Available")
    await hass.async_block_till_done()
    for _ in range(6):
        freezer.tick(timedelta(seconds=31))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert state_value(hass, "sensor.garage_1_status") == "unavailable"
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        await status16(station, "Preparing")
        await hass.async_block_till_done()
        assert state_value(hass, "sensor.garage_1_status") == "connected"
        # The box opens a second connection before the first one closed: the new one wins.
        old = source_of(entry).link
        assert old is not None
        async with connect(port, CP) as again:
            await boot16(again)
            assert source_of(entry).link is not old
            assert old.websocket.websocket.closed
            assert (await again.call(call16.Heartbeat())).current_time


async def test_basic_auth_header_variants(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, port: int
) -> None:
    """Other schemes, undecodable credentials and another user name are refused."""
    entry = await setup_entry(hass, make_entry(port, **{CONF_PASSWORD: "s3cret"}))
    async with aiohttp.ClientSession() as session:
        for header in ("Bearer abc", "Basic !!!", "Basic " + "b3RoZXI6czNjcmV0"):
            async with session.get(
                f"http://127.0.0.1:{port}/ocpp/{CP}", headers={"Authorization": header}
            ) as response:
                assert response.status == 401
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_port_taken_retries_setup(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, port: int
) -> None:
    """Another program on the port: the entry is set up again later, nothing is lost."""
    import socket

    with socket.socket() as busy:
        busy.bind(("", port))
        busy.listen()
        entry = make_entry(port)
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_RETRY
    assert not hass.data.get(SERVERS)


async def test_201_lost_start_and_repeated_sequence_numbers(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """An Updated event of a transaction whose Started was lost opens it; repeats change nothing."""
    async with connect(port, CP, "ocpp2.0.1") as station:
        await boot201(station)
        await settle(hass, freezer)
        freezer.move_to(T0)

        def values(wh: float) -> list[dict[str, Any]]:
            return [{"timestamp": ts(T0), "sampledValue": [{"value": wh}]}]

        await event201(station, "Updated", ts(T0), 5, transaction_id="L", meter_value=values(100))
        freezer.move_to(T0 + timedelta(minutes=20))
        moment = ts(T0 + timedelta(minutes=20))
        second = [{"timestamp": moment, "sampledValue": [{"value": 2_100.0}]}]
        await event201(station, "Updated", moment, 6, transaction_id="L", meter_value=second)
        await event201(station, "Updated", moment, 6, transaction_id="L", meter_value=second)
        other = await station.call(
            call201.NotifyEVChargingNeeds(
                evse_id=2, charging_needs={"requestedEnergyTransfer": "DC"}
            )
        )
        assert other.status == "Rejected"
        assert entry.runtime_data.tracker.active.energy_kwh == pytest.approx(2.0)
        await event201(station, "Ended", moment, 7, transaction_id="L", stopped_reason="Local")
        # Late events of the ended transaction change nothing.
        await event201(station, "Updated", moment, 8, transaction_id="L", meter_value=second)
        assert source_of(entry).state.transaction is None


async def test_billing_export_per_user_and_month(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    port: int,
    config_dir: Path,
) -> None:
    """Two members charge; the export has one row per member and month, with their cost."""
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "fixed_price": 2.0, "vat_percent": 0}
    )
    await hass.async_block_till_done()
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        for hours, tag, wh in (
            (0, "04A1B2C3", 10_000),
            (3, "04D5E6F7", 4_000),
            (6, "04A1B2C3", 6_000),
        ):
            start = T0 + timedelta(hours=hours)
            freezer.move_to(start)
            transaction_id = await start16(station, tag, 0, start)
            freezer.move_to(start + timedelta(hours=1))
            await meter16(
                station, start + timedelta(hours=1), register(wh), transaction_id=transaction_id
            )
            await stop16(station, transaction_id, wh, start + timedelta(hours=1), "EVDisconnected")
    response = await hass.services.async_call(
        DOMAIN,
        "get_sessions",
        {"config_entry_id": entry.entry_id, "user": "Anna"},
        blocking=True,
        return_response=True,
    )
    assert [s["energy_kwh"] for s in response["sessions"]] == [10.0, 6.0]
    response = await hass.services.async_call(
        DOMAIN,
        "export_sessions",
        {"config_entry_id": entry.entry_id, "path": "billing/2026-11.csv", "report": "user_month"},
        blocking=True,
        return_response=True,
    )
    assert response["sessions"] == 3
    assert response["rows"] == 2
    text = (config_dir / "ev_sessions" / "billing" / "2026-11.csv").read_text()
    assert text.splitlines() == [
        "month,user,sessions,energy_kwh,cost,currency,estimated",
        "2026-11,Anna,2,16.0,32.0,EUR,False",
        "2026-11,Bo,1,4.0,8.0,EUR,False",
    ]


async def test_ocpp_command_on_another_source_is_refused(
    hass: HomeAssistant, simulator_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, simulator_entry)
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(
            DOMAIN,
            "ocpp_command",
            {"config_entry_id": simulator_entry.entry_id, "command": "soft_reset"},
            blocking=True,
            return_response=True,
        )
    assert refused.value.translation_key == "not_ocpp"


async def test_201_refusals_and_errors(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A rejected profile, a command the station does not know, no transaction to stop."""
    async with connect(port, CP, "ocpp2.0.1") as station:
        await boot201(station)
        source = source_of(entry)
        station.received.answer = "Rejected"
        with pytest.raises(SourceError, match="Rejected"):
            await source.async_set_current_limit(0)
        with pytest.raises(SourceError, match="answered with an error"):
            await source.async_command("set_unavailable")
        with pytest.raises(SourceError, match="answered with an error"):
            await source.async_command("trigger_status")
        with pytest.raises(SourceError, match="no transaction"):
            await source.async_command("stop_transaction")
        assert await source.async_command("soft_reset") == "Rejected"
        assert station.received.calls[-1] == ("Reset", {"type": "OnIdle"})


async def test_unanswered_command_times_out(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("custom_components.ev_sessions.sources.ocpp.v16.RESPONSE_TIMEOUT_S", 0.2)
    async with connect(port, CP) as station:
        await boot16(station)
        station.received.delay = 5.0
        command = hass.async_create_task(source_of(entry).async_command("soft_reset"))
        for _ in range(10_000):
            if station.received.calls:
                break
            await asyncio.sleep(0)
        # The event loop's clock follows the frozen time: let a second pass.
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(hass)
        with pytest.raises(SourceError, match="did not answer"):
            await command
        freezer.tick(timedelta(seconds=5))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()


async def test_binary_frames_and_long_memory(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A frame sent as binary is read as text; the repeat memory stays bounded."""
    async with connect(port, CP) as station:
        await station.websocket.send_bytes(b'[2,"bin","Heartbeat",{}]')
        answer = await asyncio.wait_for(station._response_queue.get(), 5)
        assert answer.unique_id == "bin"
        for n in range(205):  # frames with their own time are remembered, 200 at most
            await status16(station, "Available", T0 + timedelta(seconds=n))
        assert len(source_of(entry).state.answers) == 200
        broken = await raw_call(station, '{"not": "a list"}')
        assert broken[1] == "-1"
        broken = await raw_call(station, "[2]")
        assert broken[1] == "-1"


async def test_server_refuses_a_second_entry_and_a_bad_certificate(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    twin = make_entry(port)
    twin.add_to_hass(hass)
    await hass.config_entries.async_setup(twin.entry_id)
    assert twin.state is ConfigEntryState.SETUP_RETRY
    bad = make_entry(
        free_port(), "cp-tls", ssl_certificate="/nonexistent.pem", ssl_key="/nonexistent.key"
    )
    bad.add_to_hass(hass)
    await hass.config_entries.async_setup(bad.entry_id)
    assert bad.state is ConfigEntryState.SETUP_RETRY


async def test_load_guard_drives_charging_profiles(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, port: int
) -> None:
    """The household's load rises: the guard lowers the profile, then pauses with 0 A."""
    phases = [f"sensor.house_current_l{p}" for p in (1, 2, 3)]

    def house(*amps: float) -> None:
        for entity_id, value in zip(phases, amps, strict=True):
            hass.states.async_set(entity_id, str(value), {"unit_of_measurement": "A"})

    freezer.move_to(T0 - timedelta(minutes=5))
    house(2, 2, 2)
    entry = make_entry(port)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        options={
            **entry.options,
            "main_fuse_a": 20,
            "phases": 3,
            "house_current_entities": phases,
            "safety_margin_a": 1,
        },
    )
    await setup_entry(hass, entry)
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        transaction_id = await start16(station, "04A1B2C3", 0, T0)
        await status16(station, "Charging", T0)
        await meter16(station, T0, register(0), power(11_000), transaction_id=transaction_id)
        house(17.9, 17.9, 17.9)
        await hass.async_block_till_done()
        # A 12 A load on L2 leaves 20 - 1 - (29.9 - 15.9) = 5 A: below 6 A, a pause.
        house(17.9, 29.9, 17.9)
        await hass.async_block_till_done(wait_background_tasks=True)
        profiles = [c for c in station.received.calls if c[0] == "SetChargingProfile"]
        limits = [
            c[1]["cs_charging_profiles"]["charging_schedule"]["charging_schedule_period"][0][
                "limit"
            ]
            for c in profiles
        ]
        assert limits[-1] == 0
        assert number(hass, "sensor.garage_1_current_limit") == 0
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_charger_reboot_mid_transaction(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """The box reboots while charging: its register restarts at 0, the transaction goes on."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        transaction_id = await start16(station, "04A1B2C3", 0, T0)
        await status16(station, "Charging", T0)
        freezer.move_to(T0 + timedelta(minutes=30))
        await meter16(
            station, T0 + timedelta(minutes=30), register(3_000), transaction_id=transaction_id
        )
    freezer.move_to(T0 + timedelta(minutes=32))
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        await status16(station, "Charging")
        for minute, wh in ((40, 400), (50, 1_400)):
            freezer.move_to(T0 + timedelta(minutes=minute))
            await meter16(
                station, T0 + timedelta(minutes=minute), register(wh), transaction_id=transaction_id
            )
        freezer.move_to(T0 + timedelta(minutes=60))
        await stop16(station, transaction_id, 2_400, T0 + timedelta(minutes=60), "EVDisconnected")
    (session,) = sessions(entry)
    # 3 kWh before the reboot, 2.4 kWh after it.
    assert session.energy_kwh == pytest.approx(5.4)


async def test_register_that_only_moves_at_the_end(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """The register stays at the start meter while power flows; the stop brings the energy,
    spread over the session like the power was (so the cost falls in the right hours)."""
    async with connect(port, CP, "ocpp2.0.1") as station:
        await boot201(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        begin = [
            {
                "timestamp": ts(T0),
                "sampledValue": [{"value": 1_000.0, "context": "Transaction.Begin"}],
            }
        ]
        await event201(
            station,
            "Started",
            ts(T0),
            0,
            transaction_id="E",
            charging_state="Charging",
            meter_value=begin,
        )
        # FoxESS: "Available" with the cable still in; the transaction keeps the session.
        await station.call(
            call201.StatusNotification(
                timestamp=ts(T0), connector_status="Available", evse_id=1, connector_id=1
            )
        )
        for minute in range(0, 181, 10):
            watts = 7_000 if minute < 60 or 120 <= minute < 180 else 0
            moment = T0 + timedelta(minutes=minute)
            freezer.move_to(moment)
            values = [
                {
                    "timestamp": ts(moment),
                    "sampledValue": [
                        {"value": 1_000.0},
                        {"value": watts, "measurand": "Power.Active.Import"},
                    ],
                }
            ]
            await event201(
                station, "Updated", ts(moment), minute + 1, transaction_id="E", meter_value=values
            )
        assert entry.runtime_data.tracker.active is not None
        end = [
            {
                "timestamp": ts(T0 + timedelta(minutes=180)),
                "sampledValue": [{"value": 15_000.0, "context": "Transaction.End"}],
            }
        ]
        await event201(
            station,
            "Ended",
            ts(T0 + timedelta(minutes=180)),
            999,
            transaction_id="E",
            meter_value=end,
            stopped_reason="EVDisconnected",
        )
    (session,) = sessions(entry)
    assert session.energy_kwh == pytest.approx(14.0)
    assert session.energy_between(T0, T0 + timedelta(hours=1)) == pytest.approx(7.0)
    assert session.energy_between(
        T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    ) == pytest.approx(0.0)


BOOT_16 = call16.BootNotification(
    charge_point_vendor="Keba AG",
    charge_point_model="KC-P30-ES240022-M0R",
    charge_point_serial_number="17654321",
    charge_box_serial_number="CB-998877",
    firmware_version="P30 v 3.10.16",
    iccid="8946071234567890123",
    imsi="240071234567890",
    meter_type="Phoenix Contact EEM-350",
    meter_serial_number="EEM-5550123",
)
BOOT_201 = call201.BootNotification(
    charging_station={
        "model": "KC-P30",
        "vendorName": "Keba AG",
        "serialNumber": "17654321",
        "firmwareVersion": "1.2.3",
        "modem": {"iccid": "8946071234567890123", "imsi": "240071234567890"},
    },
    reason="PowerUp",
)
SECRETS = (
    CP,
    "17654321",
    "CB-998877",
    "8946071234567890123",
    "240071234567890",
    "EEM-5550123",
    "DEADBEEF",
    "Anna",
)


@pytest.mark.parametrize(("protocol", "boot"), [("ocpp1.6", BOOT_16), ("ocpp2.0.1", BOOT_201)])
async def test_the_device_is_what_the_charge_point_says(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    port: int,
    protocol: str,
    boot: Any,
) -> None:
    """Manufacturer, model, firmware and serial from the BootNotification, updated on a new boot."""
    device = device_of(hass, entry)
    assert device is not None
    assert (device.manufacturer, device.model) == (None, "OCPP charge point")
    async with connect(port, CP, protocol) as station:
        await station.call(boot)
        await settle(hass, freezer)
        await (status16(station, "Available") if protocol == "ocpp1.6" else status201(station))
        await hass.async_block_till_done()
        device = device_of(hass, entry)
        assert device is not None
        model = "KC-P30-ES240022-M0R" if protocol == "ocpp1.6" else "KC-P30"
        firmware = "P30 v 3.10.16" if protocol == "ocpp1.6" else "1.2.3"
        assert (device.manufacturer, device.model, device.sw_version, device.serial_number) == (
            "Keba AG",
            model,
            firmware,
            "17654321",
        )
        # A firmware update: the box boots again and says so.
        if protocol == "ocpp1.6":
            await station.call(
                call16.BootNotification(
                    charge_point_vendor="Keba AG",
                    charge_point_model="KC-P30-ES240022-M0R",
                    charge_point_serial_number="17654321",
                    firmware_version="P30 v 3.11.2",
                )
            )
            await status16(station, "Available")
            await hass.async_block_till_done()
            device = device_of(hass, entry)
            assert device is not None
            assert device.sw_version == "P30 v 3.11.2"
    # Home Assistant restarts; the box does not boot again, but is still what it said.
    await restart(hass, entry, hass_storage)
    async with connect(port, CP, protocol) as station:
        await (status16(station, "Available") if protocol == "ocpp1.6" else status201(station))
        await hass.async_block_till_done()
    device = device_of(hass, entry)
    assert device is not None
    assert (device.manufacturer, device.serial_number) == ("Keba AG", "17654321")
    assert source_of(entry).device() == DeviceFacts(
        manufacturer="Keba AG",
        model=model,
        sw_version="P30 v 3.11.2" if protocol == "ocpp1.6" else "1.2.3",
        serial_number="17654321",
    )


@pytest.mark.parametrize(("protocol", "boot"), [("ocpp1.6", BOOT_16), ("ocpp2.0.1", BOOT_201)])
async def test_diagnostics_hide_people_sims_and_meters(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    port: int,
    protocol: str,
    boot: Any,
) -> None:
    """No serial, SIM, meter id, tag or user name in diagnostics, in either OCPP version."""
    async with connect(port, CP, protocol) as station:
        await station.call(boot)
        await settle(hass, freezer)
        if protocol == "ocpp1.6":
            await station.call(
                call16.StartTransaction(
                    connector_id=1, id_tag="DEADBEEF", meter_start=1000, timestamp=ts(T0)
                )
            )
        else:
            await event201(station, "Started", ts(T0), 0, id_token="DEADBEEF")
        await hass.async_block_till_done()
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    text = json.dumps(diagnostics)
    for secret in SECRETS:
        assert secret not in text, secret
    assert diagnostics["source"]["transaction"]["id_tag"] == "**REDACTED**"
    assert diagnostics["source"]["connected"] is True
    boot_data = diagnostics["source"]["boot"]
    assert "Keba AG" in text  # what the box is stays readable
    if protocol == "ocpp1.6":
        assert boot_data["iccid"] == boot_data["imsi"] == "**REDACTED**"
        assert boot_data["meter_serial_number"] == "**REDACTED**"
    else:
        assert boot_data["modem"] == {"iccid": "**REDACTED**", "imsi": "**REDACTED**"}
        assert boot_data["serial_number"] == "**REDACTED**"


async def test_wrong_passwords_lock_the_address_out_for_a_minute(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, port: int
) -> None:
    """Five wrong passwords from an address: HTTP 429 for a minute, even with the right one."""
    entry = await setup_entry(hass, make_entry(port, **{CONF_PASSWORD: "s3cret"}))
    statuses = []
    for password in ["guess"] * 5 + ["s3cret"]:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with connect(port, CP, password=password):
                pass
        statuses.append(refused.value.status)
    assert statuses == [401, 401, 401, 401, 401, 429]
    assert refused.value.headers is not None
    assert refused.value.headers["Retry-After"] == "60"
    server = hass.data[SERVERS][port]
    assert list(server.failures) == ["127.0.0.1"]
    freezer.tick(timedelta(seconds=61))
    # Expired failures are forgotten at the next sweep, also of an address that never comes
    # back (the server kept every address that ever sent a wrong password).
    async_fire_time_changed(hass, datetime.now(UTC) + HEADER_TIMEOUT)
    await hass.async_block_till_done()
    assert server.failures == {}
    async with connect(port, CP, password="s3cret") as station:
        await boot16(station)
        assert source_of(entry).link is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_strangers_cannot_flood_discovery(
    hass: HomeAssistant, entry: MockConfigEntry, port: int
) -> None:
    """Invented charge point ids start at most three discovery flows at a time."""
    for n in range(20):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with connect(port, f"stranger-{n}"):
                pass
        assert refused.value.status == 404
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 3
    # Once the user has dealt with them, the next unknown charge point is offered again.
    for flow in flows:
        hass.config_entries.flow.async_abort(flow["flow_id"])
    with pytest.raises(aiohttp.WSServerHandshakeError):
        async with connect(port, "garage-2"):
            pass
    await hass.async_block_till_done()
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["unique_id"] == "ocpp_garage-2"


async def test_an_oversized_frame_is_refused_and_the_server_stays_up(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A frame above 256 KiB closes that connection with 1009; the charge point reconnects."""
    big = json.dumps([2, "1", "DataTransfer", {"vendorId": "x", "data": "A" * 300_000}])
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://127.0.0.1:{port}/ocpp/{CP}", protocols=("ocpp1.6",)) as ws,
    ):
        await ws.send_str(big)
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert message.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    await hass.async_block_till_done()
    async with connect(port, CP) as station:
        await boot16(station)
        assert (await station.call(call16.Heartbeat())).current_time


async def test_listen_on_one_address(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, port: int
) -> None:
    """With a listen address the server is bound to it alone."""
    entry = await setup_entry(hass, make_entry(port, **{CONF_LISTEN_ADDRESS: "127.0.0.1"}))
    runner = hass.data[SERVERS][port].runner
    assert runner is not None
    assert [tuple(address[:2]) for address in runner.addresses] == [("127.0.0.1", port)]
    async with connect(port, CP) as station:
        await boot16(station)
        assert source_of(entry).link is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_transaction_delivered_in_one_burst_keeps_its_energy(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A 1.6J box whose clock runs an hour ahead flushes a whole transaction within a second:
    start 1000 Wh, three meter values, stop 12000 Wh. The session gets its 11 kWh (it got 0:
    every step looked like 11 kWh in no time)."""
    ahead = T0 + timedelta(hours=1)
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        transaction_id = await start16(station, "04A1B2C3", 1000, ahead)
        for n, wh in enumerate((4666.7, 8333.4, 12000.1), start=1):
            await meter16(
                station,
                ahead + timedelta(minutes=20 * n),
                register(wh),
                power(11_000),
                transaction_id=transaction_id,
            )
        await stop16(station, transaction_id, 12000, ahead + timedelta(hours=1), "EVDisconnected")
        await hass.async_block_till_done()
    (session,) = sessions(entry)
    # 0.1 Wh of rounding between the last meter value and the stop is register noise.
    assert session.energy_kwh == pytest.approx(11.0, abs=1e-3)
    assert entry.runtime_data.tracker.energy_total_kwh == pytest.approx(11.0, abs=1e-3)


async def test_abb_lifetime_stop_meter_counts_the_tail(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """ABB: lifetime meterStart/meterStop, session energy in the meter values. The energy after
    the last meter values (to the stop) belongs to the session too."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        transaction_id = await start16(station, "04A1B2C3", 5_000_000, T0)
        await status16(station, "Charging", T0)
        freezer.move_to(T0 + timedelta(minutes=30))
        await meter16(
            station, T0 + timedelta(minutes=30), register(1750), transaction_id=transaction_id
        )
        freezer.move_to(T0 + timedelta(minutes=35))
        await stop16(
            station, transaction_id, 5_002_000, T0 + timedelta(minutes=35), "EVDisconnected"
        )
        await hass.async_block_till_done()
    (session,) = sessions(entry)
    assert session.energy_kwh == pytest.approx(2.0)


async def test_a_transaction_never_seen_is_taken_up(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """1.6: meter values and the stop of transaction 57, which this (new) entry never saw
    start, make a session from the first meter value on; the next id is 58."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        await status16(station, "Charging", T0)
        await meter16(station, T0, register(10_000), power(7_000), transaction_id=57)
        freezer.move_to(T0 + timedelta(minutes=20))
        await meter16(
            station, T0 + timedelta(minutes=20), register(12_000), power(7_000), transaction_id=57
        )
        freezer.move_to(T0 + timedelta(minutes=40))
        await stop16(station, 57, 15_000, T0 + timedelta(minutes=40), "EVDisconnected")
        await hass.async_block_till_done()
        (session,) = sessions(entry)
        assert session.energy_kwh == pytest.approx(5.0)
        assert session.end == T0 + timedelta(minutes=40)
        # A stop repeated, or of a transaction nothing ties to this connector: nothing.
        await stop16(station, 57, 15_000, T0 + timedelta(minutes=40), "EVDisconnected")
        await stop16(station, 99, 20_000, T0 + timedelta(minutes=41))
        await hass.async_block_till_done()
        assert len(sessions(entry)) == 1
        assert await start16(station, "04A1B2C3", 15_000, T0 + timedelta(minutes=45)) == 58


async def test_a_multi_connector_box_is_followed_where_the_first_transaction_is(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A KEBA P30 master with four connectors reports them all; the car is on connector 4."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        for connector in (1, 2, 3, 4):
            await station.call(
                call16.StatusNotification(
                    connector_id=connector, error_code="NoError", status="Available"
                )
            )
        freezer.move_to(T0)
        answer = await station.call(
            call16.StartTransaction(
                connector_id=4, id_tag="04A1B2C3", meter_start=1000, timestamp=ts(T0)
            )
        )
        await station.call(
            call16.StatusNotification(
                connector_id=4, error_code="NoError", status="Charging", timestamp=ts(T0)
            )
        )
        # Connector 1 changing now is another car's business.
        await station.call(
            call16.StatusNotification(connector_id=1, error_code="NoError", status="Preparing")
        )
        freezer.move_to(T0 + timedelta(minutes=30))
        await station.call(
            call16.MeterValues(
                connector_id=4,
                transaction_id=answer.transaction_id,
                meter_value=[
                    {"timestamp": ts(T0 + timedelta(minutes=30)), "sampledValue": [register(4500)]}
                ],
            )
        )
        await stop16(
            station, answer.transaction_id, 5000, T0 + timedelta(minutes=31), "EVDisconnected"
        )
        await hass.async_block_till_done()
    (session,) = sessions(entry)
    assert session.energy_kwh == pytest.approx(4.0)
    assert session.user == "Anna"
    assert source_of(entry).state.connector == 4


async def test_keba_signed_kwh_after_a_restart_is_still_kwh(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    port: int,
) -> None:
    """The last register is saved: a unit-less signed KEBA kWh value after a restart is not
    taken for Wh (it was: 2125.1 Wh, and the session's energy was lost)."""
    async with connect(port, CP, "ocpp2.0.1") as station:
        await boot201(station, "Keba AG", "KC-P30")
        await settle(hass, freezer)
        freezer.move_to(T0)
        begin = [
            {
                "timestamp": ts(T0),
                "sampledValue": [{"value": 2114135.6, "context": "Transaction.Begin"}],
            }
        ]
        await event201(station, "Started", ts(T0), 0, charging_state="Charging", meter_value=begin)
        freezer.move_to(T0 + timedelta(minutes=30))
        periodic = [
            {
                "timestamp": ts(T0 + timedelta(minutes=30)),
                "sampledValue": [{"value": 2119635.6, "unitOfMeasure": {"unit": "Wh"}}],
            }
        ]
        await event201(station, "Updated", ts(T0 + timedelta(minutes=30)), 1, meter_value=periodic)
        await hass.async_block_till_done()
    await restart(hass, entry, hass_storage)
    freezer.move_to(T0 + timedelta(minutes=61))
    ended = [
        {
            "timestamp": ts(T0 + timedelta(minutes=61)),
            "sampledValue": [
                {
                    "value": 2125.1356,
                    "context": "Transaction.End",
                    "signedMeterValue": {
                        "signedMeterData": "OCMF|{}",
                        "signingMethod": "",
                        "encodingMethod": "OCMF",
                        "publicKey": "",
                    },
                }
            ],
        }
    ]
    async with connect(port, CP, "ocpp2.0.1") as station:
        await settle(hass, freezer)
        await event201(
            station,
            "Ended",
            ts(T0 + timedelta(minutes=61)),
            2,
            meter_value=ended,
            stopped_reason="EVDisconnected",
        )
        await hass.async_block_till_done()
    (session,) = sessions(entry)
    assert session.energy_kwh == pytest.approx(11.0)


async def test_a_half_open_or_slow_request_is_closed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A connection that never finishes its HTTP request (a box that lost power mid-handshake,
    a slow-loris client) is closed after HEADER_TIMEOUT; a charge point's websocket is not."""
    silent_reader, silent_writer = await asyncio.open_connection("127.0.0.1", port)
    slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", port)
    slow_writer.write(b"GET /ocpp/garage-1 HTTP/1.1\r\nHost: x\r\n")
    await slow_writer.drain()
    async with connect(port, CP) as station:
        await boot16(station)
        for _ in range(4):
            freezer.tick(HEADER_TIMEOUT / 3)
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
        assert await asyncio.wait_for(silent_reader.read(), 5) == b""
        assert await asyncio.wait_for(slow_reader.read(), 5) == b""
        # The charge point talks on.
        assert (await station.call(call16.Heartbeat())).current_time
    silent_writer.close()
    slow_writer.close()


async def test_the_connector_can_be_chosen_in_the_options(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """A four-connector box whose entry is for connector 3: a transaction on connector 1 (a
    neighbour's car) is not this entry's, whichever comes first; the choice applies without a
    reload, so the connection stays up."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "users"}
        )
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {CONF_ID_TAGS: "04A1B2C3 = Anna", CONF_ACCEPT_UNKNOWN_TAGS: True, "connector": 3},
        )
        await hass.async_block_till_done()
        assert entry.options["connector"] == 3
        freezer.move_to(T0)
        for connector in (1, 3):
            answer = await station.call(
                call16.StartTransaction(
                    connector_id=connector,
                    id_tag="04A1B2C3" if connector == 3 else "FFFF0001",
                    meter_start=1000,
                    timestamp=ts(T0),
                )
            )
            freezer.move_to(T0 + timedelta(minutes=30))
            await station.call(
                call16.MeterValues(
                    connector_id=connector,
                    transaction_id=answer.transaction_id,
                    meter_value=[
                        {
                            "timestamp": ts(T0 + timedelta(minutes=30)),
                            "sampledValue": [register(1000 + 1000 * connector)],
                        }
                    ],
                )
            )
            await stop16(
                station,
                answer.transaction_id,
                1000 + 1000 * connector,
                T0 + timedelta(minutes=31),
                "EVDisconnected",
            )
        await hass.async_block_till_done()
        assert not station.websocket.closed
    (session,) = sessions(entry)
    assert session.energy_kwh == pytest.approx(3.0)
    assert session.user == "Anna"
    assert source_of(entry).state.connector == 3


async def test_saving_the_tariff_and_the_house_connection_keeps_the_box_connected(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """Options apply in place: a tariff, a house connection (the load guard and its entities
    appear) and detection settings are saved during a transaction, and the box's connection
    and its transaction carry on. Every tariff save used to reload the entry and drop it."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        transaction_id = await start16(station, "04A1B2C3", 1000, T0)
        await status16(station, "Charging", T0)
        coordinator = entry.runtime_data
        assert state_value(hass, "sensor.garage_1_price") == "unknown"
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, "fixed_price": 1.0, "vat_percent": 25}
        )
        await hass.async_block_till_done()
        assert number(hass, "sensor.garage_1_price") == pytest.approx(1.25)
        assert hass.states.get("sensor.garage_1_current_limit") is None
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, "main_fuse_a": 20, "phases": 3}
        )
        await hass.async_block_till_done()
        assert hass.states.get("sensor.garage_1_current_limit") is not None
        assert entry.runtime_data is coordinator
        assert not station.websocket.closed
        freezer.move_to(T0 + timedelta(minutes=30))
        await meter16(
            station, T0 + timedelta(minutes=30), register(5000), transaction_id=transaction_id
        )
        await stop16(station, transaction_id, 5000, T0 + timedelta(minutes=31), "EVDisconnected")
        await hass.async_block_till_done()
        assert not station.websocket.closed
    (session,) = sessions(entry)
    assert session.energy_kwh == pytest.approx(4.0)
    assert session.cost == pytest.approx(5.0)  # 4 kWh x 1.25, priced under the new tariff


async def test_the_device_page_controls_and_reports_the_charge_point(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """Charging on/off, availability, restart and unlock reach the box; the current user,
    connector status, error code, firmware and last contact are shown."""
    async with connect(port, CP) as station:
        await station.call(
            call16.BootNotification(
                charge_point_model="Pulsar Plus",
                charge_point_vendor="Wallbox",
                firmware_version="5.17.13",
            )
        )
        await settle(hass, freezer)
        freezer.move_to(T0)
        await status16(station, "Preparing", T0)
        assert state_value(hass, "sensor.garage_1_connector_status") == "Preparing"
        assert state_value(hass, "sensor.garage_1_firmware") == "5.17.13"
        # Updated, the box boots again with its new firmware: the sensor follows at once.
        await station.call(
            call16.BootNotification(
                charge_point_model="Pulsar Plus",
                charge_point_vendor="Wallbox",
                firmware_version="5.18.2",
            )
        )
        await hass.async_block_till_done()
        assert state_value(hass, "sensor.garage_1_firmware") == "5.18.2"
        await status16(station, "Preparing", T0)
        assert state_value(hass, "sensor.garage_1_last_heard") == T0.isoformat()
        # To the minute: a message 50 s later is not another row in the database.
        freezer.move_to(T0 + timedelta(seconds=50))
        await station.call(call16.Heartbeat())
        await hass.async_block_till_done()
        assert state_value(hass, "sensor.garage_1_last_heard") == T0.isoformat()
        # The next minute's first message moves it on.
        freezer.move_to(T0 + timedelta(seconds=70))
        await status16(station, "Preparing", T0 + timedelta(seconds=70))
        await hass.async_block_till_done()
        last_heard = (T0 + timedelta(minutes=1)).isoformat()
        assert state_value(hass, "sensor.garage_1_last_heard") == last_heard
        freezer.move_to(T0)
        assert state_value(hass, "switch.garage_1_charging_session") == "off"
        assert state_value(hass, "switch.garage_1_available") == "on"
        await hass.services.async_call(
            "switch", "turn_on", {"entity_id": "switch.garage_1_charging_session"}, blocking=True
        )
        transaction_id = await start16(station, "04A1B2C3", 1000, T0)
        await hass.async_block_till_done()
        assert state_value(hass, "switch.garage_1_charging_session") == "on"
        assert state_value(hass, "sensor.garage_1_current_user") == "Anna"
        # A MeterValues within the minute changes the session, not the device page: its
        # entities are not even looked at.
        with entities_looked_at() as looked_at:
            freezer.move_to(T0 + timedelta(seconds=20))
            moment = T0 + timedelta(seconds=20)
            await meter16(
                station, moment, register(1050), power(9000), transaction_id=transaction_id
            )
            await hass.async_block_till_done()
        assert number(hass, "sensor.garage_1_power") == 9000
        assert looked_at["sensor.garage_1_power"] == 1
        for steady in (
            "sensor.garage_1_current_user",
            "sensor.garage_1_connector_status",
            "sensor.garage_1_last_heard",
            "switch.garage_1_charging_session",
            "switch.garage_1_available",
            "button.garage_1_restart",
        ):
            assert hass.states.get(steady) is not None, steady
            assert looked_at[steady] == 0, steady
        await hass.services.async_call(
            "switch", "turn_off", {"entity_id": "switch.garage_1_charging_session"}, blocking=True
        )
        await hass.services.async_call(
            "switch", "turn_off", {"entity_id": "switch.garage_1_available"}, blocking=True
        )
        for button in ("button.garage_1_restart", "button.garage_1_unlock_cable"):
            await hass.services.async_call("button", "press", {"entity_id": button}, blocking=True)
        calls = [name for name, _ in station.received.calls]
        assert calls == [
            "RemoteStartTransaction",
            "RemoteStopTransaction",
            "ChangeAvailability",
            "Reset",
            "UnlockConnector",
        ]
        assert station.received.calls[1][1]["transaction_id"] == transaction_id
        assert station.received.calls[2][1] == {"connector_id": 0, "type": "Inoperative"}
        assert station.received.calls[3][1] == {"type": "Soft"}
        assert station.received.calls[4][1] == {"connector_id": 1}
        await station.call(
            call16.StatusNotification(
                connector_id=1, error_code="GroundFailure", status="Faulted", timestamp=ts(T0)
            )
        )
        await hass.async_block_till_done()
        assert state_value(hass, "sensor.garage_1_error_code") == "GroundFailure"
        await station.call(
            call16.StatusNotification(connector_id=1, error_code="NoError", status="Unavailable")
        )
        await hass.async_block_till_done()
        assert state_value(hass, "switch.garage_1_available") == "off"
    # A refusal is a translated error; a box that is away too.
    await hass.async_block_till_done()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.garage_1_restart"}, blocking=True
        )
    assert err.value.translation_key == "command_not_connected"


async def test_a_maximum_current_caps_every_limit_sent(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """The charge point's *Maximum current* caps what the load guard or smart charging sends,
    at once when it is lowered, and on every later limit and resume."""

    def limits(station: Any) -> list[float]:
        return [
            payload["cs_charging_profiles"]["charging_schedule"]["charging_schedule_period"][0][
                "limit"
            ]
            for name, payload in station.received.calls
            if name == "SetChargingProfile"
        ]

    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        await start16(station, "04A1B2C3", 1000, T0)
        source = source_of(entry)
        assert number(hass, "number.garage_1_maximum_current") == 32
        await source.async_set_current_limit(16)
        await hass.services.async_call(
            "number",
            "set_value",
            {"entity_id": "number.garage_1_maximum_current", "value": 10},
            blocking=True,
        )
        await hass.async_block_till_done()
        await source.async_set_current_limit(20)
        await source.async_set_charging(False)
        await source.async_set_charging(True)
        await hass.async_block_till_done()
        assert limits(station) == [16, 10, 10, 0, 10]
        assert not station.websocket.closed


async def test_what_the_reorder_window_holds_survives_a_crash(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    port: int,
) -> None:
    """A box reconnects and flushes its queue (meter values and the stop of a 6 kWh
    transaction); Home Assistant is killed before the reorder window closes. The box had its
    answers and will not send them again: the held frames are saved and replayed at start."""
    async with connect(port, CP) as station:
        await boot16(station)
        await settle(hass, freezer)
        freezer.move_to(T0)
        transaction_id = await start16(station, "04A1B2C3", 1000, T0)
        await status16(station, "Charging", T0)
        await hass.async_block_till_done()
    freezer.move_to(T0 + timedelta(hours=2))
    async with connect(port, CP) as station:
        await boot16(station)  # the reconnect opens the window
        await meter16(
            station, T0 + timedelta(hours=1), register(4000), transaction_id=transaction_id
        )
        await stop16(station, transaction_id, 7000, T0 + timedelta(hours=1, minutes=30))
        await status16(station, "Available", T0 + timedelta(hours=1, minutes=30))
        freezer.tick(timedelta(seconds=2))
        async_fire_time_changed(hass)  # the state save asked for (not the window's close)
        await hass.async_block_till_done()
        assert entry.runtime_data.tracker.active is not None  # still held
        await crash(hass, entry, hass_storage)
    (session,) = sessions(entry)
    assert session.energy_kwh == pytest.approx(6.0)
    assert session.end == T0 + timedelta(hours=1, minutes=30)
    assert session.user == "Anna"
