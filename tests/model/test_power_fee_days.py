"""What a power fee looks at per reading is kept, never stale: the month's earlier days (the
same fee, peaks and level as worked out afresh, whatever changes: the latest hour, a new day,
energy spread back over an earlier day, two months of energies in turn, the night the clocks
go back), and the month's hours from the household's meter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from custom_components.ev_sessions.model.meter import HourlyMeter
from custom_components.ev_sessions.model.tariff import PowerFee
from tests.helpers import step_lists

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# October 2025 in Stockholm: the clocks go back on the 26th (a day of 25 hours).
OCTOBER = int(datetime(2025, 9, 30, 22, tzinfo=UTC).timestamp())
HOUR = 3600


def _afresh(fee: PowerFee, hourly: dict[int, float]) -> tuple[float, list[int], float]:
    """The fee, its hours and the peak level, from every hour's candidate."""
    top = sorted(fee._candidates(hourly, STOCKHOLM), reverse=True)[: fee.peaks]
    if not top:
        return 0.0, [], 0.0
    month = datetime.fromtimestamp(min(hourly), UTC).astimezone(STOCKHOLM).month
    level = top[fee.peaks - 1][0] if len(top) >= fee.peaks else 0.0
    return (
        fee.price_in(month) * sum(value for value, _ in top) / fee.peaks,
        [hour for _, hour in top],
        level,
    )


def _kept(fee: PowerFee, hourly: dict[int, float]) -> tuple[float, list[int], float]:
    both = fee.fee_and_hours(hourly, STOCKHOLM)
    assert both == (fee.month_fee(hourly, STOCKHOLM), fee.peak_hours(hourly, STOCKHOLM))
    assert fee.fee_and_hours(MappingProxyType(hourly), STOCKHOLM) == both  # any mapping
    return (*both, fee.peak_level(hourly, STOCKHOLM))


STEPS = step_lists(["latest", "new hour", "earlier day", "next day", "other month"], 11.0)


@settings(max_examples=150, deadline=None)
@given(
    days=st.integers(1, 30),
    peaks=st.integers(1, 5),
    one_per_day=st.booleans(),
    night_weight=st.sampled_from([1.0, 0.5]),
    seed=st.lists(st.floats(0.0, 11.0), min_size=1, max_size=30),
    steps=STEPS,
)
def test_a_months_fee_is_the_same_as_worked_out_afresh(
    days: int,
    peaks: int,
    one_per_day: bool,
    night_weight: float,
    seed: list[float],
    steps: list[tuple[str, int, float]],
) -> None:
    fee = PowerFee(
        price_per_kw=36.0, peaks=peaks, one_per_day=one_per_day, night_weight=night_weight
    )
    hours = days * 24
    # Hours without energy are not there: energy spread back may fill one in.
    month = {OCTOBER + h * HOUR: seed[h % len(seed)] for h in range(hours) if h % 5 != 3}
    other = {key: kwh / 2 for key, kwh in month.items()}  # the month without a session, say
    for step, at, kwh in steps:
        latest = max(month)
        if step == "latest":
            month[latest] += kwh
        elif step == "new hour":
            month[latest + HOUR] = kwh
        elif step == "earlier day":
            earlier = OCTOBER + (at % max(1, hours - 24)) * HOUR
            month[earlier] = month.get(earlier, 0.0) + kwh
        elif step == "next day":
            month[latest + 24 * HOUR] = kwh
        else:
            other[max(other)] += kwh
            assert _kept(fee, other) == _afresh(fee, other)
        assert _kept(fee, month) == _afresh(fee, month)


def test_energy_spread_into_an_empty_hour_of_an_earlier_day() -> None:
    """An hour that had no energy, on a day before the latest, gets some: that day's best
    is its new hour alone (the kept day is not counted twice)."""
    fee = PowerFee(price_per_kw=36.0, peaks=2)
    day = 24 * HOUR
    month = {OCTOBER + h * HOUR: 3.0 for h in range(24) if h != 12}  # 1 October, 3 kWh/h
    month |= {OCTOBER + day + h * HOUR: 1.0 for h in range(48)}  # 2 and 3 October
    assert fee.month_fee(month, STOCKHOLM) == 36.0 * (3.0 + 1.0) / 2
    month[OCTOBER + 12 * HOUR] = 5.0
    assert fee.month_fee(month, STOCKHOLM) == 36.0 * (5.0 + 1.0) / 2
    assert _kept(fee, month) == _afresh(fee, month)


@settings(max_examples=100, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(1, 1800),  # seconds to the next reading
            st.one_of(st.none(), st.floats(0.0, 20_000.0)),  # the household's power
            st.sampled_from(["read", "ask", "ask quarters", "prune"]),
        ),
        min_size=1,
        max_size=80,
    )
)
def test_a_months_hours_from_the_household_meter_are_kept_up_to_date(
    steps: list[tuple[int, float | None, str]],
) -> None:
    """The month's hours (and quarters) are picked out of the meter once, and kept up to date
    at each reading: always exactly what picking them out afresh gives."""
    meter = HourlyMeter()
    moment = datetime(2025, 10, 31, 20, tzinfo=UTC)  # the month ends in four hours
    october = (float(OCTOBER), datetime(2025, 10, 31, 23, tzinfo=UTC).timestamp())
    november = (october[1], datetime(2025, 11, 30, 23, tzinfo=UTC).timestamp())
    for seconds, power_w, step in steps:
        moment += timedelta(seconds=seconds)
        meter.update(moment, power_w)
        if step == "prune":
            meter.prune(moment - timedelta(hours=2))
        for low, high in (october, november):
            for by_quarter in (False, True):
                source = meter.quarters if by_quarter else meter.hours
                afresh = {k: kwh for k, kwh in source.items() if low <= k < high}
                if step == ("ask quarters" if by_quarter else "ask"):
                    assert meter.between(low, high, by_quarter=by_quarter) == afresh
