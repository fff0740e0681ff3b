"""The dashboard card's data (``ev_sessions/dashboard``) and its file, through Home Assistant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.dashboard import CARD_FILE, CARD_URL, card_version
from custom_components.ev_sessions.model.session import Session

from .conftest import make_simulator_entry, make_wallbox_entry, setup_entry, wallbox_states
from .helpers import advance
from .test_load_guard import PHASES, _house, _plug_in

FIXTURES = Path(__file__).parent / "fixtures"
PRICE = "sensor.spot_price"
TODAY = json.loads(
    (FIXTURES / "derived_hacs_nordpool_attributes_SE3_2025-10-01_15min.json").read_text()
)["attributes"]


@pytest.fixture(autouse=True)
async def _stockholm(hass: HomeAssistant) -> None:
    await hass.config.async_update(time_zone="Europe/Stockholm", currency="SEK")


def _local(hhmm: str, day: int = 1) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(2025, 10, day, hour, minute, tzinfo=UTC) - timedelta(hours=2)


def _entry(**options: Any) -> MockConfigEntry:
    return make_wallbox_entry(
        **{"price_entity": PRICE, "charging_mode": "cheapest", "max_power_kw": 4, **options}
    )


async def _subscribe(client: Any, entry_id: str, **extra: Any) -> int:
    await client.send_json_auto_id({"type": f"{DOMAIN}/dashboard", "entry_id": entry_id, **extra})
    result = await client.receive_json()
    assert result["success"], result
    return int(result["id"])


async def _event(client: Any, subscription: int) -> dict[str, Any]:
    message = await client.receive_json()
    assert message["id"] == subscription
    assert message["type"] == "event"
    return message["event"]


async def _plugged_in_at_20(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_ws_client: Any, target_kwh: float
) -> dict[str, Any]:
    """The card's first update: plugged in at 20:00, leaving at 23:00, Nord Pool prices."""
    client = await hass_ws_client()  # before time moves: the token is not valid in the past
    freezer.move_to(_local("20:00"))
    hass.states.async_set(PRICE, "1", {"unit_of_measurement": "SEK/kWh", **TODAY})
    wallbox_states(hass)
    entry = await setup_entry(hass, _entry(target_energy_kwh=target_kwh, departure_time="23:00:00"))
    wallbox_states(hass, plug="on", power="0", energy="0.0")
    await hass.async_block_till_done()
    return await _event(client, await _subscribe(client, entry.entry_id))


async def test_the_card_is_sent_the_session_the_plan_and_the_prices(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_ws_client: Any
) -> None:
    data = await _plugged_in_at_20(hass, freezer, hass_ws_client, target_kwh=8)

    assert data["title"] == "Wallbox"
    assert data["currency"] == "SEK"
    assert data["status"] == "connected"
    session = data["session"]
    assert session["target_kwh"] == 8
    assert session["soc"] is None  # this wallbox has no SoC entity
    assert session["departure"] == "2025-10-01T23:00:00+02:00"
    assert session["estimated_completion"] == "2025-10-01T23:00:00+02:00"
    assert data["risks"] == []
    # The plan is the one charge_now carries: its slots, in local time.
    charge_now = hass.states.get("binary_sensor.wallbox_charge_now")
    assert charge_now is not None
    assert data["plan"]["slots"] == charge_now.attributes["slots"]
    assert len(data["plan"]["slots"]) == 8
    assert data["plan"]["cost"] == pytest.approx(7.71044, abs=0.01)
    # Every quarter of the day the price entity has, from local midnight, at the all-in price
    # the plan uses; tomorrow is not published yet and nothing is estimated past departure.
    prices = data["prices"]
    assert len(prices) == 96
    assert prices[0]["start"] == "2025-10-01T00:00:00+02:00"
    assert prices[-1]["end"] == "2025-10-02T00:00:00+02:00"
    by_start = {p["start"]: p["price"] for p in prices}
    for slot in data["plan"]["slots"]:
        assert by_start[slot["start"]] == pytest.approx(slot["price"], abs=1e-4)
    assert not any(p["estimated"] for p in prices)
    assert data["entities"]["session_energy"] == "sensor.wallbox_session_energy"
    assert data["entities"]["charge_now"] == "binary_sensor.wallbox_charge_now"


async def test_a_target_out_of_reach_says_why(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_ws_client: Any
) -> None:
    data = await _plugged_in_at_20(hass, freezer, hass_ws_client, target_kwh=30)

    # 3 h at 4 kW: 12 of the 30 kWh.
    assert data["risks"] == [{"kind": "shortfall", "shortfall_kwh": 18.0}]
    assert data["session"]["estimated_completion"] is None


async def test_updates_come_at_most_every_five_seconds_and_stop_when_unsubscribed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_ws_client: Any
) -> None:
    client = await hass_ws_client()  # before time moves: the token is not valid in the past
    freezer.move_to(_local("20:00"))
    wallbox_states(hass)
    entry = await setup_entry(hass, make_wallbox_entry(fixed_price=2.0))
    wallbox_states(hass, plug="on", power="7000", energy="0.0")
    await hass.async_block_till_done()
    subscription = await _subscribe(client, entry.entry_id, sessions=0)
    first = await _event(client, subscription)
    assert first["session"]["power_kw"] == 7.0
    assert first["sessions"] == []

    # Ten readings in 4 s: one update, 5 s after the first of them.
    for second in range(1, 11):
        freezer.move_to(_local("20:00") + timedelta(seconds=second * 0.4))
        wallbox_states(hass, plug="on", power=str(7000 + second), energy=str(second / 1000))
        await hass.async_block_till_done()
    await advance(hass, freezer, minutes=0.1, step_s=1)
    update = await _event(client, subscription)
    assert update["session"]["power_kw"] == 7.01
    assert update["session"]["energy_kwh"] == 0.01

    # An update with nothing new is not sent.
    entry.runtime_data.async_update_listeners()
    await advance(hass, freezer, minutes=0.1, step_s=1)
    # A reading, then the card goes away before its update is due: nothing is sent.
    wallbox_states(hass, plug="on", power="2000", energy="0.2")
    await hass.async_block_till_done()
    await client.send_json_auto_id({"type": "unsubscribe_events", "subscription": subscription})
    assert (await client.receive_json())["success"]
    wallbox_states(hass, plug="on", power="3000", energy="0.5")
    await advance(hass, freezer, minutes=0.5, step_s=1)
    await client.send_json_auto_id({"type": "ping"})
    assert (await client.receive_json())["type"] == "pong"  # no update came before it


async def test_last_sessions_and_this_month_per_user(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_ws_client: Any,
    hass_storage: dict[str, Any],
) -> None:
    client = await hass_ws_client()  # before time moves: the token is not valid in the past
    freezer.move_to(_local("20:00", day=20))
    entry = make_wallbox_entry(fixed_price=2.0)
    stored = []
    for day, user, kwh in ((30, "Bo", 5.0), (3, "Anna", 10.0), (5, "Bo", 4.0), (9, "Anna", 6.0)):
        month = 9 if day == 30 else 10
        start = datetime(2025, month, day, 18, 0, tzinfo=UTC)
        session = Session(id=f"s{month}-{day}", start=start, end=start + timedelta(hours=2))
        session.energy_kwh = kwh
        session.intervals = {int(start.timestamp()): kwh}  # metered in its first quarter
        session.user = user
        session.cost = kwh * 2
        stored.append(session.as_dict())
    hass_storage[f"{DOMAIN}.{entry.entry_id}.history"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{entry.entry_id}.history",
        "data": {"sessions": stored},
    }
    wallbox_states(hass)
    await setup_entry(hass, entry)
    subscription = await _subscribe(client, entry.entry_id, sessions=3)
    data = await _event(client, subscription)

    assert data["session"] is None
    assert data["risks"] == []
    assert data["plan"] is None
    # The last three, newest first.
    assert [(s["id"], s["user"], s["energy_kwh"], s["cost"]) for s in data["sessions"]] == [
        ("s10-9", "Anna", 6.0, 12.0),
        ("s10-5", "Bo", 4.0, 8.0),
        ("s10-3", "Anna", 10.0, 20.0),
    ]
    assert data["sessions"][0]["duration_h"] == 2
    assert data["sessions"][0]["start"] == "2025-10-09T20:00:00+02:00"
    # October only: September's session of Bo's is not in this month.
    assert data["month"]["users"] == [
        {"user": "Anna", "sessions": 2, "energy_kwh": 16.0, "cost": 32.0, "estimated": False},
        {"user": "Bo", "sessions": 1, "energy_kwh": 4.0, "cost": 8.0, "estimated": False},
    ]
    assert data["month"]["energy_kwh"] == 20.0


async def test_an_unknown_entry_is_an_error_and_a_reload_tells_the_card(
    hass: HomeAssistant, hass_ws_client: Any
) -> None:
    wallbox_states(hass)
    entry = await setup_entry(hass, make_wallbox_entry())
    client = await hass_ws_client()
    await client.send_json_auto_id({"type": f"{DOMAIN}/dashboard", "entry_id": "nope"})
    error = await client.receive_json()
    assert not error["success"]
    assert error["error"]["code"] == "not_found"

    subscription = await _subscribe(client, entry.entry_id)
    await _event(client, subscription)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert await _event(client, subscription) == {"gone": True}
    # The card subscribes again to the reloaded entry.
    subscription = await _subscribe(client, entry.entry_id)
    assert (await _event(client, subscription))["title"] == "Wallbox"


async def test_the_card_is_served_and_loaded_on_every_dashboard_page(
    hass: HomeAssistant, hass_client: Any
) -> None:
    assert await async_setup_component(hass, "frontend", {})
    wallbox_states(hass)
    await setup_entry(hass, make_wallbox_entry())
    client = await hass_client()
    response = await client.get(CARD_URL)
    assert response.status == 200
    assert await response.text() == CARD_FILE.read_text(encoding="utf-8")
    # The page's list of extra modules carries the card, with its digest against old caches.
    from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL

    assert f"{CARD_URL}?v={card_version()}" in hass.data[DATA_EXTRA_MODULE_URL].urls


async def test_without_a_frontend_nothing_is_served(hass: HomeAssistant, hass_client: Any) -> None:
    assert await async_setup_component(hass, "http", {})
    wallbox_states(hass)
    entry = await setup_entry(hass, make_wallbox_entry())
    assert entry.state.value == "loaded"
    assert "frontend" not in hass.config.components
    # A headless Home Assistant (HTTP, no frontend) is not sent a card it cannot show.
    assert (await (await hass_client()).get(CARD_URL)).status == 404


async def test_the_reasons_a_target_is_at_risk(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_ws_client: Any
) -> None:
    client = await hass_ws_client()  # before time moves: the token is not valid in the past
    freezer.move_to(datetime(2026, 1, 20, 17, 0, tzinfo=UTC))
    _house(hass, 2, 2, 2)
    entry = await setup_entry(
        hass,
        make_simulator_entry(
            main_fuse_a=20, phases=3, house_current_entities=PHASES, safety_margin_a=1
        ),
    )
    entry.runtime_data.source.wallbox.car_phases = 1  # a car whose charger takes one phase
    await _plug_in(hass)
    await advance(hass, freezer, 6, step_s=10)
    # 16 A on L1 from the car, and a 12 A load on L2 over the 20 A fuse.
    _house(hass, 18, 29.9, 2)
    await hass.async_block_till_done()
    subscription = await _subscribe(client, entry.entry_id)
    data = await _event(client, subscription)
    assert data["risks"] == [
        {"kind": "under_delivering", "reason": "fewer_phases"},
        {"kind": "overload"},
    ]


async def test_tomorrows_prices_estimated_until_departure_then_published(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_ws_client: Any
) -> None:
    client = await hass_ws_client()  # before time moves: the token is not valid in the past
    freezer.move_to(_local("20:00"))
    hass.states.async_set(PRICE, "1", {"unit_of_measurement": "SEK/kWh", **TODAY})
    wallbox_states(hass)
    entry = await setup_entry(
        hass, _entry(target_energy_kwh=4, departure_time="07:00:00", fixed_price=2.0)
    )
    wallbox_states(hass, plug="on", power="0", energy="0.0")
    await hass.async_block_till_done()
    subscription = await _subscribe(client, entry.entry_id)
    data = await _event(client, subscription)
    # Today's 96 quarters, then tomorrow's clock hours up to the 07:00 departure at the fixed
    # price standing in (estimated); nothing after the departure.
    prices = data["prices"]
    assert len(prices) == 96 + 7
    assert [p["estimated"] for p in prices[96:]] == [True] * 7
    assert prices[96]["start"] == "2025-10-02T00:00:00+02:00"
    assert prices[-1]["end"] == "2025-10-02T07:00:00+02:00"

    tomorrow = [
        {
            "start": (
                start := datetime(2025, 10, 1, 22, 0, tzinfo=UTC) + timedelta(minutes=15 * q)
            ).isoformat(),
            "end": (start + timedelta(minutes=15)).isoformat(),
            "value": 0.5,
        }
        for q in range(96)
    ]
    hass.states.async_set(
        PRICE, "1", {"unit_of_measurement": "SEK/kWh", **TODAY, "raw_tomorrow": tomorrow}
    )
    await advance(hass, freezer, minutes=0.1, step_s=1)
    data = await _event(client, subscription)
    # Both days, every quarter known.
    assert len(data["prices"]) == 192
    assert not any(p["estimated"] for p in data["prices"])
    assert data["prices"][-1]["end"] == "2025-10-03T00:00:00+02:00"
