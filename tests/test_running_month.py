"""A power fee's month with and without the session in progress is kept up to the session's
last interval (``_RunningMonth``), never stale: whatever a reading does (energy added to the
last interval, a new interval, a late register update spread back over earlier ones or into a
gap, the other sessions' month changing), the two are exactly what is built afresh, floats
and all, and so is the session's cost with its power-fee share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from custom_components.ev_sessions.costs import _RunningMonth
from custom_components.ev_sessions.model.prices import PriceSeries
from custom_components.ev_sessions.model.session import Session
from custom_components.ev_sessions.model.tariff import (
    HOUR_S,
    QUARTER_S,
    PowerFee,
    RollingPeakFee,
    Tariff,
    month_hourly,
)

from .helpers import step_lists

# Kolkata: a local month starts at 18:30 UTC, so an hour can straddle the month's start.
KOLKATA = ZoneInfo("Asia/Kolkata")
START = datetime(2025, 10, 31, 17, 0, tzinfo=UTC)  # 22:30 on the 31st in Kolkata
LOW = datetime(2025, 9, 30, 18, 30, tzinfo=UTC).timestamp()  # October in Kolkata
HIGH = datetime(2025, 10, 31, 18, 30, tzinfo=UTC).timestamp()


def _afresh(
    session: Session, others: list[Session], step: int
) -> tuple[dict[int, float], dict[int, float]]:
    """The month with the session, and without its own fee bucket, built from nothing."""
    start = datetime.fromtimestamp(LOW, UTC)
    end = datetime.fromtimestamp(HIGH, UTC)
    hours = month_hourly([*others, session], start, end, step)
    own: dict[int, float] = {}
    for key, kwh in session.intervals.items():
        slot = key - key % step
        own[slot] = own.get(slot, 0.0) + kwh
    without = dict(hours)
    for slot, kwh in own.items():
        if slot in without:
            without[slot] -= kwh
    return hours, without


def _with_base(others: list[Session], step: int) -> tuple[Any, dict[int, float]]:
    """The other sessions' month, as the costs keep it (a new object when it changes)."""
    start = datetime.fromtimestamp(LOW, UTC)
    end = datetime.fromtimestamp(HIGH, UTC)
    return (len(others), month_hourly(others, start, end, step))


STEPS = step_lists(["latest", "new interval", "spread back", "gap", "other session"], 3.0, 0.001)


@settings(max_examples=200, deadline=None)
@given(by_quarter=st.booleans(), steps=STEPS)
def test_the_running_month_is_what_is_built_afresh(
    by_quarter: bool, steps: list[tuple[str, int, float]]
) -> None:
    """Each step changes what a reading can change; the kept month matches, exactly."""
    step = QUARTER_S if by_quarter else HOUR_S
    first = int(START.timestamp())
    session = Session(id="running", start=START, intervals={first: 0.1})
    others = [Session(id="earlier", start=START - timedelta(days=3), intervals={})]
    others[0].intervals[first - 3 * 86400] = 2.0
    base = _with_base(others, step)
    running = _RunningMonth()
    for what, pick, kwh in steps:
        intervals = session.intervals
        last = next(reversed(intervals))
        if what == "latest":
            intervals[last] += kwh
        elif what == "new interval":
            intervals[max(intervals) + QUARTER_S] = kwh
        elif what == "spread back":
            keys = list(intervals)
            intervals[keys[pick % len(keys)]] += kwh
        elif what == "gap":
            intervals[min(intervals) - QUARTER_S * (1 + pick % 3)] = kwh
        else:
            others.append(Session(id=f"other {len(others)}", start=START, intervals={first: kwh}))
            base = _with_base(others, step)
        session.energy_kwh = sum(intervals.values())
        hours, without = running.add(session, base, LOW, HIGH, step)
        assert (hours, without) == _afresh(session, others, step)
        assert [*hours.values()] == [*_afresh(session, others, step)[0].values()]


def test_a_session_cost_with_the_kept_month_is_the_cost_afresh() -> None:
    """The session's power-fee share from the kept month without it is the share the
    tariff works out itself, for hourly peaks and 15-minute peaks."""
    first = int(START.timestamp())
    prices = PriceSeries.from_list([])
    for fee in (
        PowerFee(price_per_kw=36.0, peaks=3),
        RollingPeakFee(yearly_price_per_kw=40.0, floor_kw=2.5),
    ):
        tariff = Tariff(fixed_price=1.5, vat_percent=25, power_fee=fee)
        step = QUARTER_S if isinstance(fee, RollingPeakFee) else HOUR_S
        others = [Session(id="before", start=START, intervals={first - 7200: 0.3})]
        base = _with_base(others, step)
        session = Session(id="running", start=START, intervals={})
        running = _RunningMonth()
        for n in range(12):
            session.intervals[first + QUARTER_S * (n // 3)] = 0.5 + n / 7
            session.energy_kwh = sum(session.intervals.values())
            hours, without = running.add(session, base, LOW, HIGH, step)
            kept = tariff.session_cost(
                session, prices, KOLKATA, month_hourly_kwh=hours, month_without_kwh=without
            )
            afresh = tariff.session_cost(session, prices, KOLKATA, month_hourly_kwh=hours)
            assert kept is not None
            assert afresh is not None
            assert kept.breakdown == afresh.breakdown
        assert kept.breakdown["power_fee"] > 0  # the session raised the month's peak
