"""SessionHistory queries and unit parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.ev_sessions.model.history import (
    SessionHistory,
    session_summary,
    sessions_csv,
)
from custom_components.ev_sessions.model.reading import Reading
from custom_components.ev_sessions.model.session import Session
from custom_components.ev_sessions.model.simulator import SimulatedWallbox
from custom_components.ev_sessions.model.tracker import SessionTracker, TrackerConfig
from custom_components.ev_sessions.model.units import energy_to_kwh, parse_number, power_to_w

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _session(day: int, user: str | None = None) -> Session:
    start = T0 + timedelta(days=day, hours=18)
    return Session(id=f"s{day}", start=start, end=start + timedelta(hours=2), user=user)


def test_between_filters_by_overlap_and_user() -> None:
    history = SessionHistory([_session(3, "anna"), _session(1, "bo"), _session(2, "anna")])
    assert [s.id for s in history.sessions] == ["s1", "s2", "s3"]
    assert [s.id for s in history.between(end=T0 + timedelta(days=2))] == ["s1"]
    assert [s.id for s in history.between(start=T0 + timedelta(days=2))] == ["s2", "s3"]
    assert [s.id for s in history.between(user="anna")] == ["s2", "s3"]
    assert history.last is not None
    assert history.last.id == "s3"
    assert SessionHistory().last is None


def test_add_keeps_order_and_replaces_by_id() -> None:
    history = SessionHistory([_session(1), _session(3)])
    history.add(_session(2))
    corrected = _session(2)
    corrected.energy_kwh = 9.0
    history.add(corrected)
    assert [s.id for s in history.sessions] == ["s1", "s2", "s3"]
    assert history.sessions[1].energy_kwh == 9.0
    restored = SessionHistory.from_list(history.as_list())
    assert [s.as_dict() for s in restored.sessions] == [s.as_dict() for s in history.sessions]


def test_summary_of_a_session_that_never_charged() -> None:
    session = _session(1)
    summary = session_summary(session, session.end or T0, "SEK")
    assert summary["average_power_kw"] is None
    assert summary["first_charge"] is None
    assert summary["idle_h"] == 2.0
    text = sessions_csv([summary])
    assert text.splitlines()[0].startswith("id,start,end,user,energy_kwh")
    assert ",SEK," in text.splitlines()[1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.5", 12.5),
        (" 7 ", 7.0),
        (3, 3.0),
        (True, None),
        (None, None),
        ("nan", None),
        ("x", None),
        ([1], None),
    ],
)
def test_parse_number(value: object, expected: float | None) -> None:
    assert parse_number(value) == expected


def test_units() -> None:
    assert power_to_w("7.4", "kW") == pytest.approx(7400)
    assert power_to_w("1", "MW") == 1_000_000
    assert power_to_w("100", "A") is None
    assert power_to_w("100", None) is None
    assert energy_to_kwh("2500", "Wh") == pytest.approx(2.5)
    assert energy_to_kwh("2.5", "MWh") == pytest.approx(2500)
    assert energy_to_kwh("2.5", "kJ") is None


def test_user_known_only_after_plug_in() -> None:
    """RFID presented after the cable (OCPP Authorize after StatusNotification)."""
    tracker = SessionTracker(TrackerConfig(uses_connection=True, has_register=True))
    tracker.update(Reading(time=T0, power_w=0, energy_kwh=1.0, connected=True))
    tracker.update(
        Reading(
            time=T0 + timedelta(minutes=1), power_w=0, energy_kwh=1.0, connected=True, user="tag-7"
        )
    )
    assert tracker.active is not None
    assert tracker.active.user == "tag-7"


def test_plugging_in_twice_is_one_arrival() -> None:
    wallbox = SimulatedWallbox(max_power_kw=11, phases=3, battery_capacity_kwh=60)
    wallbox.plug_in(T0)
    soc = wallbox.soc
    wallbox.plug_in(T0 + timedelta(seconds=1))
    assert wallbox.plug_ins == 1
    assert wallbox.soc == pytest.approx(soc, abs=0.1)
