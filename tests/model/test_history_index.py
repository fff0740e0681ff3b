"""The history's range queries find exactly what a scan of every session finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings, strategies as st

from custom_components.ev_sessions.model.history import SessionHistory
from custom_components.ev_sessions.model.session import Session

BASE = datetime(2026, 1, 1, tzinfo=UTC)

sessions_strategy = st.lists(
    st.tuples(st.integers(0, 2000), st.integers(0, 300), st.sampled_from(["Anna", "Bo", None])),
    max_size=40,
)


def scan(sessions: list[Session], start: datetime, end: datetime) -> set[str]:
    return {s.id for s in sessions if s.start < end and (s.end is None or s.end > start)}


@settings(max_examples=200, deadline=None)
@given(
    sessions_strategy,
    st.integers(-100, 2100),
    st.integers(1, 500),
    st.lists(st.tuples(st.integers(0, 39), st.integers(0, 2000), st.integers(0, 300)), max_size=5),
)
def test_between_equals_a_full_scan(
    spans: list[tuple[int, int, str | None]],
    at: int,
    width: int,
    replacements: list[tuple[int, int, int]],
) -> None:
    made = [
        Session(
            id=f"s{n}",
            start=BASE + timedelta(hours=begin),
            end=BASE + timedelta(hours=begin + length),
            user=user,
        )
        for n, (begin, length, user) in enumerate(spans)
    ]
    history = SessionHistory(reversed(made))
    for index, begin, length in replacements:  # a session re-added (re-costed, late energy)
        if index < len(made):
            again = Session(
                id=f"s{index}",
                start=BASE + timedelta(hours=begin),
                end=BASE + timedelta(hours=begin + length),
            )
            made[index] = again
            history.add(again)
    start = BASE + timedelta(hours=at)
    end = start + timedelta(hours=width)
    assert {s.id for s in history.between(start, end)} == scan(made, start, end)
    assert [s.start for s in history.sessions] == sorted(s.start for s in made)
    assert len(history) == len(made)
    assert history.recent(3) == history.sessions[-3:]
    assert history.recent(0) == []


def test_the_stored_form_follows_every_change_of_a_session() -> None:
    """The history keeps each session's stored form; a re-costed session, one given late
    energy, or one replaced under its id is stored anew."""
    first = Session(id="a", start=BASE, end=BASE + timedelta(hours=2))
    second = Session(id="b", start=BASE + timedelta(days=1), end=BASE + timedelta(days=1, hours=1))
    history = SessionHistory([first, second])
    assert [item["cost"] for item in history.as_list()] == [None, None]
    first.cost = 12.5
    second.add_energy({1767312000: 3.0})
    stored = history.as_list()
    assert stored[0]["cost"] == 12.5
    assert stored[1]["energy_kwh"] == 3.0
    assert stored[1]["intervals"] == [[1767312000, 3.0]]
    second.power_fee_hours = [1767312000]  # re-costed to the same amount, other peak hours
    assert history.as_list()[1]["power_fee_hours"] == [1767312000]
    history.add(Session(id="a", start=BASE, end=BASE + timedelta(hours=3), user="Anna"))
    stored = history.as_list()
    assert [item["user"] for item in stored] == ["Anna", None]
    assert len(stored) == 2
    assert SessionHistory.from_list(stored).as_list() == stored
