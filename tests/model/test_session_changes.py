"""A session in progress tells what changed in its intervals (``Session.changes``): while a
reading adds energy to the latest interval alone, sums of the others are kept; a late
register update spread back, a gap filled or a new interval is seen. The kept sums are the
sums afresh, exactly, whatever the readings do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ev_sessions.model.session import (
    INTERVAL,
    EnergyBetween,
    Session,
    spread_evenly,
)

from ..helpers import step_lists

START = datetime(2025, 10, 31, 22, 5, tzinfo=UTC)
FIRST = int(START.timestamp()) - int(START.timestamp()) % 900
MONTH = datetime(2025, 11, 1, tzinfo=UTC)  # a month starts while the session charges


def _session() -> Session:
    session = Session(id="running", start=START)
    session.add_energy({FIRST: 0.2})
    return session


def test_a_reading_on_the_latest_interval_changes_only_it() -> None:
    """The latest interval's energy changes nothing else; any other change is seen."""
    session = _session()
    since = session.changes()
    session.add_energy({FIRST: 0.5})
    assert session.only_latest_changed(since)
    # Over a quarter's end: the latest goes on to the next (the one before is now earlier).
    session.add_energy({FIRST: 0.1, FIRST + 900: 0.4})
    assert not session.only_latest_changed(since)
    since = session.changes()
    session.add_energy({FIRST: 0.05})  # a late update spread back
    assert not session.only_latest_changed(since)
    assert session.earlier_changes == 1


def test_a_gap_filled_keeps_the_intervals_in_time_order() -> None:
    """An interval before the latest filled in late goes in its place, not at the end."""
    session = _session()
    session.add_energy({FIRST + 2700: 1.0})
    session.add_energy(spread_evenly(0.6, START, START + timedelta(minutes=40)))
    assert list(session.intervals) == sorted(session.intervals)
    assert session.latest_interval == FIRST + 2700
    assert session.energy_kwh == pytest.approx(sum(session.intervals.values()))


def test_the_latest_interval_of_a_stored_session_is_found() -> None:
    """A session made with its intervals (restored from storage) knows its latest."""
    session = Session(id="restored", start=START, intervals={FIRST: 1.0, FIRST + 900: 2.0})
    assert session.latest_interval == FIRST + 900
    assert Session(id="empty", start=START).latest_interval is None


@settings(max_examples=200, deadline=None)
@given(
    steps=step_lists(["latest", "new interval", "spread back", "gap", "over"], 3.0, 0.001),
    month_first=st.booleans(),
)
def test_the_energy_in_a_range_is_the_energy_afresh(
    steps: list[tuple[str, int, float]], month_first: bool
) -> None:
    """The kept energy of a session in progress in a range (from the month's start, which
    it crosses, or from before it; now one, now the other) is ``energy_between`` afresh,
    to the last bit, after each step a reading can take: energy on the latest interval, a
    new interval, a late update spread back, a gap filled, a reading over a quarter's end."""
    session = _session()
    starts = [MONTH, START - timedelta(days=1)]
    kept = EnergyBetween()
    for what, pick, kwh in steps:
        intervals = session.intervals
        latest = max(intervals)
        if what == "latest":
            session.add_energy({latest: kwh})
        elif what == "new interval":
            session.add_energy({latest + 900 * (1 + pick % 2): kwh})
        elif what == "spread back":
            keys = list(intervals)
            session.add_energy({keys[pick % len(keys)]: kwh})
        elif what == "gap":
            session.add_energy({min(intervals) - 900 * (1 + pick % 3): kwh})
        else:
            session.add_energy({latest: kwh / 2, latest + 900: kwh / 2})
        end = datetime.fromtimestamp(max(session.intervals), UTC) + INTERVAL
        if month_first ^ (pick % 2 == 0):
            starts.reverse()
        for start in starts:
            assert kept(session, start, end) == session.energy_between(start, end)
            # Asked again with nothing changed: the same.
            assert kept(session, start, end + timedelta(seconds=30)) == session.energy_between(
                start, end
            )


def test_intervals_out_of_time_order_are_never_taken_as_only_the_latest_changed() -> None:
    """Sums kept in the dict's order hold only while the latest interval is its last: a
    session made with its intervals in another order is summed afresh each time."""
    session = Session(id="restored", start=START, intervals={FIRST + 900: 1.0, FIRST: 2.0})
    assert not session.only_latest_changed(session.changes())
    assert not Session(id="empty", start=START).only_latest_changed(None)


@settings(max_examples=300, deadline=None)
@given(
    start_s=st.floats(min_value=0, max_value=3 * 900, allow_nan=False),
    span_s=st.floats(min_value=1e-6, max_value=2 * 900, allow_nan=False),
    kwh=st.floats(min_value=1e-9, max_value=50, allow_nan=False),
)
def test_energy_within_one_interval_goes_to_it_whole(
    start_s: float, span_s: float, kwh: float
) -> None:
    """A reading within one quarter (most of them) puts all its energy there, exactly (the
    share of one overlap in itself was kwh * overlap / overlap, off by a unit in the last
    place at times); one across a quarter's end is shared by time."""
    since = datetime.fromtimestamp(FIRST + start_s, UTC)
    until = since + timedelta(seconds=span_s)
    parts = spread_evenly(kwh, since, until)
    assert sum(parts.values()) == pytest.approx(kwh)
    keys = sorted(parts)
    first = int(since.timestamp())  # (to the microsecond, as datetimes are)
    assert keys[0] == first - first % 900
    assert all(b - a == INTERVAL.total_seconds() for a, b in pairwise(keys))
    if until.timestamp() <= keys[0] + 900:
        assert parts == {keys[0]: kwh}
    else:
        assert len(parts) >= 2
        first_share = (keys[0] + 900 - since.timestamp()) / span_s
        assert parts[keys[0]] == pytest.approx(kwh * first_share, rel=1e-6, abs=1e-12)
