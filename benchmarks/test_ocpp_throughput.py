"""MeterValues handled per CPU-second with 100 charge points connected at once.

Run: .venv/bin/python -m pytest benchmarks/test_ocpp_throughput.py -s -p no:randomly

Each charge point is a real ``ocpp`` 1.6 client on a real websocket to the central system in
the same process, in a transaction, sending MeterValues (register, power, three currents)
as fast as the answers come (the register rises 1 mWh a message, so every value is plausible
and counted). Each message updates the session and every entity of its charge point.
The CPU time is the whole process's (clients included: the
figure for the central system alone is higher); client-side schema validation is skipped.
Asyncio debug mode and INFO logging, which the test harness turns on, are turned off as in
production.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
from datetime import UTC, datetime
import logging
import os
import pstats
import time
from typing import Any

from ocpp.v16 import call as call16
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant

import custom_components.ev_sessions  # noqa: F401
from custom_components.ev_sessions.const import CONF_CHARGE_POINT_ID, CONF_SOURCE, DOMAIN
from tests.ocpp_client import connect, free_port

CHARGE_POINTS = 100
MESSAGES_EACH = 30


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load this repository's integration."""


async def _run(station: Any, transaction_id: int) -> None:
    for n in range(MESSAGES_EACH):
        moment = datetime.now(UTC)
        await station.call(
            call16.MeterValues(
                connector_id=1,
                transaction_id=transaction_id,
                meter_value=[
                    {
                        "timestamp": moment.isoformat(),
                        "sampledValue": [
                            {"value": f"{1000 + (n + 1) / 1000:.3f}", "unit": "Wh"},
                            {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
                            *(
                                {"value": "16", "measurand": "Current.Import", "phase": phase}
                                for phase in ("L1", "L2", "L3")
                            ),
                        ],
                    }
                ],
            ),
            skip_schema_validation=True,
        )


@pytest.mark.usefixtures("socket_enabled")
async def test_meter_values_per_cpu_second(hass: HomeAssistant) -> None:
    # As in production: no asyncio debug mode (the test harness turns it on), warnings only.
    asyncio.get_running_loop().set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    port = free_port()
    entries = []
    for n in range(CHARGE_POINTS):
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"cp{n}",
            data={CONF_SOURCE: "ocpp", CONF_CHARGE_POINT_ID: f"cp{n}", CONF_PORT: port},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        entries.append(entry)
    await hass.async_block_till_done()
    start = datetime.now(UTC)
    async with contextlib.AsyncExitStack() as stack:
        stations = [
            await stack.enter_async_context(connect(port, f"cp{n}")) for n in range(CHARGE_POINTS)
        ]
        for station in stations:
            await station.call(call16.Heartbeat())  # served: the reorder window is open
        for source in (entry.runtime_data.source for entry in entries):
            # Measure live handling, not the reorder window after a connect.
            source.state.window.flush()
        ids = []
        for station in stations:
            answer = await station.call(
                call16.StartTransaction(
                    connector_id=1, id_tag="TAG", meter_start=1000, timestamp=start.isoformat()
                )
            )
            ids.append(answer.transaction_id)
        profile = cProfile.Profile() if os.environ.get("EV_SESSIONS_BENCH_PROFILE") else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        await asyncio.gather(*(_run(s, i) for s, i in zip(stations, ids, strict=True)))
        await hass.async_block_till_done()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profile is not None:
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(50)
    messages = CHARGE_POINTS * MESSAGES_EACH
    print(
        f"\n{CHARGE_POINTS} charge points, {messages} MeterValues: "
        f"{messages / cpu:.0f} per CPU-second, {messages / wall:.0f} per second "
        f"({cpu:.2f} CPU-s, {wall:.2f} s)"
    )
    for entry in entries:
        assert entry.runtime_data.tracker.active is not None
        assert entry.runtime_data.tracker.active.energy_kwh == pytest.approx(MESSAGES_EACH / 1e6)
        assert await hass.config_entries.async_unload(entry.entry_id)
