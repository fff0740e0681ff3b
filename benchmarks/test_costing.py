"""How long costing a year of daily sessions against 15-minute prices takes.

Run: .venv/bin/python -m pytest benchmarks --benchmark-columns=min,mean,max,rounds
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
import functools
import math
import statistics
import time as time_module
from typing import Any
from zoneinfo import ZoneInfo

from pytest_benchmark.fixture import BenchmarkFixture

from custom_components.ev_sessions.costs import _RunningMonth
from custom_components.ev_sessions.model.prices import PriceInterval, PriceSeries
from custom_components.ev_sessions.model.session import EnergyBetween, Session, spread_evenly
from custom_components.ev_sessions.model.tariff import (
    PowerFee,
    Tariff,
    TimeWindow,
    _EarlierDays,
    month_hourly,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
START = datetime(2025, 1, 1, tzinfo=UTC)


def _year_of_prices() -> PriceSeries:
    quarter = timedelta(minutes=15)
    return PriceSeries(
        PriceInterval(START + q * quarter, START + (q + 1) * quarter, 0.8 + 0.5 * math.sin(q / 9))
        for q in range(366 * 96)
    )


def _year_of_sessions() -> list[Session]:
    sessions = []
    for day in range(365):
        start = START + timedelta(days=day, hours=17)
        end = start + timedelta(hours=4)
        session = Session(id=str(day), start=start, end=end)
        session.add_energy(spread_evenly(30.0, start, end))
        sessions.append(session)
    return sessions


TARIFF = Tariff(
    uses_price_entity=True,
    markup=0.05,
    grid_fee=0.244,
    grid_fee_high=0.612,
    high_load=TimeWindow(
        months=frozenset({1, 2, 3, 11, 12}),
        weekdays=frozenset({"mon", "tue", "wed", "thu", "fri"}),
        start=time(6),
        end=time(22),
        holidays_off=True,
    ),
    energy_tax=0.36,
    vat_percent=25,
    power_fee=PowerFee(price_per_kw=36, peaks=3, one_per_day=True, night_weight=0.5),
)


def test_cost_a_year_of_sessions(benchmark: BenchmarkFixture) -> None:
    prices = _year_of_prices()
    sessions = _year_of_sessions()
    months = {
        s.id: month_hourly(
            sessions, s.start.replace(day=1), s.start.replace(day=1) + timedelta(days=31)
        )
        for s in sessions
    }

    def cost_all() -> float:
        return sum(
            cost.total
            for s in sessions
            if (cost := TARIFF.session_cost(s, prices, STOCKHOLM, month_hourly_kwh=months[s.id]))
            is not None
        )

    total = benchmark(cost_all)
    assert total > 0


def test_a_reading_late_in_the_month_with_a_household_meter() -> None:
    """The session in progress, priced at each reading on the 28th of January, under a fee
    on the month's three highest hours of the household (28 days of hours so far): with
    the month's earlier days kept, and worked out afresh at every reading (as before)."""
    prices = _year_of_prices()
    month_start = int(START.timestamp())
    house = {month_start + h * 3600: 0.8 + 0.6 * math.sin(h / 5) for h in range(27 * 24 + 17)}
    begin = START + timedelta(days=27, hours=17)
    readings = 2000
    # An interval's price parts are remembered, as the integration does (Costs._parts_at).
    parts_at = functools.cache(lambda key: TARIFF.interval_parts(prices, key, STOCKHOLM))

    def run(afresh: bool) -> float:
        session = Session(id="now", start=begin)
        hourly = dict(house)
        cpu = time_module.process_time()
        for n in range(readings):
            moment = begin + timedelta(seconds=10 * n)
            session.add_energy(spread_evenly(11 / 360, moment, moment + timedelta(seconds=10)))
            hour = int(moment.timestamp()) // 3600 * 3600
            hourly[hour] = hourly.get(hour, 0.0) + 11 / 360
            if afresh:
                _EarlierDays._kept.clear()
            TARIFF.session_cost(
                session, prices, STOCKHOLM, month_hourly_kwh=hourly, parts_at=parts_at
            )
        return (time_module.process_time() - cpu) / readings * 1e6

    kept = statistics.median(run(afresh=False) for _ in range(3))
    before = statistics.median(run(afresh=True) for _ in range(3))
    print(
        f"\na reading on the 28th with a household meter: {kept:.0f} µs with the earlier "
        f"days kept, {before:.0f} µs worked out afresh ({before / kept:.1f}x)"
    )


def test_a_reading_of_a_long_session_under_a_power_fee() -> None:
    """A 12-hour session on the 28th of January (a reading every 10 s) under a fee on the
    month's three highest charging hours (27 earlier sessions): what a reading spends on the
    power fee's share, the fee of the month with the session (and its hours) and without it.
    Three ways: the month built afresh from all of the session's intervals (two stops ago),
    the month kept up to the session's last interval and the fee worked out from it (the
    last stop), and the fee from the last slot alone, the rest of the month worked out once
    per interval (now). The three give the same floats."""
    others = _year_of_sessions()[:27]
    low, high = START.timestamp(), (START + timedelta(days=31)).timestamp()
    base = (None, month_hourly(others, START, START + timedelta(days=31)))
    begin = START + timedelta(days=27, hours=17)
    readings = 12 * 360
    fee = TARIFF.power_fee
    assert isinstance(fee, PowerFee)

    def run(how: str) -> tuple[float, int, list[Any]]:
        session = Session(id="now", start=begin)
        running = _RunningMonth()
        spent = 0.0
        results = []
        for n in range(readings):
            moment = begin + timedelta(seconds=10 * n)
            session.add_energy(spread_evenly(11 / 360, moment, moment + timedelta(seconds=10)))
            cpu = time_module.process_time()
            if how == "afresh":
                hours = dict(base[1])
                for key, kwh in session.intervals.items():
                    if low <= key < high:
                        slot = key - key % 3600
                        hours[slot] = hours.get(slot, 0.0) + kwh
                without = dict(hours)
                for hour, kwh in fee.bucket(session.intervals).items():
                    if hour in without:
                        without[hour] -= kwh
                fees = fee.fee_and_hours(hours, STOCKHOLM), fee.month_fee(without, STOCKHOLM)
            elif how == "months":
                running.update(session, base, low, high, 3600)
                hours, without = running.months()
                fees = fee.fee_and_hours(hours, STOCKHOLM), fee.month_fee(without, STOCKHOLM)
            else:
                running.update(session, base, low, high, 3600)
                fees = running.fees(fee, STOCKHOLM)
            spent += time_module.process_time() - cpu
            if n % 97 == 0:
                results.append(fees)
        return spent / readings * 1e6, len(session.intervals), results

    figures: dict[str, float] = {}
    results: dict[str, list[Any]] = {}
    for how in ("fees", "months", "afresh"):
        runs = [run(how) for _ in range(3)]
        figures[how] = min(spent for spent, _, _ in runs)
        intervals, results[how] = runs[0][1], runs[0][2]
    assert results["fees"] == results["months"] == results["afresh"]
    print(
        f"\nthe power fee's share at a reading of a 12-hour session ({intervals} intervals at "
        f"its end): {figures['fees']:.1f} µs from its last slot, {figures['months']:.1f} µs "
        f"from the month kept up to its last interval, {figures['afresh']:.1f} µs with the "
        f"month built afresh ({figures['afresh'] / figures['fees']:.1f}x)"
    )


def test_a_reading_of_a_week_long_session() -> None:
    """A car left plugged in for a week (672 intervals), a reading every 10 s: its energy
    in the month at each reading, kept from its latest interval (EnergyBetween), and summed
    over all of its intervals as each reading did before (C's min, max and sum: the same
    figure but for the last bits, as sum() compensates)."""
    begin = START + timedelta(days=3)
    session = Session(id="week", start=begin)
    for n in range(7 * 96):
        moment = begin + timedelta(minutes=15 * n)
        session.add_energy({int(moment.timestamp()): 0.05 + (n % 7) / 100})
    kept = EnergyBetween()
    end = begin + timedelta(days=8)
    readings = 3000

    def before(start: datetime, until: datetime) -> float:
        """What each reading did before: all of the intervals, if all in range, by sum()."""
        low, high = start.timestamp(), until.timestamp()
        intervals = session.intervals
        if intervals and low <= min(intervals) and max(intervals) < high:
            return sum(intervals.values())
        return sum(kwh for key, kwh in intervals.items() if low <= key < high)

    def run(afresh: bool) -> tuple[float, list[float]]:
        results = []
        cpu = time_module.process_time()
        for _ in range(readings):
            session.add_energy({session.latest_interval or 0: 0.001})
            results.append(before(START, end) if afresh else kept(session, START, end))
        return (time_module.process_time() - cpu) / readings * 1e6, results

    quick, quick_results = min(run(afresh=False) for _ in range(3))
    slow, _ = min(run(afresh=True) for _ in range(3))
    assert kept(session, START, end) == session.energy_between(START, end)
    assert len(quick_results) == readings
    print(
        f"\nthe month energy of a week-long session ({len(session.intervals)} intervals) at a "
        f"reading: {quick:.1f} µs kept from its latest interval, {slow:.1f} µs summed over "
        f"all as before ({slow / quick:.0f}x); the reading's own add_energy included in both"
    )
