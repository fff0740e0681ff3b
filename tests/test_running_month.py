"""A power fee's month with and without the session in progress is kept up to the session's
last interval (``_RunningMonth``), never stale: whatever a reading does (energy added to the
last interval, a new interval, a late register update spread back over earlier ones or into a
gap, the other sessions' month changing), the two are exactly what is built afresh, floats
and all, and so is the session's cost with its power-fee share."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings, strategies as st

from custom_components.ev_sessions.costs import _RunningMonth
from custom_components.ev_sessions.model.prices import PriceSeries
from custom_components.ev_sessions.model.session import Session
from custom_components.ev_sessions.model.tariff import (
    HOUR_S,
    QUARTER_S,
    PowerFee,
    RollingPeakFee,
    Tariff,
    TimeWindow,
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

SEASON = PowerFee(
    price_per_kw=30.0, peaks=2, season_months=frozenset({10}), season_price_per_kw=90.0
)
# Power fees as tariffs have them: three peaks on different days (Ellevio), every hour
# (no one per day), night hours at half weight, a weekday window from 07 to 19 (Göteborg
# Energi's winter), one peak, and a season with its own price (October here).
FEES = st.sampled_from(
    [
        PowerFee(price_per_kw=81.25, peaks=3),
        PowerFee(price_per_kw=40.0, peaks=2, one_per_day=False),
        PowerFee(price_per_kw=60.0, peaks=3, night_weight=0.5),
        PowerFee(
            price_per_kw=135.0,
            peaks=1,
            window=TimeWindow(
                weekdays=frozenset({"mon", "tue", "wed", "thu", "fri"}),
                start=time(7),
                end=time(19),
            ),
        ),
        SEASON,
    ]
)


@settings(max_examples=200, deadline=None)
@given(by_quarter=st.booleans(), steps=STEPS, fee=FEES)
def test_the_running_month_is_what_is_built_afresh(
    by_quarter: bool, steps: list[tuple[str, int, float]], fee: PowerFee
) -> None:
    """Each step changes what a reading can change; the kept month matches, exactly, and
    so do a power fee of it with the session (and the hours that set it) and without."""
    step = QUARTER_S if by_quarter else HOUR_S
    first = int(START.timestamp())
    session = Session(id="running", start=START, intervals={first: 0.1})
    others = [Session(id="earlier", start=START - timedelta(days=3), intervals={})]
    others[0].intervals[first - 3 * 86400] = 2.0
    base = _with_base(others, step)
    running = _RunningMonth()
    for what, pick, kwh in steps:
        intervals = session.intervals
        if what == "latest":
            session.add_energy({max(intervals): kwh})
        elif what == "new interval":
            session.add_energy({max(intervals) + QUARTER_S: kwh})
        elif what == "spread back":
            keys = list(intervals)
            session.add_energy({keys[pick % len(keys)]: kwh})
        elif what == "gap":
            session.add_energy({min(intervals) - QUARTER_S * (1 + pick % 3): kwh})
        else:
            others.append(Session(id=f"other {len(others)}", start=START, intervals={first: kwh}))
            base = _with_base(others, step)
        running.update(session, base, LOW, HIGH, step)
        hours, without = running.months()
        assert (hours, without) == _afresh(session, others, step)
        assert [*hours.values()] == [*_afresh(session, others, step)[0].values()]
        assert running.fees(fee, KOLKATA) == (
            fee.fee_and_hours(hours, KOLKATA),
            fee.month_fee(without, KOLKATA),
        )


def test_a_session_cost_with_the_kept_month_is_the_cost_afresh() -> None:
    """The session's power-fee share from the kept month without it (and, for hourly
    peaks, from the kept fees) is the share the tariff works out itself, for hourly peaks
    and 15-minute peaks."""
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
            session.add_energy({first + QUARTER_S * (n // 3): 0.5 + n / 7})
            running.update(session, base, LOW, HIGH, step)
            hours, without = running.months()
            kept = tariff.session_cost(
                session, prices, KOLKATA, month_hourly_kwh=hours, month_without_kwh=without
            )
            afresh = tariff.session_cost(session, prices, KOLKATA, month_hourly_kwh=hours)
            assert kept is not None
            assert afresh is not None
            assert kept.breakdown == afresh.breakdown
            if isinstance(fee, PowerFee):  # its fees, kept too: not even the months are looked at
                fees = running.fees(fee, KOLKATA)
                quick = tariff.session_cost(session, prices, KOLKATA, month_fees=fees)
                assert quick is not None
                assert quick.breakdown == afresh.breakdown
                assert quick.power_fee_hours == afresh.power_fee_hours
        assert kept.breakdown["power_fee"] > 0  # the session raised the month's peak


# From two days before the month (September, out of the season) to ten days into it.
HOURS = st.integers(0, 24 * 12).map(lambda n: int(LOW) - 2 * 86400 + 1800 + n * HOUR_S)
MONTH_HOURS = st.dictionaries(HOURS, st.floats(0.0, 11.0, allow_nan=False), max_size=60)


SEPTEMBER = int(LOW) - 5 * HOUR_S + 1800  # 08:00 on 30 September in Kolkata
OCTOBER = int(LOW) + 5 * HOUR_S + 1800  # 05:00 on 1 October


@settings(max_examples=300, deadline=None)
# The month's price goes by its first hour: the slot's own when it comes first, else not.
@example(fee=SEASON, month={OCTOBER: 5.0}, slot=SEPTEMBER, value=3.0)
@example(fee=SEASON, month={SEPTEMBER: 1.0, OCTOBER: 5.0}, slot=SEPTEMBER, value=None)
@given(
    fee=FEES,
    month=MONTH_HOURS,
    slot=HOURS,
    value=st.none() | st.floats(0.0, 11.0, allow_nan=False),
)
def test_a_fee_with_one_slot_set_is_the_fee_afresh(
    fee: PowerFee, month: dict[int, float], slot: int, value: float | None
) -> None:
    """The fee of a month worked out but one slot, with that slot at any value (or not
    there), is the fee of the whole month: the same floats and hours. Months from empty to
    60 hours over twelve days in Kolkata (so the one-per-day rule, nights, the weekday
    window and a season's start all come in), the slot anywhere or not in the month."""
    whole = {hour: kwh for hour, kwh in month.items() if hour != slot}
    if value is not None:
        whole[slot] = value
    but = fee.all_but(month, slot, KOLKATA)
    assert fee.fee_with(but, value) == fee.fee_and_hours(whole, KOLKATA)
