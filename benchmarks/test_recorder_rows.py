"""Rows the recorder writes per OCPP message, with Home Assistant's recorder on.

Run: .venv/bin/python -m pytest benchmarks/test_recorder_rows.py -s -p no:randomly

Ten charge points over real websockets, each in a transaction, each sending MeterValues
every 10 s for ten minutes (register, power and three currents, the power changing a little
each time, as a real car's does): the rows added to the ``states`` and ``state_attributes``
tables and the database's growth, per message. (The issue measured lbbrhzn/ocpp at
0.89 MiB for ten charge points' traffic where EV Sessions then wrote 7.0 MiB.)
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from ocpp.v16 import call as call16
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from sqlalchemy import text

from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.components.recorder.util import session_scope
from homeassistant.core import HomeAssistant

from benchmarks.test_ocpp_throughput import in_transaction, quiet, set_up
import custom_components.ev_sessions  # noqa: F401
from tests.ocpp_client import free_port

CHARGE_POINTS = 10
MESSAGES_EACH = 60  # ten minutes, one every 10 s
START = datetime(2025, 10, 1, 15, 0, tzinfo=UTC)


def _database(hass: HomeAssistant) -> tuple[int, int, int]:
    """Rows in states and state_attributes, and the database's size in bytes."""
    with session_scope(hass=hass, read_only=True) as session:
        states = session.execute(text("SELECT COUNT(*) FROM states")).scalar_one()
        attributes = session.execute(text("SELECT COUNT(*) FROM state_attributes")).scalar_one()
        pages = session.execute(text("PRAGMA page_count")).scalar_one()
        size = session.execute(text("PRAGMA page_size")).scalar_one()
    return int(states), int(attributes), int(pages) * int(size)


def _rows_of(hass: HomeAssistant, name: str) -> dict[str, int]:
    """State rows per entity of one charge point, most first."""
    with session_scope(hass=hass, read_only=True) as session:
        found = session.execute(
            text(
                "SELECT states_meta.entity_id, COUNT(*) FROM states JOIN states_meta "
                "ON states.metadata_id = states_meta.metadata_id "
                "WHERE states_meta.entity_id LIKE :like GROUP BY states_meta.entity_id "
                "ORDER BY COUNT(*) DESC"
            ),
            {"like": f"%.{name}_%"},
        ).all()
    return {str(entity_id): int(count) for entity_id, count in found if count > 1}


@pytest.mark.usefixtures("socket_enabled")
async def test_rows_per_message(
    recorder_mock: Recorder,  # first: the recorder is set up before Home Assistant
    enable_custom_integrations: None,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
) -> None:
    quiet()
    freezer.move_to(START)
    port = free_port()
    entries = await set_up(hass, port, CHARGE_POINTS)
    async with contextlib.AsyncExitStack() as stack:
        stations, ids = await in_transaction(stack, port, entries)
        await async_wait_recording_done(hass)
        before = await get_instance(hass).async_add_executor_job(_database, hass)
        for n in range(MESSAGES_EACH):
            freezer.tick(timedelta(seconds=10))
            moment = START + timedelta(seconds=10 * (n + 1))
            for station, transaction_id in zip(stations, ids, strict=True):
                await station.call(_meter_values(transaction_id, n, moment))
            await hass.async_block_till_done()
        await async_wait_recording_done(hass)
        after = await get_instance(hass).async_add_executor_job(_database, hass)
    messages = CHARGE_POINTS * MESSAGES_EACH
    states, attributes, size = (a - b for a, b in zip(after, before, strict=True))
    print(
        f"\n{CHARGE_POINTS} charge points, {messages} MeterValues (one every 10 s each): "
        f"{states / messages:.2f} state rows and {attributes / messages:.2f} attribute rows "
        f"per message; the database grew by {size / 1024:.0f} KiB "
        f"({size / messages:.0f} bytes per message)"
    )
    rows = await get_instance(hass).async_add_executor_job(_rows_of, hass, "cp0")
    print("  rows of the first charge point's entities:", rows)
    for entry in entries:
        assert entry.runtime_data.tracker.active is not None
        assert await hass.config_entries.async_unload(entry.entry_id)


def _meter_values(transaction_id: int, n: int, moment: datetime) -> Any:
    """The n-th MeterValues: 11 kW (give or take a little), 1.83 Wh more each 10 s... at 11 kW
    the register rises 30.6 Wh in 10 s."""
    return call16.MeterValues(
        connector_id=1,
        transaction_id=transaction_id,
        meter_value=[
            {
                "timestamp": moment.isoformat(),
                "sampledValue": [
                    {"value": f"{1000 + (n + 1) * 30.6:.1f}", "unit": "Wh"},
                    {
                        "value": str(11000 + 40 * (n % 3)),
                        "measurand": "Power.Active.Import",
                        "unit": "W",
                    },
                    *(
                        {
                            "value": f"{15.9 + 0.1 * (n % 3):.1f}",
                            "measurand": "Current.Import",
                            "phase": phase,
                        }
                        for phase in ("L1", "L2", "L3")
                    ),
                ],
            }
        ],
    )
