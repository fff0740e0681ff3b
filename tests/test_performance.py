"""Doing only what changed: what a steady stream of readings costs Home Assistant.

The figures themselves come from ``benchmarks/``; these tests pin the behaviour behind them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from unittest.mock import patch
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.coordinator import snapshot_changes
from custom_components.ev_sessions.model.tariff import SessionCost, energy_sums
from custom_components.ev_sessions.time_util import month_start, next_departure, next_month_start

from .conftest import make_wallbox_entry, setup_entry, wallbox_states
from .helpers import entities_looked_at, entities_told, number, number_now

FIXTURES = Path(__file__).parent / "fixtures"


async def test_a_pushed_reading_postpones_the_tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A reading every 10 s: no 30-s poll reads the same states again in between (nor with
    any reading more often than every 15 s). Once the readings stop, the poll ticks the
    session on (its duration) every 30 s."""
    wallbox_states(hass)
    entry = await setup_entry(hass, make_wallbox_entry())
    coordinator = entry.runtime_data
    register = 1000.0
    with (
        patch.object(coordinator.source, "async_poll", wraps=coordinator.source.async_poll) as poll,
        patch.object(
            coordinator, "_schedule_refresh", wraps=coordinator._schedule_refresh
        ) as armed,
    ):
        for _ in range(18):  # three minutes of readings
            freezer.tick(timedelta(seconds=10))
            register += 11 / 360
            wallbox_states(hass, plug="on", power="11000", energy=f"{register:.4f}")
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
        assert poll.call_count == 0
        # The poll's timer is set again at every other reading, not at each.
        assert 6 <= armed.call_count <= 10
        for _ in range(10):  # a reading every 14 s (under half the poll interval): no poll
            freezer.tick(timedelta(seconds=14))
            register += 11 / 360 * 1.4
            wallbox_states(hass, plug="on", power="11000", energy=f"{register:.4f}")
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
        assert poll.call_count == 0
        assert number(hass, "sensor.wallbox_session_duration") * 60 == pytest.approx(5)
        for _ in range(4):  # then two minutes without one
            freezer.tick(timedelta(seconds=30))
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
        assert poll.call_count == 4
    assert number(hass, "sensor.wallbox_session_duration") * 60 == pytest.approx(7)


async def test_month_bounds_follow_the_clock_and_the_time_zone(hass: HomeAssistant) -> None:
    """The month's bounds are worked out once per month, but never kept across a month's
    end or a change of Home Assistant's time zone."""
    await hass.config.async_update(time_zone="Europe/Stockholm")
    late_march = datetime(2025, 3, 31, 21, 59, tzinfo=UTC)  # 23:59 CEST
    assert month_start(late_march) == datetime(2025, 3, 1, tzinfo=ZoneInfo("Europe/Stockholm"))
    assert next_month_start(late_march).isoformat() == "2025-04-01T00:00:00+02:00"
    # A minute later it is April in Stockholm (the bounds are not reused).
    assert month_start(late_march + timedelta(minutes=1)).isoformat() == (
        "2025-04-01T00:00:00+02:00"
    )
    # Still March in New York: a new zone is a new month.
    await hass.config.async_update(time_zone="America/New_York")
    assert month_start(late_march + timedelta(minutes=1)).isoformat() == (
        "2025-03-01T00:00:00-05:00"
    )
    assert next_month_start(late_march).isoformat() == "2025-04-01T00:00:00-04:00"


async def test_running_totals_settle_while_charging(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """While a session charges, the session's energy and cost, the lifetime and month's
    energy, the month's cost and the session's average price are written at most once a
    minute (each write is a row in the recorder), the power at every reading. The end of the
    session writes them at once."""
    wallbox_states(hass)
    await setup_entry(hass, make_wallbox_entry(fixed_price=2.0))
    register = 1000.0
    wallbox_states(hass, plug="on", power="11000", energy=f"{register:.4f}")
    await hass.async_block_till_done()
    writes: Counter[str] = Counter()

    @callback
    def _count(event: Event[EventStateChangedData]) -> None:
        writes[event.data["entity_id"]] += 1

    hass.bus.async_listen(EVENT_STATE_CHANGED, _count)
    with entities_looked_at() as looked_at:
        for _ in range(30):  # five minutes
            freezer.tick(timedelta(seconds=10))
            register += 11 / 360
            wallbox_states(hass, plug="on", power="11000", energy=f"{register:.4f}")
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
            # Never more than a minute and a half behind the session (11 kW: 0.28 kWh).
            charged = float(f"{register:.4f}") - 1000  # as the register's state shows it
            for total in ("session_energy", "month_energy"):
                behind = charged - number(hass, f"sensor.wallbox_{total}")
                assert -1e-9 <= behind <= 0.28, total
            behind = charged * 2.0 - number(hass, "sensor.wallbox_session_cost")
            assert -1e-9 <= behind <= 0.28 * 2.0
    # Between its writes a running total is not even worked out; one that did not change
    # (the average of one fixed price) is looked at once a minute, not at every reading. The
    # session's cost too, though its breakdown moves with it and its other attributes (the
    # estimated and provisional flags, the power fee's hours) would be written at once.
    for total in (
        "session_energy",
        "session_cost",
        "energy_total",
        "month_energy",
        "month_cost",
        "session_average_price",
    ):
        assert looked_at[f"sensor.wallbox_{total}"] <= 7, total
    assert writes["sensor.wallbox_power"] == 0  # the same 11 kW throughout
    for total in ("session_energy", "session_cost", "energy_total", "month_energy", "month_cost"):
        assert 4 <= writes[f"sensor.wallbox_{total}"] <= 6, total
    # One fixed price: the average never moved after the first reading.
    assert writes["sensor.wallbox_session_average_price"] <= 1
    assert number(hass, "sensor.wallbox_session_average_price") == pytest.approx(2.0)
    wallbox_states(hass, plug="off", power="0", energy=f"{register:.4f}")
    await hass.async_block_till_done()
    assert number(hass, "sensor.wallbox_month_energy") == pytest.approx(11 / 12, abs=0.01)
    assert number(hass, "sensor.wallbox_energy_total") == pytest.approx(11 / 12, abs=0.01)
    assert number(hass, "sensor.wallbox_month_cost") == pytest.approx(2 * 11 / 12, abs=0.02)


async def test_a_running_total_turns_over_with_the_month_at_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The month's cost waits to be written while the session charges, but not when the
    month turns over under it: the new month's snapshot writes its new last reset and the
    new month's cost at once."""
    await hass.config.async_update(time_zone="Europe/Stockholm")
    freezer.move_to(datetime(2025, 10, 31, 22, 58, 35, tzinfo=UTC))  # 23:58:35 on the 31st
    wallbox_states(hass)
    await setup_entry(hass, make_wallbox_entry(fixed_price=2.0))
    register = 1000.0
    for n in range(24):  # four minutes, across midnight
        wallbox_states(hass, plug="on", power="11000", energy=f"{register:.4f}")
        await hass.async_block_till_done()
        month_cost = hass.states.get("sensor.wallbox_month_cost")
        assert month_cost is not None
        now = dt_util.now()
        assert month_cost.attributes["last_reset"] == month_start(now).isoformat(), n
        if now.month == 11:
            assert float(month_cost.state) <= 2 * register_since(now), n
        freezer.tick(timedelta(seconds=10))
        register += 11 / 360


async def test_a_running_total_waits_only_in_its_value(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Between its writes, a snapshot for a reading that moves only the month's cost leaves
    the sensor alone (not even worked out); one that changes what its last reset reads (the
    month's start, in a snapshot for a reading that came before the month's own tick) is
    written at once."""
    await hass.config.async_update(time_zone="Europe/Stockholm")
    freezer.move_to(datetime(2025, 10, 20, 10, 0, 5, tzinfo=UTC))
    wallbox_states(hass)
    entry = await setup_entry(hass, make_wallbox_entry(fixed_price=2.0))
    register = 1000.0
    for _ in range(3):  # the session starts (its totals written), then they settle
        wallbox_states(hass, plug="on", power="11000", energy=f"{register:.4f}")
        await hass.async_block_till_done()
        freezer.tick(timedelta(seconds=10))
        register += 11 / 360
    coordinator = entry.runtime_data
    before = hass.states.get("sensor.wallbox_month_cost")
    assert before is not None
    data = coordinator.data
    assert data.reading
    assert data.month_cost is not None
    coordinator.async_set_updated_data(replace(data, month_cost=data.month_cost + 1.0))
    assert hass.states.get("sensor.wallbox_month_cost") == before  # its value waits
    november = datetime(2025, 11, 1, tzinfo=ZoneInfo("Europe/Stockholm"))
    coordinator.async_set_updated_data(replace(coordinator.data, month_start=november))
    after = hass.states.get("sensor.wallbox_month_cost")
    assert after is not None
    assert after.attributes["last_reset"] == november.isoformat()


def register_since(now: datetime) -> float:
    """The kWh charged at 11 kW since the month began (at most)."""
    return (now - month_start(now)).total_seconds() / 3600 * 11 + 11 / 360


async def test_next_departure_is_reused_only_until_it_passes(hass: HomeAssistant) -> None:
    """The next departure is worked out once, and again once it has passed, for another
    clock time, or in another time zone."""
    await hass.config.async_update(time_zone="Europe/Stockholm")
    evening = datetime(2025, 10, 25, 18, 0, tzinfo=UTC)  # 20:00 CEST, the night the clocks go back
    first = next_departure(evening, "07:00:00")
    assert first is not None
    assert first.isoformat() == "2025-10-26T06:00:00+00:00"  # 07:00 CET
    assert next_departure(evening + timedelta(hours=11), "07:00:00") == first
    assert next_departure(first - timedelta(seconds=1), "07:00:00") == first
    assert next_departure(first, "07:00:00") == datetime(2025, 10, 27, 6, 0, tzinfo=UTC)
    assert next_departure(evening, "06:30:00") == datetime(2025, 10, 26, 5, 30, tzinfo=UTC)
    await hass.config.async_update(time_zone="America/New_York")
    assert next_departure(evening, "07:00:00") == datetime(2025, 10, 26, 11, 0, tzinfo=UTC)


@pytest.mark.usefixtures("entities_enabled")
async def test_an_entity_is_looked_at_only_when_what_it_reads_changed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, stale_entities: list[str]
) -> None:
    """While a session charges steadily, a reading changes the power, the session and its
    cost: the entities showing anything else (the status, the usual power, the preferences)
    are not even looked at. A change of what they read, or of the currency, reaches them at
    once. (That none is ever left stale is checked after every snapshot of every test.)"""
    # Clear of a quarter hour's start: its tick makes a snapshot of its own (the session is
    # looked at once more then). The test ran at the real time, and failed 1 run in 9.
    freezer.move_to(datetime(2025, 10, 1, 8, 1, tzinfo=UTC))
    wallbox_states(hass)
    entry = await setup_entry(hass, make_wallbox_entry())
    register = 1000.0

    async def reading(power: str) -> None:
        nonlocal register
        freezer.tick(timedelta(seconds=10))
        register += 11 / 360
        wallbox_states(hass, plug="on", power=power, energy=f"{register:.4f}")
        await hass.async_block_till_done()

    for _ in range(3):  # the session starts and settles
        await reading("11000")
    with entities_looked_at() as looked_at, entities_told() as told:
        for n in range(10):
            await reading("11000" if n % 2 else "11050")
        # Not even told: only the entities a changed field wakes are (the power), a
        # running total (the session's energy too) once its minute has passed, and the
        # plan's yes/no when the plan is made again (once a minute, or more often when the
        # energy wanted moved), not at every reading.
        assert told["sensor.wallbox_power"] == 10
        assert 1 <= told["sensor.wallbox_session_energy"] <= 2, told
        assert 1 <= told["binary_sensor.wallbox_charge_now"] <= 3, told
        # Without prices the session's cost stays unknown: not told either.
        assert told["sensor.wallbox_session_cost"] == 0, told
        for total in ("energy_total", "month_energy"):
            assert 1 <= told[f"sensor.wallbox_{total}"] <= 2, total
        assert sum(told.values()) <= 10 * 6, told
        assert looked_at["sensor.wallbox_power"] == 10
        # A running total is written once a minute while the session charges, and between
        # its writes not even worked out (only its value can have moved on).
        for total in ("session_energy", "energy_total", "month_energy"):
            assert 1 <= looked_at[f"sensor.wallbox_{total}"] <= 2, total
        # The duration is kept to the minute: looked at when the minute turns.
        assert 1 <= looked_at["sensor.wallbox_session_duration"] <= 2
        registry = er.async_get(hass)
        for platform, key in (
            ("sensor", "status"),
            ("sensor", "usual_charging_type"),
            ("sensor", "last_session_cost"),
            ("binary_sensor", "charging"),
            ("select", "charging_mode"),
            ("number", "max_power"),
        ):
            steady = registry.async_get_entity_id(platform, DOMAIN, f"{entry.entry_id}_{key}")
            assert steady is not None, key
            assert hass.states.get(steady) is not None, steady
            assert looked_at[steady] == told[steady] == 0, steady
        assert sum(looked_at.values()) < 10 * len(entry.runtime_data._listeners) / 2
        # The car stops drawing: the status is looked at, and written.
        looked_at.clear()
        await reading("0")
        assert looked_at["sensor.wallbox_status"] == 1
        assert hass.states.get("sensor.wallbox_status").state == "suspended"
        # A new currency reaches every entity, a cost's unit with it.
        looked_at.clear()
        await hass.config.async_update(currency="NOK")
        await reading("0")
        assert looked_at["select.wallbox_charging_mode"] == 1
    assert not stale_entities


async def test_a_snapshot_field_changes_when_it_can_show_differently(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Values and frozen objects are compared by value; the session and its cost, which
    change in place, always count as changed; the last session by its mark."""
    freezer.move_to(datetime(2025, 10, 1, 8, 1, tzinfo=UTC))
    wallbox_states(hass)
    entry = await setup_entry(hass, make_wallbox_entry(fixed_price=2.0))
    register = 1000.0
    for _ in range(3):
        freezer.tick(timedelta(seconds=10))
        register += 11 / 360
        wallbox_states(hass, plug="on", power="11000", energy=f"{register:.4f}")
        await hass.async_block_till_done()
    before = entry.runtime_data.data
    assert before.session is not None
    assert before.session_cost is not None
    assert before.plan is not None
    # The same objects: only what may have changed in place.
    assert snapshot_changes(before, replace(before)) == {"session", "session_cost"}
    # Equal values in new objects are the same; a new value is a change.
    equal = replace(before, plan=replace(before.plan), power_w=float(str(before.power_w)))
    assert snapshot_changes(before, equal) == {"session", "session_cost"}
    moved = replace(before, power_w=(before.power_w or 0) + 1, status="suspended")
    assert snapshot_changes(before, moved) == {"session", "session_cost", "power_w", "status"}


async def test_the_last_session_is_looked_at_only_when_it_changed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, stale_entities: list[str]
) -> None:
    """The last session is an object that changes in place (a re-cost, a late register
    update): it counts as changed when what it shows changed, not at every reading."""
    freezer.move_to(datetime(2025, 10, 1, 8, 1, tzinfo=UTC))
    wallbox_states(hass)
    entry = await setup_entry(hass, make_wallbox_entry(fixed_price=2.0))
    register = 1000.0

    async def reading(plug: str = "on", power: str = "11000") -> None:
        nonlocal register
        freezer.tick(timedelta(seconds=10))
        register += 11 / 360 if power != "0" else 0
        wallbox_states(hass, plug=plug, power=power, energy=f"{register:.4f}")
        await hass.async_block_till_done()

    for _ in range(6):  # a first session, which ends
        await reading()
    await reading(plug="off", power="0")
    for _ in range(3):  # the next one starts and settles
        await reading()
    last = entry.runtime_data.history.last
    assert last is not None
    with entities_looked_at() as looked_at:
        for n in range(10):
            await reading("on", "11000" if n % 2 else "11050")
        assert looked_at["sensor.wallbox_last_session_energy"] == 0
        assert looked_at["sensor.wallbox_last_session_cost"] == 0
        # Re-costed in place (as when an estimated price is replaced by the real one).
        last.cost = 9.99
        await reading()
        assert looked_at["sensor.wallbox_last_session_cost"] == 1
    assert number(hass, "sensor.wallbox_last_session_cost") == pytest.approx(9.99)
    assert not stale_entities


async def test_a_reading_prices_only_the_last_interval(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The session in progress is priced at every reading: the earlier intervals' sums are
    kept, and the cost is exactly the cost worked out afresh, also after energy is spread
    back over an earlier interval (a late register update) and after new prices."""
    await hass.config.async_update(time_zone="Europe/Stockholm", currency="SEK")
    freezer.move_to(datetime(2025, 10, 1, 15, 0, tzinfo=UTC))
    prices = json.loads(
        (FIXTURES / "derived_hacs_nordpool_attributes_SE3_2025-10-01_15min.json").read_text()
    )["attributes"]
    hass.states.async_set("sensor.spot_price", "1", {"unit_of_measurement": "SEK/kWh", **prices})
    wallbox_states(hass)
    entry = await setup_entry(
        hass,
        make_wallbox_entry(
            price_entity="sensor.spot_price", grid_fee=0.244, energy_tax=0.36, vat_percent=25
        ),
    )
    coordinator = entry.runtime_data
    costs = coordinator.costs
    register = 1000.0

    def afresh() -> SessionCost | None:
        session = coordinator.tracker.active
        assert session is not None
        return costs.tariff.session_cost(session, costs.prices, ZoneInfo("Europe/Stockholm"))

    with patch("custom_components.ev_sessions.costs.energy_sums", wraps=energy_sums) as summed:
        for _ in range(200):  # 33 minutes: three intervals
            freezer.tick(timedelta(seconds=10))
            register += 11 / 360
            wallbox_states(hass, plug="on", power="11000", energy=f"{register:.4f}")
            await hass.async_block_till_done()
        session = coordinator.tracker.active
        assert session is not None
        assert len(session.intervals) == 3
        live = coordinator.data.session_cost
        assert live is not None
        assert live == afresh()
        assert await number_now(hass, "sensor.wallbox_session_cost") == pytest.approx(
            live.total, abs=0.01
        )
        # Each reading summed the last interval alone; the earlier ones only when a new
        # interval began (5 times in 200 readings: the reading across a quarter's end puts
        # energy in both).
        earlier = [call.args[0] for call in summed.call_args_list if len(call.args) == 2]
        assert len(summed.call_args_list) > 200
        assert len(earlier) <= 6
    # Energy spread back over the first interval: summed afresh, exactly.
    first = min(session.intervals)
    session.add_energy({first: 0.5})
    assert costs.session_cost(session, dt_util.utcnow()) == afresh()
    # New prices: the same.
    hass.states.async_set(
        "sensor.spot_price", "2", {"unit_of_measurement": "SEK/kWh", **prices, "current_price": 2}
    )
    await hass.async_block_till_done()
    assert costs.session_cost(session, dt_util.utcnow()) == afresh()


async def test_a_listener_is_told_until_it_stops_listening(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener that is not an entity (a card's, say) is told of every snapshot; one that
    fails is logged and keeps nobody else from being told; one that stopped is not told."""
    freezer.move_to(datetime(2025, 10, 1, 8, 1, tzinfo=UTC))
    wallbox_states(hass)
    entry = await setup_entry(hass, make_wallbox_entry())
    coordinator = entry.runtime_data
    heard: list[float | None] = []

    @callback
    def _failing() -> None:
        raise RuntimeError("a card's bug")

    stop_failing = coordinator.async_add_listener(_failing)
    stop = coordinator.async_add_listener(lambda: heard.append(coordinator.data.power_w))
    for power in ("11000", "11050"):
        freezer.tick(timedelta(seconds=10))
        wallbox_states(hass, plug="on", power=power, energy="1000.5")
        await hass.async_block_till_done()
    assert heard == [11000.0, 11050.0]
    assert caplog.text.count("Unexpected error updating listener") == 2
    assert number(hass, "sensor.wallbox_power") == 11050
    # The world changes (the options): everyone is told, past the failing one too.
    hass.config_entries.async_update_entry(entry, options={**entry.options, "max_power_kw": 7.4})
    await hass.async_block_till_done()
    assert caplog.text.count("Unexpected error updating listener") == 3
    assert heard[2:] == [11050.0]
    assert hass.states.get("number.wallbox_max_power").state == "7.4"
    stop()
    stop_failing()
    coordinator.wake_on(_failing, frozenset({"power_w"}))  # no longer listening: ignored
    freezer.tick(timedelta(seconds=10))
    wallbox_states(hass, plug="on", power="11000", energy="1000.6")
    await hass.async_block_till_done()
    assert heard == [11000.0, 11050.0, 11050.0]
    assert caplog.text.count("Unexpected error updating listener") == 3
    assert number(hass, "sensor.wallbox_power") == 11000
