"""Learned habits, checked on real residential sessions (Trondheim housing cooperative)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
import statistics
from zoneinfo import ZoneInfo

import pytest

from custom_components.ev_sessions.model.habits import (
    MIN_DWELL,
    circular_median_minutes,
    learn_habits,
)
from custom_components.ev_sessions.model.session import Session

OSLO = ZoneInfo("Europe/Oslo")
DATA = (
    Path(__file__).parent.parent / "fixtures" / "norway_trondheim_dataset1_ev_charging_reports.csv"
)


def _sessions_by_user() -> dict[str, list[Session]]:
    """The file's sessions (naive local Norwegian times; no plug-out: still connected)."""
    users: dict[str, list[Session]] = {}
    with DATA.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            if row["End_plugout"] == "NA":
                continue
            start = datetime.strptime(row["Start_plugin"], "%d.%m.%Y %H:%M").replace(tzinfo=OSLO)
            end = datetime.strptime(row["End_plugout"], "%d.%m.%Y %H:%M").replace(tzinfo=OSLO)
            if end <= start:
                continue
            session = Session(id=row["session_ID"], start=start, end=end)
            session.energy_kwh = float(row["El_kWh"].replace(",", "."))
            users.setdefault(row["User_ID"], []).append(session)
    return {user: sorted(s, key=lambda s: s.start) for user, s in users.items()}


def _minutes(moment: datetime) -> float:
    return moment.hour * 60 + moment.minute


def _spread(minutes: list[float]) -> float:
    """Median circular distance from the circular median, in minutes."""
    centre = circular_median_minutes(minutes)
    return statistics.median(min(abs(m - centre), 1440 - abs(m - centre)) for m in minutes)


def _fixed_seven(start: datetime) -> datetime:
    """The baseline: the first 07:00 at least two hours after plug-in."""
    candidate = datetime.combine(start.date(), time(7), tzinfo=OSLO)
    while candidate - start < MIN_DWELL:
        candidate += timedelta(days=1)
    return candidate


def test_learned_unplug_beats_a_fixed_seven_oclock_for_regular_users() -> None:
    users = _sessions_by_user()
    assert sum(len(s) for s in users.values()) > 6_800
    learned_errors: list[float] = []
    fixed_errors: list[float] = []
    wins = 0
    regular = 0
    for sessions in users.values():
        departures = [s for s in sessions if s.end and s.end - s.start >= MIN_DWELL]
        if len(departures) < 40 or _spread([_minutes(s.end) for s in departures if s.end]) > 90:
            continue
        regular += 1
        user_learned: list[float] = []
        user_fixed: list[float] = []
        for index in range(20, len(sessions)):
            session = sessions[index]
            assert session.end is not None
            if session.end - session.start < MIN_DWELL:
                continue
            habits = learn_habits(sessions[max(0, index - 60) : index], OSLO)
            assert habits is not None
            predicted = habits.next_departure(session.start, OSLO)
            assert predicted is not None
            user_learned.append(abs((predicted - session.end).total_seconds()) / 3600)
            user_fixed.append(
                abs((_fixed_seven(session.start) - session.end).total_seconds()) / 3600
            )
        learned_errors += user_learned
        fixed_errors += user_fixed
        wins += statistics.mean(user_learned) < statistics.mean(user_fixed)
    assert regular >= 10
    # Median absolute error over every predicted departure of the regular users.
    assert statistics.median(learned_errors) < statistics.median(fixed_errors)
    assert statistics.mean(learned_errors) < statistics.mean(fixed_errors)
    assert wins > regular / 2


def test_habits_per_weekday_and_fallback() -> None:
    monday = datetime(2026, 1, 5, 18, 0, tzinfo=OSLO)
    sessions = []
    for week in range(4):
        for day, (plug, unplug, kwh) in enumerate(
            [(18, 7, 10.0), (18, 7, 12.0), (17, 8, 8.0), (18, 7, 10.0), (19, 10, 20.0)]
        ):
            start = monday + timedelta(weeks=week, days=day, hours=plug - 18)
            end = (start + timedelta(days=1)).replace(hour=unplug, minute=0)
            session = Session(id=f"{week}-{day}", start=start, end=end)
            session.energy_kwh = kwh
            sessions.append(session)
    habits = learn_habits(sessions, OSLO)
    assert habits is not None
    assert habits.plug_in["wed"] == time(17)
    assert habits.unplug["thu"] == time(8)  # Wednesday's sessions end on Thursday
    assert habits.unplug["sat"] == time(10)
    assert habits.energy_kwh["fri"] == 20.0
    # Sunday has no plug-ins of its own: it borrows the median of all days.
    assert habits.plug_in["sun"] == time(18)
    assert habits.sessions == 20
    departure = habits.next_departure(datetime(2026, 2, 6, 19, 0, tzinfo=OSLO), OSLO)
    assert departure == datetime(2026, 2, 7, 10, 0, tzinfo=OSLO)


def test_too_few_sessions_say_nothing() -> None:
    start = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    short = [
        Session(
            id=str(i), start=start + timedelta(days=i), end=start + timedelta(days=i, minutes=30)
        )
        for i in range(3)
    ]
    assert learn_habits(short[:2], OSLO) is None
    habits = learn_habits(short, OSLO)
    assert habits is not None
    assert habits.unplug == {}  # only short stops: no departures learned
    assert habits.next_departure(start, OSLO) is None


def test_circular_median_around_midnight() -> None:
    assert circular_median_minutes([23 * 60 + 50, 10, 30]) == pytest.approx(10)
    assert circular_median_minutes([7 * 60, 7 * 60 + 30, 8 * 60]) == pytest.approx(450)
