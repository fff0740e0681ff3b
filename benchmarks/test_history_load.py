"""How long loading and querying ten years of daily sessions takes.

Run: .venv/bin/python -m pytest benchmarks --benchmark-columns=min,mean,max,rounds
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pytest_benchmark.fixture import BenchmarkFixture

from homeassistant.helpers.json import json_bytes
from homeassistant.util.json import json_loads

from custom_components.ev_sessions.model.history import SessionHistory
from custom_components.ev_sessions.model.reading import Reading
from custom_components.ev_sessions.model.session import Session
from custom_components.ev_sessions.model.tracker import SessionEnded, SessionTracker, TrackerConfig

DAYS = 3650


def _ten_years() -> list[Session]:
    """A session every evening: 4 h at 11 kW, then idle until unplug; register read every 15 min."""
    tracker = SessionTracker(TrackerConfig(uses_connection=True, has_register=True))
    sessions: list[Session] = []
    register = 0.0
    start = datetime(2016, 1, 1, 17, 0, tzinfo=UTC)
    for day in range(DAYS):
        plug = start + timedelta(days=day)
        readings = [Reading(time=plug, power_w=0, energy_kwh=register, connected=True)]
        for minute in range(1, 4 * 60 + 1, 15):
            register += 11 * 15 / 60
            readings.append(
                Reading(
                    time=plug + timedelta(minutes=minute),
                    power_w=11000,
                    energy_kwh=register,
                    connected=True,
                )
            )
        readings.append(
            Reading(
                time=plug + timedelta(hours=13), power_w=0, energy_kwh=register, connected=False
            )
        )
        for reading in readings:
            for event in tracker.update(reading):
                if isinstance(event, SessionEnded):
                    sessions.append(event.session)
    return sessions


def test_load_ten_years_of_daily_sessions(benchmark: BenchmarkFixture) -> None:
    stored = json_bytes({"sessions": SessionHistory(_ten_years()).as_list()})

    def load() -> SessionHistory:
        data: Any = json_loads(stored)
        return SessionHistory.from_list(data["sessions"])

    history = benchmark(load)
    assert len(history) == DAYS
    benchmark.extra_info["stored_mib"] = round(len(stored) / 2**20, 2)


def test_month_energy_over_ten_years(benchmark: BenchmarkFixture) -> None:
    history = SessionHistory(_ten_years())
    month = datetime(2025, 12, 1, tzinfo=UTC)
    energy = benchmark(history.energy_between, month, month + timedelta(days=31))
    assert energy > 0


def test_tracker_update(benchmark: BenchmarkFixture) -> None:
    tracker = SessionTracker(TrackerConfig(uses_connection=True, has_register=True))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    tracker.update(Reading(time=now, power_w=11000, energy_kwh=0.0, connected=True))
    step = {"i": 0}

    def one_reading() -> None:
        step["i"] += 1
        tracker.update(
            Reading(
                time=now + timedelta(seconds=10 * step["i"]),
                power_w=11000,
                energy_kwh=step["i"] * 11 / 360,
                connected=True,
            )
        )

    benchmark(one_reading)
