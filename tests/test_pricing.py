"""Prices and costs through Home Assistant: every price shape, late prices, outages, fees."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
import json
import logging
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_mock_service,
)

from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from custom_components.ev_sessions.const import (
    DOMAIN,
    EVENT_SESSION_ENDED,
)
from custom_components.ev_sessions.costs import Costs
from custom_components.ev_sessions.pricing import tariff_from_options

from .conftest import make_wallbox_entry, setup_entry, wallbox_states
from .helpers import advance, logged, number, number_now, state_value

FIXTURES = Path(__file__).parent / "fixtures"
PRICE = "sensor.spot_price"
# Grid fee 0.244 + energy tax 0.36 = 0.604 per kWh excl. VAT; VAT 25 %.
TARIFF = {"grid_fee": 0.244, "energy_tax": 0.36, "vat_percent": 25}


def _attributes(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())["attributes"]


SHAPES = {
    "hacs_nordpool": ("derived_hacs_nordpool_attributes_SE3_2025-10-01_15min.json", "SEK/kWh"),
    "entsoe": ("derived_entsoe_attributes_SE3_2025-10-01_15min.json", "SEK/kWh"),
    "energidataservice": (
        "derived_energidataservice_attributes_SE3_2025-10-01_15min.json",
        "SEK/kWh",
    ),
}


@pytest.fixture(autouse=True)
async def _stockholm(hass: HomeAssistant) -> None:
    await hass.config.async_update(time_zone="Europe/Stockholm", currency="SEK")


def _entry(**options: Any) -> MockConfigEntry:
    return make_wallbox_entry(**{**TARIFF, **options})


async def _charge_hour(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, kw: float, register: float
) -> float:
    """Plug in, charge an hour at kw (register read each quarter), unplug."""
    wallbox_states(hass, plug="on", power=str(kw * 1000), energy=str(register))
    await hass.async_block_till_done()
    for _ in range(4):
        await advance(hass, freezer, 15)
        register += kw / 4
        wallbox_states(hass, plug="on", power=str(kw * 1000), energy=str(register))
        await hass.async_block_till_done()
    wallbox_states(hass, plug="off", power="0", energy=str(register))
    await hass.async_block_till_done()
    return register


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_session_cost_from_each_price_shape(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, shape: str
) -> None:
    # 1 Oct 2025, 21:00-22:00 local at 4 kW: 1 kWh a quarter at 1.21814, 1.1358, 0.95996,
    # 0.91366 SEK: (4.22756 + 4 x 0.604) x 1.25 = 8.30445
    name, unit = SHAPES[shape]
    freezer.move_to(datetime(2025, 10, 1, 19, 0, tzinfo=UTC))
    hass.states.async_set(PRICE, "1.2", {"unit_of_measurement": unit, **_attributes(name)})
    wallbox_states(hass)
    entry = await setup_entry(hass, _entry(price_entity=PRICE))
    # All in now: (1.21814 + 0.604) x 1.25 = 2.27768
    assert number(hass, "sensor.wallbox_price") == pytest.approx(2.27768, abs=1e-4)
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    await _charge_hour(hass, freezer, 4, 1000.0)
    assert number(hass, "sensor.wallbox_last_session_cost") == pytest.approx(8.30445, abs=0.005)
    assert ended[0].data["cost"] == pytest.approx(8.30445, abs=0.005)
    assert ended[0].data["currency"] == "SEK"
    last = hass.states.get("sensor.wallbox_last_session_cost")
    assert last is not None
    assert last.attributes["unit_of_measurement"] == "SEK"
    assert last.attributes["estimated"] is False
    assert last.attributes["breakdown"]["energy_tax"] == pytest.approx(1.44)
    assert number(hass, "sensor.wallbox_month_cost") == pytest.approx(8.30445, abs=0.005)
    session = entry.runtime_data.history.last
    assert session is not None
    assert session.cost == pytest.approx(8.30445, abs=0.005)


async def test_a_new_price_entity_is_followed_without_a_reload(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The price entity is changed in the options: the new one is read at once and followed,
    the old one no longer; the repair issue about the old one goes."""
    freezer.move_to(datetime(2025, 10, 1, 19, 0, tzinfo=UTC))
    hass.states.async_set(PRICE, "21", {"unit_of_measurement": "°C"})  # not a price
    other = "sensor.other_spot_price"
    hass.states.async_set(
        other, "1", {"unit_of_measurement": "SEK/kWh", **_attributes(SHAPES["entsoe"][0])}
    )
    wallbox_states(hass)
    entry = await setup_entry(hass, _entry(price_entity=PRICE))
    coordinator = entry.runtime_data
    issue = f"price_shape_unknown_{entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue)
    hass.config_entries.async_update_entry(entry, options={**entry.options, "price_entity": other})
    await hass.async_block_till_done()
    assert entry.runtime_data is coordinator
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue) is None
    assert number(hass, "sensor.wallbox_price") == pytest.approx(2.27768, abs=1e-4)
    # The old entity changing does nothing now.
    hass.states.async_set(PRICE, "22", {"unit_of_measurement": "°C"})
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue) is None


async def test_price_sensor_follows_quarter_hours(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime(2025, 10, 1, 15, 14, 50, tzinfo=UTC))  # 17:14:50 local
    hass.states.async_set(
        PRICE, "1", {"unit_of_measurement": "SEK/kWh", **_attributes(SHAPES["hacs_nordpool"][0])}
    )
    wallbox_states(hass)
    await setup_entry(hass, _entry(price_entity=PRICE))
    # 17:00 quarter 0.98052, then 17:15 quarter 1.16266 (all in: x + 0.604, x 1.25)
    assert number(hass, "sensor.wallbox_price") == pytest.approx((0.98052 + 0.604) * 1.25, abs=1e-4)
    await advance(hass, freezer, 10 / 60, step_s=10)
    assert number(hass, "sensor.wallbox_price") == pytest.approx((1.16266 + 0.604) * 1.25, abs=1e-4)


async def test_tomorrows_prices_arrive_mid_session(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    # 23:30-00:30 local at 4 kW. Tomorrow's prices are not known at first: the fixed 1.00
    # stands in for 00:00 and 00:15 (estimated). Then 0.50 arrives for those quarters:
    # (0.82005 + 0.78568 + 0.5 + 0.5 + 4 x 0.604) x 1.25 = 6.27716
    today = _attributes(SHAPES["hacs_nordpool"][0])
    freezer.move_to(datetime(2025, 10, 1, 21, 30, tzinfo=UTC))
    hass.states.async_set(PRICE, "1", {"unit_of_measurement": "SEK/kWh", **today})
    wallbox_states(hass)
    await setup_entry(hass, _entry(price_entity=PRICE, fixed_price=1.0))
    wallbox_states(hass, plug="on", power="4000", energy="0.0")
    await hass.async_block_till_done()
    register = 0.0
    for _ in range(4):
        await advance(hass, freezer, 15)
        register += 1.0
        wallbox_states(hass, plug="on", power="4000", energy=str(register))
        await hass.async_block_till_done()
    cost = hass.states.get("sensor.wallbox_session_cost")
    assert cost is not None
    assert cost.attributes["estimated"] is True
    tomorrow = [
        {
            "start": f"2025-10-02T00:{m:02d}:00+02:00",
            "end": f"2025-10-02T00:{m + 15:02d}:00+02:00"
            if m < 45
            else "2025-10-02T01:00:00+02:00",
            "value": 0.5,
        }
        for m in (0, 15, 30, 45)
    ]
    hass.states.async_set(
        PRICE, "1", {"unit_of_measurement": "SEK/kWh", **today, "raw_tomorrow": tomorrow}
    )
    await hass.async_block_till_done()
    cost = hass.states.get("sensor.wallbox_session_cost")
    assert cost is not None
    assert cost.attributes["estimated"] is False
    assert float(cost.state) == pytest.approx(6.27716, abs=0.005)
    assert cost.attributes["last_reset"] == "2025-10-01T21:30:00+00:00"
    # Per kWh on average: 6.27716 / 4 = 1.56929
    assert number(hass, "sensor.wallbox_session_average_price") == pytest.approx(1.56929, abs=0.001)
    wallbox_states(hass, plug="off", power="0", energy=str(register))
    await hass.async_block_till_done()
    assert number(hass, "sensor.wallbox_last_session_cost") == pytest.approx(6.27716, abs=0.005)
    assert state_value(hass, "sensor.wallbox_session_average_price") == "unknown"


async def test_a_cost_turning_estimated_is_written_at_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """While a session charges, its cost (and its breakdown) is written at most once a
    minute; what else its attributes say is written at the reading that changes it: here the
    first reading past midnight, priced with the fixed stand-in (tomorrow's prices are not
    known), makes the cost estimated right after it was last written."""
    today = _attributes(SHAPES["hacs_nordpool"][0])
    freezer.move_to(datetime(2025, 10, 1, 21, 59, 30, tzinfo=UTC))  # 23:59:30 local
    hass.states.async_set(PRICE, "1", {"unit_of_measurement": "SEK/kWh", **today})
    wallbox_states(hass)
    await setup_entry(hass, _entry(price_entity=PRICE, fixed_price=1.0))
    register = 0.0
    wallbox_states(hass, plug="on", power="11000", energy=f"{register:.4f}")
    await hass.async_block_till_done()
    written: list[tuple[datetime, bool]] = []

    @callback
    def _cost(event: Event[EventStateChangedData]) -> None:
        if (new := event.data["new_state"]) is not None:
            written.append((dt_util.utcnow(), new.attributes.get("estimated")))

    async_track_state_change_event(hass, "sensor.wallbox_session_cost", _cost)
    # Readings every 10 s across midnight.
    for _ in range(9):
        freezer.tick(timedelta(seconds=10))
        register += 11 / 360
        wallbox_states(hass, plug="on", power="11000", energy=f"{register:.4f}")
        await hass.async_block_till_done()
    past_midnight = datetime(2025, 10, 1, 22, 0, 10, tzinfo=UTC)
    # Held until then. The new quarter's tick may write it first, not estimated (on Home
    # Assistant 2025.4 its timer runs before the reading); the reading makes it estimated:
    # written at once, not held. Held again after.
    assert written, written
    assert all(when == past_midnight for when, _ in written), written
    assert written[-1] == (past_midnight, True)
    cost = hass.states.get("sensor.wallbox_session_cost")
    assert cost is not None
    assert cost.attributes["estimated"] is True
    # Its value waits (five readings since): asked for, the latest is shown.
    assert await number_now(hass, cost.entity_id) > float(cost.state)


async def test_a_new_power_fee_hour_is_written_at_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The power fee's hour (the month's highest, one peak counted) moves to the running
    hour at the reading whose energy passes the earlier hour's: the session cost, held a
    minute while only its figure moves on, shows the new hour at that reading."""
    freezer.move_to(datetime(2026, 2, 10, 16, 0, tzinfo=UTC))
    wallbox_states(hass)
    entry = await setup_entry(hass, _entry(fixed_price=1.0, power_fee_per_kw=36, power_fee_peaks=1))
    register = 0.0

    async def reading(seconds: int, kw: float) -> None:
        nonlocal register
        freezer.tick(timedelta(seconds=seconds))
        register += kw * seconds / 3600
        wallbox_states(hass, plug="on", power=str(kw * 1000), energy=f"{register:.4f}")
        await hass.async_block_till_done()

    await reading(0, 3.7)
    for _ in range(60):  # 16:00-17:00 at 3.7 kW, a reading a minute
        await reading(60, 3.7)
    hours = {
        int(datetime(2026, 2, 10, hour, tzinfo=UTC).timestamp()): dt_util.as_local(
            datetime(2026, 2, 10, hour, tzinfo=UTC)
        ).isoformat()
        for hour in (16, 17)
    }
    cost_id = "sensor.wallbox_session_cost"
    moved, held = [], 0
    for _ in range(150):  # from 17:00 at 11 kW, a reading every 10 s: 3.7 kWh by 17:20:11
        await reading(10, 11.0)
        live = entry.runtime_data.data.session_cost
        assert live is not None
        assert len(live.power_fee_hours) == 1
        shown = hass.states.get(cost_id)
        assert shown is not None
        assert shown.attributes["power_fee_hours"] == [hours[live.power_fee_hours[0]]]
        if live.power_fee_hours[0] == max(hours) and not moved:
            moved.append(dt_util.utcnow())
        held += float(shown.state) < live.total - 0.01
    # The hour moved at the reading that passed 3.7 kWh, while the cost's figure was held
    # between its writes (a reading every 10 s, a write a minute).
    assert moved == [datetime(2026, 2, 10, 17, 20, 20, tzinfo=UTC)]
    assert held > 100


async def test_price_entity_unavailable(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    # The fixed 1.50 stands in: 4 kWh x (1.50 + 0.604) x 1.25 = 10.52, estimated.
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    hass.states.async_set(PRICE, "unavailable")
    wallbox_states(hass)
    await setup_entry(hass, _entry(price_entity=PRICE, fixed_price=1.5))
    assert number(hass, "sensor.wallbox_price") == pytest.approx((1.5 + 0.604) * 1.25)
    await _charge_hour(hass, freezer, 4, 10.0)
    last = hass.states.get("sensor.wallbox_last_session_cost")
    assert last is not None
    assert float(last.state) == pytest.approx(10.52, abs=0.005)
    assert last.attributes["estimated"] is True


async def test_current_price_sensor_and_average_price(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A sensor with only the current price (e.g. a template): it holds until it changes."""
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    hass.states.async_set(PRICE, "150", {"unit_of_measurement": "öre/kWh"})
    wallbox_states(hass)
    await setup_entry(hass, _entry(price_entity=PRICE))
    assert number(hass, "sensor.wallbox_price") == pytest.approx((1.5 + 0.604) * 1.25)
    wallbox_states(hass, plug="on", power="4000", energy="0.0")
    await hass.async_block_till_done()
    await advance(hass, freezer, 60)
    wallbox_states(hass, plug="on", power="4000", energy="4.0")
    await hass.async_block_till_done()
    # Every quarter re-read the sensor: 4 kWh x 2.63 = 10.52, not estimated.
    await number_now(hass, "sensor.wallbox_session_cost")
    cost = hass.states.get("sensor.wallbox_session_cost")
    assert cost is not None
    assert float(cost.state) == pytest.approx(10.52, abs=0.005)
    assert cost.attributes["estimated"] is False
    assert number(hass, "sensor.wallbox_session_average_price") == pytest.approx(2.63, abs=0.001)


async def test_unreadable_price_entity_raises_a_repair_issue(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    hass.states.async_set(PRICE, "cheap", {"unit_of_measurement": "SEK/kWh"})
    wallbox_states(hass)
    entry = await setup_entry(hass, _entry(price_entity=PRICE, fixed_price=1.0))
    issue_id = f"price_shape_unknown_{entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {"entity_id": PRICE}
    assert entry.runtime_data.costs.price_problem == "not a number: 'cheap'"  # for the log
    hass.states.async_set(PRICE, "still cheap", {"unit_of_measurement": "SEK/kWh"})
    await hass.async_block_till_done()
    assert logged(caplog, "cannot be read", logging.WARNING) == 1
    hass.states.async_set(PRICE, "0.9", {"unit_of_measurement": "SEK/kWh"})
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert number(hass, "sensor.wallbox_price") == pytest.approx((0.9 + 0.604) * 1.25)


async def test_core_nordpool_prices_come_from_its_action(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime(2024, 11, 5, 12, 5, tzinfo=UTC))
    response = json.loads(
        (FIXTURES / "ha_core_nordpool_get_prices_for_date_response_SE3_2024-11-05.json").read_text()
    )
    calls = async_mock_service(
        hass,
        "nordpool",
        "get_prices_for_date",
        response=response,
        supports_response=SupportsResponse.ONLY,
    )
    nordpool_entry = MockConfigEntry(domain="nordpool", data={"areas": ["SE3"], "currency": "SEK"})
    nordpool_entry.add_to_hass(hass)
    registered = er.async_get(hass).async_get_or_create(
        "sensor", "nordpool", "SE3-current_price", config_entry=nordpool_entry
    )
    hass.states.async_set(registered.entity_id, "0.5", {"unit_of_measurement": "SEK/kWh"})
    wallbox_states(hass)
    await setup_entry(hass, _entry(price_entity=registered.entity_id))
    assert [c.data["date"] for c in calls] == ["2024-11-05", "2024-11-06"]
    assert calls[0].data["areas"] == ["SE3"]
    twelve = next(i for i in response["SE3"] if i["start"] == "2024-11-05T12:00:00+00:00")
    expected = (twelve["price"] / 1000 + 0.604) * 1.25
    assert number(hass, "sensor.wallbox_price") == pytest.approx(expected, abs=1e-4)
    # Refreshed every hour (tomorrow's prices come around 13:00).
    await advance(hass, freezer, 61, step_s=300)
    assert len(calls) == 4


async def test_tibber_prices_come_from_its_action(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime(2026, 2, 10, 17, 5, tzinfo=UTC))
    start = datetime(2026, 2, 10, 17, 0, tzinfo=UTC)
    prices = [
        {"start_time": (start + timedelta(minutes=15 * q)).isoformat(), "price": 2.0 + q / 10}
        for q in range(8)
    ]
    async_mock_service(
        hass,
        "tibber",
        "get_prices",
        response={"prices": {"Home": prices}},
        supports_response=SupportsResponse.ONLY,
    )
    tibber_entry = MockConfigEntry(domain="tibber")
    tibber_entry.add_to_hass(hass)
    registered = er.async_get(hass).async_get_or_create(
        "sensor", "tibber", "home-price", config_entry=tibber_entry
    )
    hass.states.async_set(registered.entity_id, "2.0", {"unit_of_measurement": "SEK/kWh"})
    wallbox_states(hass)
    # Tibber's prices include VAT: 2.00 incl. = 1.60 excl.; (1.60 + 0.604) x 1.25 = 2.755
    await setup_entry(hass, _entry(price_entity=registered.entity_id, price_includes_vat=True))
    assert number(hass, "sensor.wallbox_price") == pytest.approx(2.755, abs=1e-4)


async def test_action_failure_raises_a_repair_issue(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The Nord Pool integration's action is not there (integration not loaded)."""
    freezer.move_to(datetime(2026, 2, 10, 17, 5, tzinfo=UTC))
    nordpool_entry = MockConfigEntry(domain="nordpool", data={"areas": ["SE3"]})
    nordpool_entry.add_to_hass(hass)
    registered = er.async_get(hass).async_get_or_create(
        "sensor", "nordpool", "SE3-current_price", config_entry=nordpool_entry
    )
    wallbox_states(hass)
    entry = await setup_entry(hass, _entry(price_entity=registered.entity_id, fixed_price=1.0))
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"price_shape_unknown_{entry.entry_id}")
    assert number(hass, "sensor.wallbox_price") == pytest.approx((1.0 + 0.604) * 1.25)


async def test_power_fee_from_the_household_meter(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    # Single highest hour of the month (peaks 1), 36 SEK/kW excl. VAT. The house drew 2 kW
    # for an hour earlier; during the session hour it draws 5 kW, 4 of them the car's.
    # Without the session the peak is 2 kWh (fee 72); with it 5 kWh (fee 180): share 108,
    # 135 with VAT. Energy: 4 kWh x (1.00 + 0.604) x 1.25 = 8.02. Total 143.02.
    freezer.move_to(datetime(2026, 2, 10, 14, 0, tzinfo=UTC))
    house = "sensor.house_power"
    hass.states.async_set(house, "2000", {"unit_of_measurement": "W"})
    wallbox_states(hass)
    await setup_entry(
        hass,
        _entry(
            fixed_price=1.0,
            power_fee_per_kw=36,
            power_fee_peaks=1,
            house_power_entity=house,
        ),
    )
    await advance(hass, freezer, 60)
    hass.states.async_set(house, "1000", {"unit_of_measurement": "W"})
    await advance(hass, freezer, 60)
    hass.states.async_set(house, "5000", {"unit_of_measurement": "W"})
    await _charge_hour(hass, freezer, 4, 0.0)
    hass.states.async_set(house, "1000", {"unit_of_measurement": "W"})
    await hass.async_block_till_done()
    last = hass.states.get("sensor.wallbox_last_session_cost")
    assert last is not None
    assert last.attributes["breakdown"]["power_fee"] == pytest.approx(108.0, abs=0.5)
    assert float(last.state) == pytest.approx(143.02, abs=0.7)
    assert last.attributes["power_fee_provisional"] is True


async def test_provisional_power_fee_is_final_after_month_end(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    # Charger-only peaks: the session's own 4 kWh hour is the month's peak: 4 x 36 = 144.
    freezer.move_to(datetime(2026, 2, 27, 20, 0, tzinfo=UTC))
    wallbox_states(hass)
    entry = await setup_entry(hass, _entry(fixed_price=1.0, power_fee_per_kw=36, power_fee_peaks=1))
    await _charge_hour(hass, freezer, 4, 0.0)
    session = entry.runtime_data.history.last
    assert session is not None
    assert session.power_fee_provisional is True
    assert session.cost_breakdown["power_fee"] == pytest.approx(144.0)
    freezer.move_to(datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
    await advance(hass, freezer, 1)
    assert session.power_fee_provisional is False
    response = await hass.services.async_call(
        DOMAIN,
        "get_sessions",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    summary = response["sessions"][0]  # type: ignore[index]
    assert summary["cost_breakdown"]["power_fee"] == pytest.approx(144.0)
    assert summary["power_fee_provisional"] is False


async def test_a_new_month_reading_before_the_tick_keeps_the_power_fee(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The household meter's first reading of March arrives before the quarter-hour tick
    that closes February (a restart over midnight): February's hours are kept until its
    sessions are final. The fee was wiped to 0.00 and marked final."""
    freezer.move_to(datetime(2026, 2, 27, 19, 0, tzinfo=UTC))
    house = "sensor.house_power"
    hass.states.async_set(house, "1000", {"unit_of_measurement": "W"})
    wallbox_states(hass)
    entry = await setup_entry(
        hass,
        _entry(fixed_price=1.0, power_fee_per_kw=36, power_fee_peaks=1, house_power_entity=house),
    )
    await advance(hass, freezer, 60)
    hass.states.async_set(house, "5000", {"unit_of_measurement": "W"})
    await _charge_hour(hass, freezer, 4, 0.0)
    hass.states.async_set(house, "1000", {"unit_of_measurement": "W"})
    await hass.async_block_till_done()
    session = entry.runtime_data.history.last
    assert session is not None
    provisional = session.cost_breakdown["power_fee"]
    assert provisional == pytest.approx((5 - 1) * 36, abs=1)
    # Midnight UTC+1: 1 March. A reading comes first, without a tick.
    freezer.move_to(datetime(2026, 2, 28, 23, 0, 30, tzinfo=UTC))
    hass.states.async_set(house, "1500", {"unit_of_measurement": "W"})
    await hass.async_block_till_done()
    await advance(hass, freezer, 15)
    assert session.power_fee_provisional is False
    assert session.cost_breakdown["power_fee"] == pytest.approx(provisional)


async def test_a_norwegian_step_tariff_through_home_assistant(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Capacity steps 0/2/5 kW at 130/190/280 a month. The first session of the month
    charges an hour at 4 kW: the month's level is 4 kW (step 2-5, 190), so the session
    costs the step difference 60 (75 with VAT) plus 4 kWh x (1.00 + 0.604) x 1.25 = 8.02.
    With one day counted, one more day's hour may reach 2 x 5 - 4 = 6 kW before step 5-10."""
    freezer.move_to(datetime(2026, 2, 10, 14, 0, tzinfo=UTC))
    wallbox_states(hass)
    entry = await setup_entry(hass, _entry(fixed_price=1.0))
    assert hass.states.get("sensor.wallbox_capacity_level") is None
    # Saved in the options: applied in place, its sensors appear.
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "capacity_steps": "0 = 130\n2 = 190\n5 = 280"}
    )
    await hass.async_block_till_done()
    assert number(hass, "sensor.wallbox_capacity_level") == 0.0
    await _charge_hour(hass, freezer, 4, 0.0)
    level = hass.states.get("sensor.wallbox_capacity_level")
    assert level is not None
    assert float(level.state) == pytest.approx(4.0)
    assert level.attributes["step_price"] == 190.0
    assert (level.attributes["step_from_kw"], level.attributes["step_to_kw"]) == (2.0, 5.0)
    assert number(hass, "sensor.wallbox_capacity_margin") == pytest.approx(6.0)
    last = hass.states.get("sensor.wallbox_last_session_cost")
    assert last is not None
    assert last.attributes["breakdown"]["power_fee"] == pytest.approx(60.0)
    assert float(last.state) == pytest.approx(75.0 + 8.02, abs=0.01)
    # The finished session says which hour set the level, in local time: its own,
    # 14:00-15:00 UTC.
    summary = hass.states.get("sensor.wallbox_last_session_energy")
    assert summary is not None
    assert summary.attributes["power_fee_hours"] == ["2026-02-10T15:00:00+01:00"]


async def test_the_flemish_capacity_tariff_through_home_assistant(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """53 a year per kW of the rolling 15-minute peak: an hour at 4 kW sets the month's peak
    at 4.0 kW (1.5 above the 2.5 kW floor): 53 x 1.5 / 12 = 6.625 (8.28 with VAT) plus the
    energy, 8.02."""
    freezer.move_to(datetime(2026, 2, 10, 14, 0, tzinfo=UTC))
    wallbox_states(hass)
    await setup_entry(hass, _entry(fixed_price=1.0, capacity_yearly_per_kw=53))
    assert number(hass, "sensor.wallbox_month_peak") == 0.0
    await _charge_hour(hass, freezer, 4, 0.0)
    peak = hass.states.get("sensor.wallbox_month_peak")
    assert peak is not None
    assert float(peak.state) == pytest.approx(4.0)
    # The only month known so far: the 12-month mean is its peak.
    assert peak.attributes["rolling_mean_kw"] == pytest.approx(4.0)
    last = hass.states.get("sensor.wallbox_last_session_cost")
    assert last is not None
    assert last.attributes["breakdown"]["power_fee"] == pytest.approx(6.625)
    assert float(last.state) == pytest.approx(6.625 * 1.25 + 8.02, abs=0.01)


async def test_without_any_price_costs_are_unknown(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    wallbox_states(hass)
    await setup_entry(hass, _entry())
    assert state_value(hass, "sensor.wallbox_price") == "unknown"
    assert state_value(hass, "sensor.wallbox_month_cost") == "unknown"
    await _charge_hour(hass, freezer, 4, 0.0)
    assert state_value(hass, "sensor.wallbox_last_session_cost") == "unknown"


async def test_hourly_settlement_uses_the_mean_of_the_quarters(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    # 17:00-17:30 local at 4 kW (2 kWh) on 1 Oct 2025. Settled per quarter:
    # 0.98052 + 1.16266 = 2.14318. Per hour at the mean of 17:00's quarters
    # (0.98052 + 1.16266 + 1.45387 + 1.95596) / 4 = 1.38825: 2 x 1.38825 = 2.77651.
    freezer.move_to(datetime(2025, 10, 1, 15, 0, tzinfo=UTC))
    hass.states.async_set(
        PRICE, "1", {"unit_of_measurement": "SEK/kWh", **_attributes(SHAPES["hacs_nordpool"][0])}
    )
    wallbox_states(hass)
    await setup_entry(
        hass,
        MockConfigEntry(
            domain=DOMAIN,
            title="Wallbox",
            data=dict(_entry().data),
            options={"price_entity": PRICE, "hourly_settlement": True},
        ),
    )
    wallbox_states(hass, plug="on", power="4000", energy="0.0")
    await hass.async_block_till_done()
    await advance(hass, freezer, 30)
    wallbox_states(hass, plug="on", power="4000", energy="2.0")
    await hass.async_block_till_done()
    assert await number_now(hass, "sensor.wallbox_session_cost") == pytest.approx(
        2.77651, abs=0.005
    )


async def test_export_carries_cost_and_breakdown(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, config_dir: Path
) -> None:
    # 4 kWh x (1.00 + 0.604) x 1.25 = 8.02: energy 4.00, grid 0.976, tax 1.44, VAT 1.604
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    wallbox_states(hass)
    entry = await setup_entry(hass, _entry(fixed_price=1.0))
    await _charge_hour(hass, freezer, 4, 0.0)
    response = await hass.services.async_call(
        DOMAIN,
        "export_sessions",
        {"config_entry_id": entry.entry_id, "path": "sessions.csv"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    target = config_dir / "ev_sessions" / "sessions.csv"
    assert response["path"] == str(target)
    rows = list(csv.DictReader(target.read_text(encoding="utf-8").splitlines()))
    assert rows[0]["cost"] == "8.02"
    assert rows[0]["currency"] == "SEK"
    assert rows[0]["energy_cost"] == "4.0"
    assert rows[0]["grid_fee"] == "0.976"
    assert rows[0]["energy_tax"] == "1.44"
    assert rows[0]["vat"] == "1.604"
    assert rows[0]["estimated"] == "False"


async def test_the_running_session_in_reports_is_priced_and_estimated(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, config_dir: Path
) -> None:
    """get_sessions, export_sessions and the cost sensor agree on the session in progress."""
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    wallbox_states(hass)
    entry = await setup_entry(hass, _entry(fixed_price=1.0))
    register = await _charge_hour(hass, freezer, 4, 0.0)  # finished: 8.02
    wallbox_states(hass, plug="on", power="4000", energy=str(register))
    await hass.async_block_till_done()
    await advance(hass, freezer, 30)
    wallbox_states(hass, plug="on", power="4000", energy=str(register + 2))
    await hass.async_block_till_done()
    live = await number_now(hass, "sensor.wallbox_session_cost")
    assert live == pytest.approx(4.01)  # 2 kWh x 1.604 x 1.25
    response = await hass.services.async_call(
        DOMAIN,
        "get_sessions",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    finished, running = response["sessions"]  # type: ignore[misc]
    assert (finished["cost"], finished["estimated"]) == (pytest.approx(8.02), False)
    assert running["end"] is None
    assert (running["cost"], running["estimated"]) == (pytest.approx(live), True)
    assert entry.runtime_data.tracker.active.cost is None  # the session itself is not touched
    await hass.services.async_call(
        DOMAIN,
        "export_sessions",
        {"config_entry_id": entry.entry_id, "path": "bill.csv", "report": "user_month"},
        blocking=True,
        return_response=True,
    )
    rows = list(csv.DictReader((config_dir / "ev_sessions" / "bill.csv").read_text().splitlines()))
    assert [(r["energy_kwh"], r["cost"], r["estimated"]) for r in rows] == [
        ("6.0", str(round(8.02 + live, 4)), "True")
    ]


def test_the_rolling_mean_keeps_twelve_months_floored() -> None:
    """Fourteen months of peaks: the mean is of the last twelve, each at least 2.5 kW."""
    costs = Costs.__new__(Costs)
    costs.tariff = tariff_from_options({"capacity_yearly_per_kw": 53})
    costs.monthly_peaks = {}
    mean = None
    for n in range(14):
        mean = costs.note_month_peak(
            f"2025-{n + 1:02d}" if n < 12 else f"2026-{n - 11:02d}", 1.0 if n % 2 else 6.0
        )
    assert len(costs.monthly_peaks) == 12
    assert mean == pytest.approx((6 * 6.0 + 6 * 2.5) / 12)
    costs.tariff = tariff_from_options({})
    assert costs.note_month_peak("2026-03", 9.0) is None
