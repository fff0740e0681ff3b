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
