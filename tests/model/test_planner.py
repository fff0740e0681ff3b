"""The planner, on hand-checked plans."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.ev_sessions.model.planner import (
    candidate_slots,
    plan_cheapest,
    plan_immediate,
)
from custom_components.ev_sessions.model.prices import PriceInterval, PriceSeries
from custom_components.ev_sessions.model.tariff import Tariff, TimeWindow

STOCKHOLM = ZoneInfo("Europe/Stockholm")
T0 = datetime(2026, 1, 20, 20, 0, tzinfo=UTC)


def quarters(values: list[float], start: datetime = T0) -> PriceSeries:
    q = timedelta(minutes=15)
    return PriceSeries(
        PriceInterval(start + i * q, start + (i + 1) * q, v) for i, v in enumerate(values)
    )


def priced(series: PriceSeries, tariff: Tariff | None = None):  # type: ignore[no-untyped-def]
    tariff = tariff or Tariff(uses_price_entity=True)

    def price_at(moment: datetime) -> tuple[float | None, bool]:
        spot, estimated = tariff.spot_at(series, moment)
        if spot is None:
            return None, True
        return tariff.parts(spot, moment.astimezone(STOCKHOLM)).total, estimated

    return price_at


def test_cheapest_slots_need_not_be_adjacent_and_span_two_price_days() -> None:
    # Eight quarters from 23:00 UTC over midnight; 4 kW takes 1 kWh a quarter; 3 kWh needed.
    # The cheapest are 0.10 (q2), 0.20 (q5) and 0.30 (q7): non-adjacent, across midnight.
    prices = quarters([0.9, 0.8, 0.1, 0.7, 0.6, 0.2, 0.5, 0.3], start=T0 + timedelta(hours=3))
    plan = plan_cheapest(
        start=T0 + timedelta(hours=3),
        departure=T0 + timedelta(hours=5),
        energy_kwh=3,
        power_kw=4,
        price_at=priced(prices),
    )
    starts = [(s.start - T0 - timedelta(hours=3)) / timedelta(minutes=15) for s in plan.slots]
    assert starts == [2, 5, 7]
    assert plan.cost == pytest.approx(0.6)
    assert plan.shortfall_kwh == 0
    assert plan.start == T0 + timedelta(hours=3, minutes=30)
    assert plan.end == T0 + timedelta(hours=5)
    assert plan.charging_at(T0 + timedelta(hours=3, minutes=40))
    assert not plan.charging_at(T0 + timedelta(hours=3, minutes=50))


def test_deadline_that_cannot_be_met_uses_every_slot_and_reports_the_shortfall() -> None:
    plan = plan_cheapest(
        start=T0,
        departure=T0 + timedelta(hours=1),
        energy_kwh=20,
        power_kw=11,
        price_at=priced(quarters([1.0] * 4)),
    )
    assert len(plan.slots) == 4
    assert plan.energy_kwh == pytest.approx(11)
    assert plan.shortfall_kwh == pytest.approx(9)


def test_power_limit_and_a_partial_slot() -> None:
    # 2.5 kWh at 3.7 kW (one phase, below the wallbox's 11 kW): two quarters hold 1.85 kWh,
    # so the third-cheapest quarter takes the last 0.65 kWh, from its start.
    prices = quarters([0.5, 0.2, 0.9, 0.1])
    plan = plan_cheapest(
        start=T0,
        departure=T0 + timedelta(hours=1),
        energy_kwh=2.5,
        power_kw=3.7,
        price_at=priced(prices),
    )
    assert [round(s.energy_kwh, 3) for s in plan.slots] == [0.65, 0.925, 0.925]
    assert plan.slots[0].start == T0
    # The partial slot charges 0.65 / 3.7 h = 10.54 min from its start.
    assert plan.charging_at(T0 + timedelta(minutes=10))
    assert not plan.charging_at(T0 + timedelta(minutes=11))
    assert plan.cost == pytest.approx(0.65 * 0.5 + 0.925 * 0.2 + 0.925 * 0.1)


def test_start_and_departure_inside_quarters() -> None:
    slots = candidate_slots(T0 + timedelta(minutes=5), T0 + timedelta(minutes=40))
    assert [(a.minute, b.minute) for a, b in slots] == [(5, 15), (15, 30), (30, 40)]


def test_negative_prices_come_first_but_never_add_energy() -> None:
    prices = quarters([0.5, -0.2, -0.1, 0.4])
    plan = plan_cheapest(
        start=T0,
        departure=T0 + timedelta(hours=1),
        energy_kwh=1,
        power_kw=4,
        price_at=priced(prices),
    )
    assert [s.price for s in plan.slots] == [-0.2]
    assert plan.energy_kwh == pytest.approx(1)
    assert plan.cost == pytest.approx(-0.2)


def test_spring_dst_night() -> None:
    # 29 Mar 2026, Stockholm: 22:00-06:00 local is 7 hours (02:00-03:00 does not exist).
    start = datetime(2026, 3, 28, 22, 0, tzinfo=STOCKHOLM)
    departure = datetime(2026, 3, 29, 6, 0, tzinfo=STOCKHOLM)
    slots = candidate_slots(start.astimezone(UTC), departure.astimezone(UTC))
    assert len(slots) == 28
    # The cheapest hour is local 03:00-04:00 (01:00 UTC): 4 real hours after 22:00, so
    # quarters 16-19, not 20-23 as counting wall-clock hours would say.
    values = [1.0] * 28
    for q in range(16, 20):
        values[q] = 0.1
    plan = plan_cheapest(
        start=start.astimezone(UTC),
        departure=departure.astimezone(UTC),
        energy_kwh=4,
        power_kw=4,
        price_at=priced(quarters(values, start.astimezone(UTC))),
    )
    assert plan.start is not None
    assert plan.start.astimezone(STOCKHOLM).hour == 3


def test_ranking_by_all_in_price_not_spot() -> None:
    # Spot is cheaper at 06:00-07:00 (0.40) than at 05:00-06:00 (0.45), but Vattenfall's
    # high-load grid fee from 06:00 on a January weekday makes 05:00 cheaper all in:
    # 0.45 + 0.244 < 0.40 + 0.612.
    tariff = Tariff(
        uses_price_entity=True,
        grid_fee=0.244,
        grid_fee_high=0.612,
        high_load=TimeWindow(
            months=frozenset({1}), weekdays=frozenset({"tue"}), start=time(6), end=time(22)
        ),
    )
    start = datetime(2026, 1, 20, 5, 0, tzinfo=STOCKHOLM).astimezone(UTC)
    prices = quarters([0.45] * 4 + [0.40] * 4, start)
    plan = plan_cheapest(
        start=start,
        departure=start + timedelta(hours=2),
        energy_kwh=4,
        power_kw=4,
        price_at=priced(prices, tariff),
    )
    assert plan.start == start
    assert plan.end == start + timedelta(hours=1)


def test_ties_go_to_the_earlier_slot() -> None:
    plan = plan_cheapest(
        start=T0,
        departure=T0 + timedelta(hours=1),
        energy_kwh=1,
        power_kw=4,
        price_at=priced(quarters([0.3] * 4)),
    )
    assert plan.start == T0


def test_beyond_the_known_prices_the_deadline_is_kept() -> None:
    # Prices known for one hour only; 8 kWh at 4 kW needs two hours: the unknown hour is
    # used, after every priced slot, marked estimated.
    prices = quarters([0.5] * 4)

    def only_known(moment: datetime) -> tuple[float | None, bool]:
        return prices.at(moment), prices.at(moment) is None

    plan = plan_cheapest(
        start=T0, departure=T0 + timedelta(hours=3), energy_kwh=8, power_kw=4, price_at=only_known
    )
    assert plan.shortfall_kwh == 0
    assert plan.estimated
    assert plan.end == T0 + timedelta(hours=2)


def test_nothing_to_plan() -> None:
    for kwargs in (
        {"energy_kwh": 0, "power_kw": 4},
        {"energy_kwh": 5, "power_kw": 0},
    ):
        plan = plan_cheapest(
            start=T0, departure=T0 + timedelta(hours=1), price_at=priced(quarters([1.0])), **kwargs
        )
        assert plan.slots == ()
        assert plan.start is None
        assert plan.end is None
        assert not plan.charging_at(T0)


def test_immediate_charging() -> None:
    plan = plan_immediate(
        start=T0 + timedelta(minutes=5),
        departure=None,
        energy_kwh=5,
        power_kw=10,
        price_at=priced(quarters([1.0, 2.0, 3.0])),
    )
    assert plan.start == T0 + timedelta(minutes=5)
    assert plan.end == T0 + timedelta(minutes=35)
    assert plan.cost == pytest.approx(10 / 6 * 1.0 + 2.5 * 2.0 + 10 / 12 * 3.0)
    short = plan_immediate(
        start=T0,
        departure=T0 + timedelta(minutes=15),
        energy_kwh=5,
        power_kw=10,
        price_at=priced(quarters([1.0])),
    )
    assert short.shortfall_kwh == pytest.approx(2.5)
    assert (
        plan_immediate(
            start=T0, departure=None, energy_kwh=0, power_kw=10, price_at=priced(quarters([1.0]))
        ).slots
        == ()
    )


def test_power_fee_keeps_the_plan_under_the_months_peak_when_it_pays() -> None:
    # The month's top three hours on three days are 6, 5 and 4 kWh: an hour below 4 kW
    # raises no fee. 8 kWh by 04:00 from 00:00; the first hour costs 0.10, the rest 1.00.
    # At 11 kW all 8 kWh go in the first hour: 0.80, but the peaks become 8, 6, 5: the fee
    # rises by 36 x (19 - 15) / 3 = 48 (60 with VAT): 60.80 in all. Capped at 4 kW: 4 kWh at
    # 0.10 and 4 kWh at 1.00 = 4.40 and no fee increase. The capped plan wins.
    from custom_components.ev_sessions.model.planner import plan_with_power_fee
    from custom_components.ev_sessions.model.tariff import PowerFee

    fee = PowerFee(price_per_kw=36, peaks=3, one_per_day=True)
    month = {
        int(datetime(2026, 1, day, 18, tzinfo=STOCKHOLM).timestamp()): kwh
        for day, kwh in ((2, 6.0), (3, 5.0), (4, 4.0), (5, 1.0))
    }
    start = datetime(2026, 1, 20, 0, 0, tzinfo=STOCKHOLM).astimezone(UTC)
    prices = quarters([0.1] * 4 + [1.0] * 12, start)
    kwargs = {
        "start": start,
        "departure": start + timedelta(hours=4),
        "energy_kwh": 8.0,
        "price_at": priced(prices),
        "fee": fee,
        "month_hours": month,
        "zone": STOCKHOLM,
        "vat_rate": 0.25,
    }
    plan = plan_with_power_fee(power_kw=11, **kwargs)  # type: ignore[arg-type]
    assert plan.power_kw == 4
    assert plan.cost == pytest.approx(4.4)
    # If the fee were tiny, raising the peak would pay: the uncapped plan is taken.
    cheap_fee = PowerFee(price_per_kw=0.1, peaks=3)
    plan = plan_with_power_fee(power_kw=11, **(kwargs | {"fee": cheap_fee}))  # type: ignore[arg-type]
    assert plan.power_kw == 11
    assert plan.cost == pytest.approx(0.8)
    # A cap that would miss the departure is never taken.
    tight = kwargs | {"departure": start + timedelta(hours=1)}
    assert plan_with_power_fee(power_kw=11, **tight).power_kw == 11  # type: ignore[arg-type]
    # With no peaks yet this month there is nothing to stay under.
    assert plan_with_power_fee(power_kw=11, **(kwargs | {"month_hours": {}})).power_kw == 11  # type: ignore[arg-type]
    # The household's own 0.5 kW counts: under a 4 kWh peak the car may draw 3.5 kW, not 4
    # (at 4 kW the hour would be 4.5 kWh and raise the fee it meant to avoid).
    plan = plan_with_power_fee(power_kw=11, **(kwargs | {"base_load_kw": 0.5}))  # type: ignore[arg-type]
    assert plan.power_kw == pytest.approx(3.5)
    assert plan.shortfall_kwh == 0
    # A base load at the peak leaves no room: only the free plan reaches the target.
    plan = plan_with_power_fee(power_kw=11, **(kwargs | {"base_load_kw": 4.0}))  # type: ignore[arg-type]
    assert plan.power_kw == 11


def test_a_step_tariff_plan_stays_in_its_step_when_that_pays() -> None:
    """Norway: daily maxima 4, 5 and 3.5 kWh hold the month in step 2-5 kW (190); an hour of
    6 kW or more lifts it to 5-10 kW (280). 8 kWh by 04:00 from 00:00, the first hour at 0.10,
    the rest at 1.00: at 11 kW all in the first hour costs 0.80 plus 90 x 1.25 = 113.30;
    capped just under 6 kW: 6 kWh x 0.10 + 2 kWh x 1.00 = 2.60. The capped plan wins."""
    from custom_components.ev_sessions.model.planner import plan_with_power_fee
    from custom_components.ev_sessions.model.tariff import StepFee

    fee = StepFee(steps=((0, 130.0), (2, 190.0), (5, 280.0), (10, 375.0)))
    month = {
        int(datetime(2026, 1, day, 18, tzinfo=STOCKHOLM).timestamp()): kwh
        for day, kwh in ((2, 4.0), (3, 5.0), (4, 3.5))
    }
    start = datetime(2026, 1, 20, 0, 0, tzinfo=STOCKHOLM).astimezone(UTC)
    plan = plan_with_power_fee(
        start=start,
        departure=start + timedelta(hours=4),
        energy_kwh=8.0,
        power_kw=11,
        price_at=priced(quarters([0.1] * 4 + [1.0] * 12, start)),
        fee=fee,
        month_hours=month,
        zone=STOCKHOLM,
        vat_rate=0.25,
    )
    assert plan.power_kw == pytest.approx(6.0, abs=1e-5)
    assert plan.cost == pytest.approx(2.6, abs=1e-4)
    assert plan.shortfall_kwh == pytest.approx(0, abs=1e-6)
