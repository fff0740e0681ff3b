"""Tariff and cost: every expected value below is computed by hand in its comment."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from custom_components.ev_sessions.model.prices import (
    PriceInterval,
    PriceSeries,
    PriceShapeError,
    looks_like_price_unit,
    parse_price_attributes,
    parse_price_items,
    unit_scale,
)
from custom_components.ev_sessions.model.session import Session, spread_evenly
from custom_components.ev_sessions.model.tariff import (
    PowerFee,
    RollingPeakFee,
    StepFee,
    Tariff,
    TimeWindow,
    hourly,
    month_hourly,
    swedish_holidays,
    tariff_summary,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
FIXTURES = Path(__file__).parent.parent / "fixtures"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM)  # type: ignore[misc]


def charge(start: datetime, hours: float, kw: float) -> Session:
    """A session drawing kw from start for hours."""
    end = start + timedelta(hours=hours)
    session = Session(id="s", start=start, end=end)
    session.add_energy(spread_evenly(kw * hours, start, end))
    return session


def hourly_prices(start: datetime, values: list[float]) -> PriceSeries:
    utc_start = start.astimezone(UTC)
    return PriceSeries(
        PriceInterval(utc_start + timedelta(hours=i), utc_start + timedelta(hours=i + 1), v)
        for i, v in enumerate(values)
    )


def test_flat_price() -> None:
    # 10 kWh x (1.00 + 0.30 grid + 0.36 tax) x 1.25 = 20.75
    tariff = Tariff(fixed_price=1.0, grid_fee=0.30, energy_tax=0.36, vat_percent=25)
    cost = tariff.session_cost(charge(local(2026, 1, 5, 18), 2, 5), PriceSeries(), STOCKHOLM)
    assert cost is not None
    assert cost.total == pytest.approx(20.75, abs=0.005)
    assert cost.breakdown["vat"] == pytest.approx(4.15, abs=0.005)
    assert cost.estimated is False


def test_price_including_vat_and_session_fee() -> None:
    # Spot 1.25 incl. VAT = 1.00 excl.; 8 kWh x 1.00 x 1.25 = 10.00; fee 5 x 1.25 = 6.25
    tariff = Tariff(fixed_price=1.25, price_includes_vat=True, vat_percent=25, session_fee=5)
    cost = tariff.session_cost(charge(local(2026, 1, 5, 18), 2, 4), PriceSeries(), STOCKHOLM)
    assert cost is not None
    assert cost.total == pytest.approx(16.25, abs=0.005)
    assert cost.breakdown["session_fee"] == 5


VATTENFALL_T4 = Tariff(
    fixed_price=0.50,
    grid_fee=0.244,
    grid_fee_high=0.612,
    high_load=TimeWindow(
        months=frozenset({1, 2, 3, 11, 12}),
        weekdays=frozenset({"mon", "tue", "wed", "thu", "fri"}),
        start=time(6),
        end=time(22),
    ),
    energy_tax=0.36,
    vat_percent=25,
)


def test_time_of_use_boundary_inside_a_session() -> None:
    # Mon 12 Jan 2026, 05:00-07:00 at 5 kW: 05-06 low grid fee, 06-07 high.
    # 5 x (0.50 + 0.244 + 0.36) x 1.25 = 6.90; 5 x (0.50 + 0.612 + 0.36) x 1.25 = 9.20
    cost = VATTENFALL_T4.session_cost(charge(local(2026, 1, 12, 5), 2, 5), PriceSeries(), STOCKHOLM)
    assert cost is not None
    assert cost.total == pytest.approx(16.10, abs=0.005)


def test_high_load_window_rules() -> None:
    window = TimeWindow(
        months=frozenset({1}),
        weekdays=frozenset({"mon", "tue", "wed", "thu", "fri"}),
        start=time(7),
        end=time(19),
        holidays_off=True,
    )
    assert window.contains(local(2026, 1, 7, 7))  # Wednesday 07:00
    assert not window.contains(local(2026, 1, 6, 12))  # Epiphany, a Tuesday
    assert not window.contains(local(2026, 1, 10, 12))  # Saturday
    assert not window.contains(local(2026, 1, 7, 19))  # the end is exclusive
    assert not window.contains(local(2026, 2, 4, 12))  # February
    assert TimeWindow(start=time(22)).contains(local(2026, 1, 7, 23, 59))  # end 00:00 = midnight


def test_swedish_holidays_2026() -> None:
    holidays = swedish_holidays(2026)
    assert date(2026, 4, 3) in holidays  # Good Friday (Easter is 5 April)
    assert date(2026, 4, 6) in holidays  # Easter Monday
    assert date(2026, 5, 14) in holidays  # Ascension Day
    assert date(2026, 6, 19) in holidays  # Midsummer Eve
    assert date(2026, 10, 31) in holidays  # All Saints' Day
    assert date(2026, 4, 7) not in holidays
    assert len(holidays) == 16


def test_fifteen_minute_prices_with_a_partial_hour() -> None:
    # 2025-10-01 SE3, 17:00-17:40 local at 6 kW: 1.5 + 1.5 + 1.0 kWh in the first three
    # quarters of 17:00, priced 0.98052 / 1.16266 / 1.45387 SEK/kWh (the fixture):
    # 1.5 x 0.98052 + 1.5 x 1.16266 + 1.0 x 1.45387 = 4.66864
    attributes = json.loads(
        (FIXTURES / "derived_hacs_nordpool_attributes_SE3_2025-10-01_15min.json").read_text()
    )["attributes"]
    prices = parse_price_attributes(attributes, "SEK/kWh", STOCKHOLM)
    assert len(prices) == 96
    assert prices.at(local(2025, 10, 1, 17).astimezone(UTC)) == pytest.approx(0.98052)
    session = charge(local(2025, 10, 1, 17), 40 / 60, 6)
    cost = Tariff(uses_price_entity=True).session_cost(session, prices, STOCKHOLM)
    assert cost is not None
    assert cost.total == pytest.approx(4.66864, abs=0.005)


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("derived_hacs_nordpool_attributes_SE3_2025-10-01_15min.json", "SEK/kWh"),
        ("derived_entsoe_attributes_SE3_2025-10-01_15min.json", "SEK/kWh"),
        ("derived_energidataservice_attributes_SE3_2025-10-01_15min.json", "SEK/kWh"),
    ],
)
def test_three_shapes_give_the_same_cost(name: str, unit: str) -> None:
    attributes = json.loads((FIXTURES / name).read_text())["attributes"]
    prices = parse_price_attributes(attributes, unit, STOCKHOLM)
    session = charge(local(2025, 10, 1, 16, 50), 3, 11)
    cost = Tariff(uses_price_entity=True, vat_percent=25).session_cost(session, prices, STOCKHOLM)
    reference = json.loads(
        (FIXTURES / "derived_hacs_nordpool_attributes_SE3_2025-10-01_15min.json").read_text()
    )["attributes"]
    expected = Tariff(uses_price_entity=True, vat_percent=25).session_cost(
        session, parse_price_attributes(reference, "SEK/kWh", STOCKHOLM), STOCKHOLM
    )
    assert cost is not None
    assert expected is not None
    assert cost.total == pytest.approx(expected.total, abs=1e-9)
    assert cost.total > 0


def test_session_across_midnight_and_month_end() -> None:
    # 31 Jan 23:00 - 1 Feb 01:00 local at 4 kW; hourly prices 1.00 then 2.00:
    # 4 x 1.00 + 4 x 2.00 = 12.00
    prices = hourly_prices(local(2026, 1, 31, 23), [1.0, 2.0])
    session = charge(local(2026, 1, 31, 23), 2, 4)
    cost = Tariff(uses_price_entity=True).session_cost(session, prices, STOCKHOLM)
    assert cost is not None
    assert cost.total == pytest.approx(12.0, abs=0.005)
    february = local(2026, 2, 1).astimezone(UTC)
    assert session.energy_between(february - timedelta(days=31), february) == pytest.approx(4.0)


def test_autumn_dst_day_has_25_hours() -> None:
    # 25 Oct 2026: local 01:00-04:00 is four real hours (02:00-03:00 twice). At 3 kW with
    # hourly prices 1, 2, 3, 4: 3 x (1 + 2 + 3 + 4) = 30.00
    start = local(2026, 10, 25, 1)
    end = local(2026, 10, 25, 4)
    assert (end.astimezone(UTC) - start.astimezone(UTC)) == timedelta(hours=4)
    prices = hourly_prices(start, [1.0, 2.0, 3.0, 4.0])
    session = charge(start.astimezone(UTC), 4, 3)
    cost = Tariff(uses_price_entity=True).session_cost(session, prices, STOCKHOLM)
    assert cost is not None
    assert cost.total == pytest.approx(30.0, abs=0.005)


def test_dst_price_lists_have_23_and_25_hours() -> None:
    sets = json.loads((FIXTURES / "ev_smart_charging_test_price_shapes_incl_dst.json").read_text())[
        "sets"
    ]
    spring = PriceSeries(parse_price_items(sets["PRICE_20220327"], STOCKHOLM))
    autumn = PriceSeries(parse_price_items(sets["PRICE_20221030"], STOCKHOLM))
    assert len(spring) == 23
    assert sum((i.end - i.start for i in spring), timedelta()) == timedelta(hours=23)
    # That fixture repeats one 02:00+02:00 -> 03:00+01:00 item (two hours) verbatim:
    # it is kept once, and the day still covers 25 hours.
    assert len(autumn) == 24
    assert sum((i.end - i.start for i in autumn), timedelta()) == timedelta(hours=25)
    # The repeated 02:00 hour has two distinct intervals.
    assert autumn.at(datetime(2022, 10, 30, 0, 30, tzinfo=UTC)) is not None
    assert autumn.at(datetime(2022, 10, 30, 1, 30, tzinfo=UTC)) is not None


def test_negative_price_hour_is_not_clamped() -> None:
    # 10 kWh at -0.10 with 25 % VAT: 10 x -0.10 x 1.25 = -1.25
    prices = hourly_prices(local(2026, 5, 10, 13), [-0.10, -0.10])
    cost = Tariff(uses_price_entity=True, vat_percent=25).session_cost(
        charge(local(2026, 5, 10, 13), 2, 5), prices, STOCKHOLM
    )
    assert cost is not None
    assert cost.total == pytest.approx(-1.25, abs=0.005)


def test_unknown_price_falls_back_and_is_marked_estimated() -> None:
    # 1 h priced at 2.00 (known) and 1 h unknown: the fixed 1.00, or else the last known 2.00.
    prices = hourly_prices(local(2026, 5, 10, 20), [2.0])
    session = charge(local(2026, 5, 10, 20), 2, 1)
    with_fixed = Tariff(uses_price_entity=True, fixed_price=1.0).session_cost(
        session, prices, STOCKHOLM
    )
    carried = Tariff(uses_price_entity=True).session_cost(session, prices, STOCKHOLM)
    assert with_fixed is not None
    assert carried is not None
    assert (with_fixed.total, with_fixed.estimated) == (pytest.approx(3.0), True)
    assert (carried.total, carried.estimated) == (pytest.approx(4.0), True)
    assert Tariff(uses_price_entity=True).session_cost(session, PriceSeries(), STOCKHOLM) is None
    assert Tariff().session_cost(session, prices, STOCKHOLM) is None


def _month(peaks_by_day: dict[int, float]) -> dict[int, float]:
    """Hourly energies: one hour at 18:00 local on each day with the given kWh."""
    return {int(local(2026, 1, day, 18).timestamp()): kwh for day, kwh in peaks_by_day.items()}


def test_power_fee_when_the_session_makes_a_new_peak() -> None:
    # Göteborg Energi: 36 kr/kW excl. VAT on the mean of the 3 highest hours on 3 days.
    # Without the session the top three are 4, 3, 2 (mean 3, fee 108). The session adds an
    # hour of 5 kWh on day 5: 5, 4, 3 (mean 4, fee 144). Share 36, with VAT 45.
    fee = PowerFee(price_per_kw=36, peaks=3, one_per_day=True)
    session = charge(local(2026, 1, 5, 18), 1, 5)
    month = _month({1: 4, 2: 3, 3: 2, 4: 1}) | hourly(session.intervals)
    tariff = Tariff(fixed_price=0.0, vat_percent=25, power_fee=fee)
    cost = tariff.session_cost(session, PriceSeries(), STOCKHOLM, month_hourly_kwh=month)
    assert cost is not None
    assert cost.breakdown["power_fee"] == pytest.approx(36.0)
    assert cost.total == pytest.approx(45.0)
    assert cost.power_fee_provisional is True


def test_power_fee_one_per_day() -> None:
    # The session's 5 kWh hour falls on day 1, which already has a 4 kWh hour at 18:00.
    # One per day: day 1 counts once (5): top 5, 3, 2 = mean 3.333 -> 120; share 12.
    # Any hours: 5, 4, 3 = mean 4 -> 144; share 36.
    session = charge(local(2026, 1, 1, 20), 1, 5)
    month = _month({1: 4, 2: 3, 3: 2, 4: 1}) | hourly(session.intervals)
    for one_per_day, share in ((True, 12.0), (False, 36.0)):
        tariff = Tariff(
            fixed_price=0.0, power_fee=PowerFee(price_per_kw=36, peaks=3, one_per_day=one_per_day)
        )
        cost = tariff.session_cost(
            session, PriceSeries(), STOCKHOLM, month_hourly_kwh=month, month_over=True
        )
        assert cost is not None
        assert cost.breakdown["power_fee"] == pytest.approx(share)
        assert cost.power_fee_provisional is False


def test_power_fee_night_weight() -> None:
    # Ellevio: 22-06 counts at 50 %. A 6 kWh hour at 23:00 weighs 3: top 4, 3, 3 = 3.333
    # against 4, 3, 2 = 3 before: share 36 x 0.333 = 12. At 21:00 it weighs 6: top 6, 4, 3
    # = 4.333: share 36 x 1.333 = 48.
    month = _month({1: 4, 2: 3, 3: 2})
    fee = PowerFee(price_per_kw=36, peaks=3, one_per_day=True, night_weight=0.5)
    for hour, share in ((23, 12.0), (21, 48.0)):
        session = charge(local(2026, 1, 10, hour), 1, 6)
        cost = Tariff(fixed_price=0.0, power_fee=fee).session_cost(
            session, PriceSeries(), STOCKHOLM, month_hourly_kwh=month | hourly(session.intervals)
        )
        assert cost is not None
        assert cost.breakdown["power_fee"] == pytest.approx(share)


def test_month_hourly_sums_sessions_in_the_month() -> None:
    sessions = [charge(local(2026, 1, 31, 23), 2, 4), charge(local(2026, 2, 2, 10), 1, 2)]
    february = month_hourly(sessions, local(2026, 2, 1), local(2026, 3, 1))
    assert sum(february.values()) == pytest.approx(6.0)
    assert len(february) == 2


def test_price_now_and_summary() -> None:
    tariff = Tariff(uses_price_entity=True, grid_fee=0.2, vat_percent=25)
    prices = hourly_prices(local(2026, 5, 10, 20), [1.0])
    assert tariff.price_now(prices, local(2026, 5, 10, 20, 30), STOCKHOLM) == pytest.approx(1.5)
    assert tariff.price_now(prices, local(2026, 5, 10, 18), STOCKHOLM) is None
    assert tariff_summary(None, "SEK")["cost"] is None
    cost = tariff.session_cost(charge(local(2026, 5, 10, 20), 1, 2), prices, STOCKHOLM)
    summary = tariff_summary(cost, "SEK")
    assert summary["cost"] == 3.0
    assert summary["cost_breakdown"]["grid_fee"] == 0.4


@pytest.mark.parametrize(
    ("unit", "attributes", "scale"),
    [
        ("SEK/kWh", {}, 1.0),
        ("öre/kWh", {}, 0.01),
        ("EUR/MWh", {}, 0.001),
        ("c/kWh", {}, 0.01),
        ("SEK", {"unit": "kWh", "price_in_cents": True}, 0.01),
        ("DKK/kWh", {"use_cent": True}, 0.01),
        ("EUR/Wh", {}, 1000.0),
    ],
)
def test_unit_scale(unit: str, attributes: dict[str, object], scale: float) -> None:
    assert unit_scale(unit, attributes) == pytest.approx(scale)


def test_price_shape_errors() -> None:
    with pytest.raises(PriceShapeError) as err:
        unit_scale("°C", {})
    assert (err.value.reason, err.value.details) == ("not_energy", {"unit": "°C"})
    with pytest.raises(PriceShapeError) as err:
        parse_price_attributes({"raw_today": [{"when": "x", "cost": 1}]}, "SEK/kWh", STOCKHOLM)
    assert (err.value.reason, err.value.details) == ("no_start", {"keys": "cost, when"})
    with pytest.raises(PriceShapeError):
        unit_scale("EUR/GJ", {})
    with pytest.raises(PriceShapeError):
        parse_price_attributes({"today": [1.0, 2.0]}, "SEK/kWh", STOCKHOLM)
    with pytest.raises(PriceShapeError):
        parse_price_attributes({"raw_today": [{"when": "x", "value": 1}]}, "SEK/kWh", STOCKHOLM)
    with pytest.raises(PriceShapeError):
        parse_price_attributes(
            {"raw_today": [{"start": "2026-01-01T00:00:00+01:00"}]}, "SEK/kWh", STOCKHOLM
        )
    with pytest.raises(PriceShapeError):
        parse_price_attributes({"raw_today": [1.0]}, "SEK/kWh", STOCKHOLM)
    assert (
        len(parse_price_attributes({"raw_today": [], "raw_tomorrow": None}, "SEK/kWh", STOCKHOLM))
        == 0
    )
    assert looks_like_price_unit("SEK/kWh")
    assert looks_like_price_unit("EUR/MWh")
    assert not looks_like_price_unit("kWh")


def test_parse_items_tolerates_missing_ends_nulls_naive_times_and_objects() -> None:
    items = [
        {"time": datetime(2026, 1, 1, 0, 0), "price": "1.5"},
        {"time": "2026-01-01 00:15:00", "price": 2.0},
        {"time": "2026-01-01 00:30:00", "price": None},
        {"time": "2026-01-01 00:45:00", "price": 3.0},
    ]
    series = PriceSeries(parse_price_items(items, STOCKHOLM))
    assert len(series) == 3
    first = next(iter(series))
    assert first.start == local(2026, 1, 1)
    assert first.end == local(2026, 1, 1, 0, 15)
    assert series.at(local(2026, 1, 1, 0, 50)) == 3.0
    assert series.at(local(2026, 1, 1, 0, 35)) is None  # the null quarter stays unknown
    assert series.end == local(2026, 1, 1, 1)
    with pytest.raises(PriceShapeError):
        parse_price_items([{"time": "not a time", "price": 1}], STOCKHOLM)


def test_series_merge_history_and_storage() -> None:
    old = hourly_prices(local(2026, 1, 1), [1.0, 2.0])
    new = hourly_prices(local(2026, 1, 1, 1), [5.0, 6.0])
    merged = old.merged(new)
    assert [i.value for i in merged] == [1.0, 5.0, 6.0]
    assert merged.before(local(2026, 1, 1, 2, 30)) == 6.0
    assert merged.before(local(2026, 1, 1)) is None
    assert len(merged.since(local(2026, 1, 1, 1, 30))) == 2
    assert [i.value for i in PriceSeries.from_list(merged.as_list())] == [1.0, 5.0, 6.0]


def test_core_nordpool_response_in_mwh() -> None:
    response = json.loads(
        (FIXTURES / "ha_core_nordpool_get_prices_for_date_response_SE3_2024-11-05.json").read_text()
    )
    series = PriceSeries(parse_price_items(response["SE3"], STOCKHOLM, unit_scale("SEK/MWh")))
    assert len(series) == 24
    assert series.at(datetime(2024, 11, 4, 23, 30, tzinfo=UTC)) == pytest.approx(0.25073)


def test_hourly_meter_integrates_held_power_and_ignores_the_past() -> None:
    from custom_components.ev_sessions.model.meter import HourlyMeter

    meter = HourlyMeter()
    start = local(2026, 1, 5, 18)
    meter.update(start, 2000)
    meter.update(start + timedelta(minutes=10), 2000)
    meter.update(start + timedelta(minutes=5), 9000)  # out of order: ignored
    meter.update(start + timedelta(minutes=20), None)
    meter.update(start + timedelta(minutes=50), 1000)  # nothing counted while unknown
    meter.update(start + timedelta(minutes=65), 1000)
    meter.update(start + timedelta(minutes=95), 1000)  # a gap over 15 min: not held
    hour = int(start.timestamp())
    assert meter.hours[hour] == pytest.approx(2 * 20 / 60 + 1 * 10 / 60)
    assert meter.hours[hour + 3600] == pytest.approx(1 * 5 / 60)
    restored = HourlyMeter.from_dict(meter.as_dict())
    assert restored.hours == meter.hours
    meter.prune(start + timedelta(hours=1))
    assert list(meter.hours) == [hour + 3600]


def test_three_level_grid_fee_like_german_14a_module_3() -> None:
    # NT 0.03 from 00:00 to 06:00, HT 0.14 from 17:00 to 20:00, ST 0.08 otherwise, in
    # January; spot 0.30, VAT 19 %. One hour at 2 kW in each:
    # 2 x (0.30 + 0.14) x 1.19 = 1.0472; 2 x (0.30 + 0.08) x 1.19 = 0.9044;
    # 2 x (0.30 + 0.03) x 1.19 = 0.7854
    berlin = ZoneInfo("Europe/Berlin")
    months = frozenset({1, 2, 3, 10, 11, 12})
    tariff = Tariff(
        fixed_price=0.30,
        grid_fee=0.08,
        grid_fee_high=0.14,
        high_load=TimeWindow(months=months, start=time(17), end=time(20)),
        grid_fee_low=0.03,
        low_load=TimeWindow(months=months, start=time(0), end=time(6)),
        vat_percent=19,
    )
    for hour, expected in ((18, 1.0472), (12, 0.9044), (2, 0.7854)):
        session = charge(datetime(2026, 1, 14, hour, tzinfo=berlin), 1, 2)
        cost = tariff.session_cost(session, PriceSeries(), berlin)
        assert cost is not None
        assert cost.total == pytest.approx(expected, abs=0.0005)
    # In June every hour is standard.
    june = tariff.session_cost(
        charge(datetime(2026, 6, 10, 18, tzinfo=berlin), 1, 2), PriceSeries(), berlin
    )
    assert june is not None
    assert june.total == pytest.approx(0.9044, abs=0.0005)


def _hour(moment: datetime) -> int:
    return int(moment.timestamp())


SOLLENTUNA = PowerFee(
    price_per_kw=60.0,
    peaks=3,
    one_per_day=True,
    window=TimeWindow(
        months=frozenset({11, 12, 1, 2, 3}),
        weekdays=frozenset({"mon", "tue", "wed", "thu", "fri"}),
        start=time(7),
        end=time(19),
        holidays_off=True,
    ),
    season_months=frozenset({11, 12, 1, 2, 3}),
    season_price_per_kw=135.0,
)


def test_a_power_fee_that_counts_only_working_hours_in_winter() -> None:
    """Sollentuna-style: the three highest hours on three days, weekdays 07-19, November to
    March, holidays off, 135 per kW in winter. January 2026, by hand:
    Mon 5 Jan 18:00 6 kWh counts; Tue 6 Jan (Epiphany) 08:00 9 kWh does not; Wed 7 Jan 20:00
    10 kWh is after 19:00, 10:00 5 kWh counts; Thu 8 Jan 12:00 4 and 13:00 4.5 (one per day:
    4.5); Fri 9 Jan 07:00 3; Sat 10 Jan 12:00 8 is a weekend. Top three 6, 5, 4.5: mean
    5.1667 kW x 135 = 697.50."""
    month = {
        _hour(local(2026, 1, 5, 18)): 6.0,
        _hour(local(2026, 1, 6, 8)): 9.0,
        _hour(local(2026, 1, 7, 20)): 10.0,
        _hour(local(2026, 1, 7, 10)): 5.0,
        _hour(local(2026, 1, 8, 12)): 4.0,
        _hour(local(2026, 1, 8, 13)): 4.5,
        _hour(local(2026, 1, 9, 7)): 3.0,
        _hour(local(2026, 1, 10, 12)): 8.0,
    }
    assert SOLLENTUNA.month_fee(month, STOCKHOLM) == pytest.approx(697.5)
    assert SOLLENTUNA.peak_hours(month, STOCKHOLM) == [
        _hour(local(2026, 1, 5, 18)),
        _hour(local(2026, 1, 7, 10)),
        _hour(local(2026, 1, 8, 13)),
    ]
    # A session of 3 kWh in each of Thursday's two hours: without it Thursday's best is 1.5
    # and the top three are 6, 5, 3 (Friday): 630. Its share is 67.50 (84.375 with VAT).
    session = Session(id="s", start=local(2026, 1, 8, 12), end=local(2026, 1, 8, 14))
    session.add_energy({_hour(local(2026, 1, 8, 12)): 3.0, _hour(local(2026, 1, 8, 13)): 3.0})
    tariff = Tariff(fixed_price=0.0, vat_percent=25, power_fee=SOLLENTUNA)
    cost = tariff.session_cost(session, PriceSeries(), STOCKHOLM, month_hourly_kwh=month)
    assert cost is not None
    assert cost.breakdown["power_fee"] == pytest.approx(67.5)
    assert cost.power_fee_hours[2] == _hour(local(2026, 1, 8, 13))  # the session's hour counts
    assert cost.total == pytest.approx(84.375)
    # In summer no hour counts: no fee, whatever the peaks.
    july = {_hour(local(2026, 7, 8, 12)): 9.0}
    assert SOLLENTUNA.month_fee(july, STOCKHOLM) == 0.0
    # A month outside the season is priced at the base price.
    all_year = PowerFee(
        price_per_kw=60.0,
        peaks=1,
        season_months=frozenset({1}),
        season_price_per_kw=135.0,
    )
    assert all_year.month_fee(july, STOCKHOLM) == pytest.approx(540.0)


def test_a_window_on_a_meter_clock_without_summer_time() -> None:
    """UK Economy 7: the cheap rate runs 00:00-07:00 GMT all year, 01:00-08:00 in summer."""
    london = ZoneInfo("Europe/London")
    economy7 = TimeWindow(start=time(0), end=time(7), utc_offset=timedelta(0))
    tariff = Tariff(grid_fee=0.30, grid_fee_low=0.10, low_load=economy7)
    summer = [datetime(2026, 7, 1, h, 30, tzinfo=london) for h in (0, 6, 7)]
    assert [tariff.grid_fee_at(m) for m in summer] == [0.30, 0.10, 0.10]
    winter = [datetime(2026, 1, 15, h, 30, tzinfo=london) for h in (0, 6, 7)]
    assert [tariff.grid_fee_at(m) for m in winter] == [0.10, 0.10, 0.30]
    # On local time it would follow the clocks.
    local_clock = Tariff(grid_fee=0.30, grid_fee_low=0.10, low_load=TimeWindow(end=time(7)))
    assert [local_clock.grid_fee_at(m) for m in summer] == [0.10, 0.10, 0.30]


ELVIA = StepFee(steps=((0, 130.0), (2, 190.0), (5, 280.0), (10, 375.0), (15, 470.0)))


def test_a_norwegian_step_tariff_charges_the_step_a_session_causes() -> None:
    """Kapasitetsledd: the mean of the three highest daily maxima picks the month's step.
    By hand: daily maxima 4.0 (1st), 5.0 (2nd), 3.5 (3rd) and 2.0 (4th): the top three mean
    4.17 kW, step 2-5 kW, 190 a month. Up to 6 kW in one more hour keeps that step
    (6 + 5 + 4 = 15 = 3 x 5 would reach the next). A session that lifts the 3rd to 8 kWh makes
    the top three 8, 5, 4: 5.67 kW, step 5-10, 280: the session costs the step difference,
    90 (112.50 with 25 % VAT)."""
    oslo = ZoneInfo("Europe/Oslo")

    def at(day: int, hour: int) -> int:
        return int(datetime(2026, 1, day, hour, tzinfo=oslo).timestamp())

    month = {at(1, 18): 4.0, at(1, 19): 1.0, at(2, 8): 5.0, at(3, 17): 3.5, at(4, 9): 2.0}
    assert ELVIA.level(month, oslo) == pytest.approx(12.5 / 3)
    assert ELVIA.month_fee(month, oslo) == 190.0
    assert ELVIA.peak_level(month, oslo) == pytest.approx(6.0)
    assert ELVIA.peak_hours(month, oslo) == [at(2, 8), at(1, 18), at(3, 17)]
    session = Session(id="s", start=datetime(2026, 1, 3, 20, tzinfo=oslo))
    session.add_energy({at(3, 20): 8.0})
    with_session = {**month, at(3, 20): 8.0}
    tariff = Tariff(fixed_price=0.0, vat_percent=25, power_fee=ELVIA)
    cost = tariff.session_cost(session, PriceSeries(), oslo, month_hourly_kwh=with_session)
    assert cost is not None
    assert cost.breakdown["power_fee"] == pytest.approx(90.0)
    assert cost.total == pytest.approx(112.5)
    # Early in the month (two days so far) a third day counts into the mean at once.
    early = {at(1, 18): 4.0, at(2, 8): 5.0}
    assert ELVIA.peak_level(early, oslo) == pytest.approx(5 * 3 - 9)
    # In the top step nothing more can be raised.
    assert ELVIA.peak_level({at(1, 1): 20.0}, oslo) == float("inf")
    assert StepFee(steps=()).month_fee(month, oslo) == 0.0


def test_the_flemish_capacity_tariff_charges_a_twelfth_of_the_peak_it_sets() -> None:
    """Capaciteitstarief, 53.00 a year per kW on the mean of 12 monthly 15-minute peaks.
    By hand: the month's highest quarter so far is 0.75 kWh (3.0 kW); a session's quarter of
    1.85 kWh (7.4 kW) raises it by 4.4 kW, which counts in 12 monthly bills at a twelfth each:
    53 x 4.4 / 12 = 19.43. Below the 2.5 kW floor nothing is charged."""
    fee = RollingPeakFee(yearly_price_per_kw=53.0)
    brussels = ZoneInfo("Europe/Brussels")
    q = int(datetime(2026, 3, 2, 18, 0, tzinfo=brussels).timestamp())
    month = {q: 0.75, q + 900: 0.5}
    session = Session(id="s", start=datetime(2026, 3, 3, 19, 0, tzinfo=brussels))
    own = int(datetime(2026, 3, 3, 19, 0, tzinfo=brussels).timestamp())
    session.add_energy({own: 1.85})
    tariff = Tariff(fixed_price=0.0, power_fee=fee)
    cost = tariff.session_cost(
        session, PriceSeries(), brussels, month_hourly_kwh={**month, own: 1.85}
    )
    assert cost is not None
    assert cost.breakdown["power_fee"] == pytest.approx(53 * 4.4 / 12)
    assert cost.power_fee_hours == (own,)
    assert fee.peak_level(month, brussels) == pytest.approx(3.0)  # charging under 3 kW is free
    # Under the floor: a 1.5 kW month and a 2.0 kW session both count as 2.5 kW.
    low = {q: 0.375}
    assert fee.month_fee({**low, own: 0.5}, brussels) == fee.month_fee(low, brussels)
    assert fee.peak_hours(low, brussels) == []
    assert fee.peak_level({}, brussels) == 2.5
    # Energies keyed at any moment go to their clock quarter.
    assert fee.bucket({q + 60: 0.1, q + 300: 0.2}) == {q: pytest.approx(0.3)}
