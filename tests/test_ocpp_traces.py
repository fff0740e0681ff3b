"""Real charge point traces, replayed frame by frame at the times they arrived.

The frame files in ``fixtures/ocpp/`` rebuild traces published by others (values, ids, timestamps
and quirks as recorded; see ``fixtures/README.md``). ``"$tx"`` stands for the transaction id this
central system gave in answer to the trace's StartTransaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .helpers import number, number_now, state_value
from .ocpp_client import connect, raw_call
from .test_ocpp import CP, entry, port, settle, source_of

__all__ = ["entry", "port"]  # the fixtures, shared with test_ocpp

pytestmark = pytest.mark.usefixtures("socket_enabled")

TRACES = Path(__file__).parent / "fixtures" / "ocpp"


def trace(name: str) -> list[tuple[datetime, list[Any]]]:
    lines = (TRACES / name).read_text().splitlines()
    steps = [json.loads(line) for line in lines]
    return [
        (dt_util.parse_datetime(step["at"]) or dt_util.utcnow(), step["frame"]) for step in steps
    ]


def with_transaction(frame: list[Any], transaction_id: int | None) -> str:
    text = json.dumps(frame)
    return text.replace('"$tx"', str(transaction_id))


async def replay(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    station: Any,
    steps: list[tuple[datetime, list[Any]]],
) -> list[list[Any]]:
    """Send each frame at its arrival time; the answers, in order.

    Between frames the integration's 30-s ticks run, up to two seconds before the frame,
    as they would have while the box was quiet (a jump straight to the frame's arrival
    would run a tick overdue for hours at that very moment, ahead of the frame).
    """
    answers: list[list[Any]] = []
    transaction_id: int | None = None
    for moment, frame in steps:
        if moment - dt_util.utcnow() > timedelta(seconds=2):
            freezer.move_to(moment - timedelta(seconds=2))
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
        freezer.move_to(moment)
        answer = await raw_call(station, with_transaction(frame, transaction_id))
        answers.append(answer)
        if frame[2] == "StartTransaction" and answer[0] == 3:
            transaction_id = answer[2]["transactionId"]
        await hass.async_block_till_done()
    return answers


async def test_actec_connect_sequence(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """AcTEC EV-AC22K V1.17.9 (SensorsIot/Wallbox-EVCC-Proxy ``Actec_errors.md``): two boots, a
    heartbeat, then a FirmwareStatusNotification every 10 s. This box drops the connection after
    four NotSupported answers, so each must get a plain CALLRESULT; the link stays up."""
    steps = trace("actec_ev_ac22k_connect.jsonl")
    async with connect(port, CP) as station:
        answers = await replay(hass, freezer, station, steps)
        assert [answer[0] for answer in answers] == [3] * len(steps)
        assert [answer[1] for answer in answers] == [frame[1] for _, frame in steps]
        assert answers[0][2]["status"] == answers[1][2]["status"] == "Accepted"
        assert answers[0][2]["interval"] > 0
        for answer in answers[3:7]:
            assert answer[2] == {}
        assert "currentTime" in answers[-1][2]
        assert not station.websocket.closed
        assert source_of(entry).link is not None
    device = source_of(entry).device()
    assert (device.manufacturer, device.model, device.sw_version) == (
        "AcTEC",
        "EV-AC22K",
        "V1.17.9",
    )


async def test_actec_session_with_per_phase_power_and_zero_soc(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """AcTEC EV-AC22K 1.6J, 17 meter values (SensorsIot/Energy-Management
    ``decimal-amps-test-2026-02-24.md``): a per-transaction register from 60 Wh in transaction 1,
    which this entry never saw start; power per phase with no total; voltage on L1 and L2 only;
    SoC "0"; the box's stamps 2-3 s after the arrival; message ids with gaps."""
    steps = trace("actec_ev_ac22k_session.jsonl")
    freezer.move_to(steps[0][0] - timedelta(minutes=1))
    async with connect(port, CP) as station:
        boot = [
            2,
            "1060",
            "BootNotification",
            {"chargePointModel": "EV-AC22K", "chargePointVendor": "AcTEC"},
        ]
        await raw_call(station, json.dumps(boot))
        await settle(hass, freezer)
        answers = await replay(hass, freezer, station, steps)
        assert all(answer[0] == 3 and answer[2] == {} for answer in answers)
        # Taken up as a session; 1360 - 60 Wh, whatever the absolute register says.
        assert await number_now(hass, "sensor.garage_1_session_energy") == pytest.approx(1.30)
        assert number(hass, "sensor.garage_1_power") == pytest.approx(1723 + 1677 + 1717)
        assert state_value(hass, "sensor.garage_1_soc") in ("unknown", "unavailable")
        last = steps[-1][0]
        freezer.move_to(last + timedelta(minutes=1))
        stop = [
            2,
            "1098",
            "StopTransaction",
            {
                "transactionId": 1,
                "meterStop": 1380,
                "timestamp": (last + timedelta(minutes=1)).isoformat(),
                "reason": "EVDisconnected",
            },
        ]
        assert (await raw_call(station, json.dumps(stop)))[0] == 3
        await hass.async_block_till_done()
    (session,) = entry.runtime_data.history.sessions
    assert session.energy_kwh == pytest.approx(1.32)
    # Twelve minutes at about 4.4 kW, then ten at about 5.1 kW: the box's 7.2 A floored to 7 A.
    assert session.peak_power_w == pytest.approx(1736 + 1685 + 1724)


async def test_blink_value_only_samples_and_a_transaction_it_started_elsewhere(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, port: int
) -> None:
    """Blink (CowboyTim/evse ``evse-report.pl``): samples with only a value (the register in Wh),
    each message logged twice with the same id, and meter values for a transaction (643) that
    this central system never gave out."""
    steps = trace("blink_value_only.jsonl")
    freezer.move_to(steps[0][0] - timedelta(minutes=1))
    async with connect(port, CP) as station:
        await raw_call(
            station,
            json.dumps(
                [
                    2,
                    "80",
                    "BootNotification",
                    {"chargePointModel": "HQ", "chargePointVendor": "Blink"},
                ]
            ),
        )
        await settle(hass, freezer)
        answers = await replay(hass, freezer, station, steps)
        # A repeat is answered alike.
        assert answers[1] == answers[2]
        assert answers[3] == answers[4]
        assert answers[0][2]["idTagInfo"]["status"] == "Accepted"
        assert number(hass, "sensor.garage_1_session_energy") == pytest.approx(5.0)
    first, *_ = entry.runtime_data.history.sessions
    assert first.energy_kwh == pytest.approx(0.211)
    assert first.start == steps[0][0] - timedelta(seconds=1)
    assert first.end == steps[3][0] - timedelta(seconds=1)
    assert entry.runtime_data.tracker.energy_total_kwh == pytest.approx(0.211 + 5.0)
