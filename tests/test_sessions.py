"""Whole sessions from a wallbox's entities, driven through Home Assistant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util.file import WriteError

from custom_components.ev_sessions.const import (
    CONF_CHARGING_STATES,
    CONF_CONNECTED_ENTITY,
    CONF_CONNECTED_STATES,
    CONF_ENERGY_ENTITY,
    CONF_ERROR_STATES,
    CONF_GRACE_PERIOD_MIN,
    CONF_POWER_ENTITY,
    CONF_SOURCE,
    DOMAIN,
    EVENT_SESSION_ENDED,
    EVENT_SESSION_STARTED,
    SOURCE_ENTITIES,
)

from .conftest import ENERGY, PLUG, POWER, setup_entry, wallbox_states
from .helpers import advance, crash, number, number_now, restart, state_value

WB = "wallbox"


def sensor(key: str) -> str:
    return f"sensor.{WB}_{key}"


@pytest.fixture(autouse=True)
def _evening(freezer: FrozenDateTimeFactory, hass: HomeAssistant) -> None:
    freezer.move_to(datetime(2026, 1, 20, 17, 0, tzinfo=UTC))


@pytest.fixture
def wb_entry(entities_entry: MockConfigEntry) -> MockConfigEntry:
    return entities_entry


async def test_whole_session(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, wb_entry: MockConfigEntry
) -> None:
    started = async_capture_events(hass, EVENT_SESSION_STARTED)
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    await setup_entry(hass, wb_entry)
    assert state_value(hass, sensor("status")) == "disconnected"
    assert state_value(hass, f"binary_sensor.{WB}_car") == "off"

    wallbox_states(hass, plug="on", energy="1000.0", soc="40")
    await hass.async_block_till_done()
    assert state_value(hass, sensor("status")) == "connected"
    assert state_value(hass, f"binary_sensor.{WB}_car") == "on"
    assert len(started) == 1

    wallbox_states(hass, plug="on", power="11000", energy="1000.0", soc="40")
    await hass.async_block_till_done()
    assert state_value(hass, sensor("status")) == "charging"
    assert state_value(hass, f"binary_sensor.{WB}_battery") == "on"
    assert number(hass, sensor("power")) == 11000
    assert number(hass, sensor("soc")) == 40

    await advance(hass, freezer, 60)
    wallbox_states(hass, plug="on", power="0", energy="1011.0", soc="58")
    await hass.async_block_till_done()
    assert state_value(hass, sensor("status")) == "suspended"
    assert number(hass, sensor("session_energy")) == pytest.approx(11.0)
    # Shown in hours (stored in seconds).
    assert number(hass, sensor("session_duration")) == pytest.approx(1.0, abs=0.02)

    await advance(hass, freezer, 30)
    # The car still says 58 % as the cable comes out (the helper's default would be 50).
    wallbox_states(hass, plug="off", power="0", energy="1011.0", soc="58")
    await hass.async_block_till_done()
    assert state_value(hass, sensor("status")) == "disconnected"
    assert number(hass, sensor("session_energy")) == 0
    assert number(hass, sensor("last_session_energy")) == pytest.approx(11.0)
    assert number(hass, sensor("energy_total")) == pytest.approx(11.0)
    assert number(hass, sensor("month_energy")) == pytest.approx(11.0)
    last = hass.states.get(sensor("last_session_energy"))
    assert last is not None
    assert last.attributes["soc_start"] == 40
    assert last.attributes["soc_end"] == 58
    assert last.attributes["peak_power_kw"] == 11.0
    assert last.attributes["charging_h"] == pytest.approx(1.0, abs=0.01)
    assert len(ended) == 1
    data: dict[str, Any] = ended[0].data
    assert data["entry_id"] == wb_entry.entry_id
    assert data["energy_kwh"] == pytest.approx(11.0)
    assert data["currency"] == hass.config.currency
    assert data["session_id"] == started[0].data["session_id"]


async def _plug_in_and_charge(hass: HomeAssistant, energy: str = "1000.0") -> None:
    wallbox_states(hass, plug="on", power="7000", energy=energy)
    await hass.async_block_till_done()


async def test_power_sensor_unavailable_mid_session(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, wb_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, wb_entry)
    await _plug_in_and_charge(hass)
    await advance(hass, freezer, 30)
    wallbox_states(hass, plug="unavailable", power="unavailable", energy="unavailable")
    await hass.async_block_till_done()
    assert state_value(hass, sensor("power")) == "unknown"
    assert state_value(hass, f"binary_sensor.{WB}_car") == "on"
    await advance(hass, freezer, 30)
    wallbox_states(hass, plug="on", power="7000", energy="1007.0")
    await hass.async_block_till_done()
    assert await number_now(hass, sensor("session_energy")) == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        # A charger reboot: the register restarts at zero.
        (["1003.5", "0.0", "1.5"], 3.5 + 1.5),
        # A zero glitch (Wallbox Pulsar): back to where it was.
        (["1003.5", "0.0", "1005.0"], 5.0),
        # A spike just above 2^32 Wh (Zaptec Go 2), then normal again.
        (["1003.5", "4296944.685", "1005.0"], 5.0),
    ],
)
async def test_register_reset_and_glitches_mid_session(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    wb_entry: MockConfigEntry,
    readings: list[str],
    expected: float,
) -> None:
    await setup_entry(hass, wb_entry)
    await _plug_in_and_charge(hass)
    for value in readings:
        await advance(hass, freezer, 15)
        wallbox_states(hass, plug="on", power="7000", energy=value)
        await hass.async_block_till_done()
    assert await number_now(hass, sensor("session_energy")) == pytest.approx(expected)
    assert number(hass, sensor("energy_total")) == pytest.approx(expected)


async def test_reload_mid_session_keeps_energy_exact(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, wb_entry: MockConfigEntry
) -> None:
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    await setup_entry(hass, wb_entry)
    await _plug_in_and_charge(hass)
    await advance(hass, freezer, 30)
    wallbox_states(hass, plug="on", power="7000", energy="1003.5")
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(wb_entry.entry_id)
    await hass.async_block_till_done()
    assert number(hass, sensor("session_energy")) == pytest.approx(3.5)
    await advance(hass, freezer, 30)
    wallbox_states(hass, plug="off", power="0", energy="1007.0")
    await hass.async_block_till_done()
    assert [e.data["energy_kwh"] for e in ended] == [pytest.approx(7.0)]


async def test_a_kill_right_after_plug_in_loses_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    wb_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Killed 20 s after plug-in (before any throttled save): the session and its start
    register were written at once, so the energy charged while down lands in it."""
    started = async_capture_events(hass, EVENT_SESSION_STARTED)
    await setup_entry(hass, wb_entry)
    wallbox_states(hass, plug="on", power="11000", energy="1000.0")
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=20))
    wallbox_states(hass, plug="on", power="11000", energy="1000.06")
    await hass.async_block_till_done()
    await crash(
        hass,
        wb_entry,
        hass_storage,
        downtime=timedelta(minutes=10),
        freezer=freezer,
        while_down=lambda: wallbox_states(hass, plug="on", power="11000", energy="1001.9"),
    )
    session = wb_entry.runtime_data.tracker.active
    assert session is not None
    assert session.energy_kwh == pytest.approx(1.9)
    assert session.id == started[0].data["session_id"]
    assert len(started) == 1


async def test_a_failed_history_write_is_retried_until_the_disk_takes_it(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    wb_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Disk full when the session ends: a repair issue, retries; the disk recovers, the
    history is written, the issue goes; a kill later loses nothing."""
    await setup_entry(hass, wb_entry)
    history_key = f"ev_sessions.{wb_entry.entry_id}.history"
    mocked = Store._async_write_data  # the test harness's in-memory disk
    disk_full = True

    async def write(store: Store[Any], *args: Any) -> None:
        if disk_full:
            raise WriteError("No space left on device")
        await mocked(store, *args)

    with patch.object(Store, "_async_write_data", new=write):
        await _plug_in_and_charge(hass)
        await advance(hass, freezer, 90)
        wallbox_states(hass, plug="off", power="0", energy="1011.0")
        await hass.async_block_till_done()
        await advance(hass, freezer, 1 / 6, step_s=5)
        issue_id = f"storage_write_failed_{wb_entry.entry_id}"
        issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
        assert issue is not None
        assert issue.translation_placeholders == {"title": wb_entry.title}
        assert history_key not in hass_storage
        await advance(hass, freezer, 5)  # retries back off; still full
        assert history_key not in hass_storage
        disk_full = False
        await advance(hass, freezer, 6)  # the next retry (at most 5 minutes later) writes
        assert [s["energy_kwh"] for s in hass_storage[history_key]["data"]["sessions"]] == [
            pytest.approx(11.0)
        ]
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    await crash(hass, wb_entry, hass_storage)
    assert [s.energy_kwh for s in wb_entry.runtime_data.history.sessions] == [pytest.approx(11.0)]


async def test_a_register_away_at_the_unplug_is_credited_when_it_comes_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, wb_entry: MockConfigEntry
) -> None:
    """The wallbox's energy entity is unavailable while the car leaves; 40 min later it is
    back 7 kWh higher: the session and the lifetime total get them."""
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    await setup_entry(hass, wb_entry)
    await _plug_in_and_charge(hass)
    await advance(hass, freezer, 30)
    wallbox_states(hass, plug="on", power="7000", energy="unavailable")
    await hass.async_block_till_done()
    await advance(hass, freezer, 30)
    wallbox_states(hass, plug="off", power="0", energy="unavailable")
    await hass.async_block_till_done()
    assert [e.data["energy_kwh"] for e in ended] == [pytest.approx(0.0)]
    await advance(hass, freezer, 40)
    wallbox_states(hass, plug="off", power="0", energy="1007.0")
    await hass.async_block_till_done()
    last = wb_entry.runtime_data.history.last
    assert last is not None
    assert last.energy_kwh == pytest.approx(7.0)
    assert number(hass, sensor("last_session_energy")) == pytest.approx(7.0)
    assert number(hass, sensor("energy_total")) == pytest.approx(7.0)


async def test_restart_mid_session_counts_downtime_energy_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    wb_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    started = async_capture_events(hass, EVENT_SESSION_STARTED)
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    await setup_entry(hass, wb_entry)
    await _plug_in_and_charge(hass)
    await advance(hass, freezer, 20)
    wallbox_states(hass, plug="on", power="7000", energy="1002.0")
    await hass.async_block_till_done()
    await restart(hass, wb_entry, hass_storage, downtime=timedelta(minutes=17), freezer=freezer)
    # The wallbox kept charging while Home Assistant was down.
    wallbox_states(hass, plug="on", power="7000", energy="1004.0")
    await hass.async_block_till_done()
    assert number(hass, sensor("session_energy")) == pytest.approx(4.0)
    await restart(hass, wb_entry, hass_storage)
    await advance(hass, freezer, 20)
    wallbox_states(hass, plug="off", power="0", energy="1006.0")
    await hass.async_block_till_done()
    assert len(started) == 1
    assert [e.data["energy_kwh"] for e in ended] == [pytest.approx(6.0)]
    assert number(hass, sensor("energy_total")) == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("power_unit", "power", "energy_unit", "start", "end"),
    [
        ("W", "7400", "Wh", "500000", "507400"),
        ("kW", "7.4", "kWh", "500.0", "507.4"),
        ("kW", "7.4", "MWh", "0.5", "0.5074"),
    ],
)
async def test_units(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    wb_entry: MockConfigEntry,
    power_unit: str,
    power: str,
    energy_unit: str,
    start: str,
    end: str,
) -> None:
    await setup_entry(hass, wb_entry)
    wallbox_states(
        hass, plug="on", power=power, power_unit=power_unit, energy=start, energy_unit=energy_unit
    )
    await hass.async_block_till_done()
    assert number(hass, sensor("power")) == pytest.approx(7400)
    await advance(hass, freezer, 60)
    wallbox_states(
        hass, plug="on", power=power, power_unit=power_unit, energy=end, energy_unit=energy_unit
    )
    await hass.async_block_till_done()
    assert await number_now(hass, sensor("session_energy")) == pytest.approx(7.4)


async def test_nonsense_readings_are_ignored(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, wb_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, wb_entry)
    await _plug_in_and_charge(hass)
    for power, energy, soc in (
        ("banana", "-5", "250"),
        ("5e9", "nan", "x"),
        ("7000", "1001.0", "55"),
    ):
        await advance(hass, freezer, 5)
        wallbox_states(hass, plug="on", power=power, energy=energy, soc=soc)
        await hass.async_block_till_done()
    assert await number_now(hass, sensor("session_energy")) == pytest.approx(1.0)
    assert number(hass, sensor("soc")) == 55


async def test_session_across_midnight_and_month_end(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, wb_entry: MockConfigEntry
) -> None:
    await hass.config.async_update(time_zone="Europe/Stockholm")
    # 21:00 local on 31 January.
    freezer.move_to(datetime(2026, 1, 31, 20, 0, tzinfo=UTC))
    await setup_entry(hass, wb_entry)
    await _plug_in_and_charge(hass, energy="0.0")
    # Six hours at 4 kW; the register is read every hour.
    for hour in range(1, 7):
        await advance(hass, freezer, 60, step_s=600)
        wallbox_states(hass, plug="on", power="4000", energy=f"{4.0 * hour}")
        await hass.async_block_till_done()
    assert await number_now(hass, sensor("session_energy")) == pytest.approx(24.0)
    # Three of the six hours are in February (local time).
    month = hass.states.get(sensor("month_energy"))
    assert month is not None
    assert float(month.state) == pytest.approx(12.0)
    # Only energy_total is offered to the Energy dashboard: month and session energy have no
    # state class (they would count the same kWh twice).
    assert "state_class" not in month.attributes
    session_energy = hass.states.get(sensor("session_energy"))
    assert session_energy is not None
    assert "state_class" not in session_energy.attributes
    total = hass.states.get(sensor("energy_total"))
    assert total is not None
    assert total.attributes["state_class"] == "total_increasing"
    wallbox_states(hass, plug="off", power="0", energy="24.0")
    await hass.async_block_till_done()
    assert number(hass, sensor("last_session_energy")) == pytest.approx(24.0)
    assert number(hass, sensor("month_energy")) == pytest.approx(12.0)


async def test_status_sensor_mapping(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    status = "sensor.easee_status"
    hass.states.async_set(POWER, "0", {"unit_of_measurement": "W"})
    hass.states.async_set(status, "disconnected")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Easee",
        data={
            CONF_SOURCE: SOURCE_ENTITIES,
            CONF_POWER_ENTITY: POWER,
            CONF_CONNECTED_ENTITY: status,
            CONF_CONNECTED_STATES: ["awaiting_start", "completed"],
            CONF_CHARGING_STATES: ["charging"],
            CONF_ERROR_STATES: ["error"],
        },
    )
    await setup_entry(hass, entry)
    assert state_value(hass, "sensor.easee_status_2") == "disconnected"
    hass.states.async_set(status, "awaiting_start")
    await hass.async_block_till_done()
    assert state_value(hass, "sensor.easee_status_2") == "connected"
    hass.states.async_set(status, "charging")
    hass.states.async_set(POWER, "3680", {"unit_of_measurement": "W"})
    await hass.async_block_till_done()
    assert state_value(hass, "sensor.easee_status_2") == "charging"
    await advance(hass, freezer, 30)
    hass.states.async_set(status, "error")
    await hass.async_block_till_done()
    assert state_value(hass, "sensor.easee_status_2") == "error"
    hass.states.async_set(status, "completed")
    hass.states.async_set(POWER, "0", {"unit_of_measurement": "W"})
    await hass.async_block_till_done()
    assert state_value(hass, "sensor.easee_status_2") == "suspended"
    assert number(hass, "sensor.easee_session_energy") == pytest.approx(3.68 / 2, rel=1e-3)
    hass.states.async_set(status, "disconnected")
    await hass.async_block_till_done()
    assert state_value(hass, "sensor.easee_status_2") == "disconnected"
    assert number(hass, "sensor.easee_last_session_energy") == pytest.approx(1.84, rel=1e-3)


async def test_power_only_wallbox(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Only a power sensor: sessions from power with a grace period, energy integrated."""
    ended: list[Event] = async_capture_events(hass, EVENT_SESSION_ENDED)
    hass.states.async_set(POWER, "0", {"unit_of_measurement": "kW"})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Garage",
        data={CONF_SOURCE: SOURCE_ENTITIES, CONF_POWER_ENTITY: POWER},
        options={CONF_GRACE_PERIOD_MIN: 5},
    )
    await setup_entry(hass, entry)
    assert hass.states.get("binary_sensor.garage_car") is None
    hass.states.async_set(POWER, "3.6", {"unit_of_measurement": "kW"})
    await hass.async_block_till_done()
    assert state_value(hass, "sensor.garage_status") == "charging"
    await advance(hass, freezer, 60)
    hass.states.async_set(POWER, "0", {"unit_of_measurement": "kW"})
    await hass.async_block_till_done()
    await advance(hass, freezer, 2)
    assert state_value(hass, "sensor.garage_status") == "suspended"
    hass.states.async_set(POWER, "3.6", {"unit_of_measurement": "kW"})
    await hass.async_block_till_done()
    await advance(hass, freezer, 30)
    hass.states.async_set(POWER, "0", {"unit_of_measurement": "kW"})
    await hass.async_block_till_done()
    await advance(hass, freezer, 6)
    assert state_value(hass, "sensor.garage_status") == "disconnected"
    assert len(ended) == 1
    assert ended[0].data["energy_kwh"] == pytest.approx(3.6 * 1.5, rel=1e-3)


async def test_energy_entity_is_not_required_for_entities_source_registers(
    hass: HomeAssistant, wb_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, wb_entry)
    assert wb_entry.data[CONF_ENERGY_ENTITY] == ENERGY
    assert wb_entry.data[CONF_CONNECTED_ENTITY] == PLUG


async def test_register_that_updates_just_after_the_unplug(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, wb_entry: MockConfigEntry
) -> None:
    """Some wallboxes update the register only when the session ends (lbbrhzn/ocpp#1707)."""
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    await setup_entry(hass, wb_entry)
    await _plug_in_and_charge(hass)
    await advance(hass, freezer, 60)
    wallbox_states(hass, plug="off", power="0", energy="1000.0")
    await hass.async_block_till_done()
    assert ended[0].data["energy_kwh"] == 0
    await advance(hass, freezer, 0.5)
    wallbox_states(hass, plug="off", power="0", energy="1007.0")
    await hass.async_block_till_done()
    assert number(hass, sensor("last_session_energy")) == pytest.approx(7.0)
    assert number(hass, sensor("energy_total")) == pytest.approx(7.0)
    coordinator = wb_entry.runtime_data
    assert len(coordinator.history) == 1


async def test_crash_between_the_two_writes_does_not_duplicate_a_session(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    wb_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """History saved with the ended session, tracker state still from before the unplug."""
    await setup_entry(hass, wb_entry)
    await _plug_in_and_charge(hass)
    await advance(hass, freezer, 30)
    hass.bus.async_fire("homeassistant_final_write")
    await hass.async_block_till_done()
    state_before_unplug = dict(hass_storage[f"{DOMAIN}.{wb_entry.entry_id}.state"])
    wallbox_states(hass, plug="off", power="0", energy="1003.5")
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(wb_entry.entry_id)
    hass_storage[f"{DOMAIN}.{wb_entry.entry_id}.state"] = state_before_unplug
    assert await hass.config_entries.async_setup(wb_entry.entry_id)
    await hass.async_block_till_done()
    assert wb_entry.runtime_data.tracker.active is None
    assert state_value(hass, sensor("status")) == "disconnected"
    assert len(wb_entry.runtime_data.history) == 1


async def test_negative_power_reads_as_zero(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, wb_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, wb_entry)
    wallbox_states(hass, plug="on", power="-12", energy="1000.0")
    await hass.async_block_till_done()
    assert number(hass, sensor("power")) == 0
    assert state_value(hass, sensor("status")) == "connected"


GOOD = {
    "id": "20260301T180000-1",
    "start": "2026-03-01T18:00:00+00:00",
    "end": "2026-03-01T19:00:00+00:00",
    "energy_kwh": 5.0,
}


def _stored(key: str, data: Any) -> dict[str, Any]:
    return {"version": 1, "minor_version": 1, "key": key, "data": data}


@pytest.mark.parametrize(
    ("history", "state", "kept", "lost", "total"),
    [
        # The shapes seen after partial writes and hand edits.
        ({}, None, [], 0, None),
        ({"sessions": [GOOD, {"id": "no-start", "energy_kwh": 3.0}]}, None, [5.0], 1, None),
        (
            {"sessions": [GOOD | {"energy_kwh": None, "periods": "?", "phases": "three"}]},
            None,
            [0.0],
            0,
            None,
        ),
        ({"sessions": [GOOD]}, [], [5.0], 0, 5.0),
        (
            {"sessions": [GOOD]},
            {"tracker": {"energy_total_kwh": None, "active": {"id": "x"}}, "prices": 7},
            [5.0],
            0,
            5.0,
        ),
        (
            {"sessions": [GOOD]},
            {"tracker": {"energy_total_kwh": 9.0}, "house": "?", "guard": [1], "source": 3},
            [5.0],
            0,
            9.0,
        ),
    ],
)
async def test_damaged_storage_never_keeps_the_wallbox_from_starting(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    config_dir: Path,
    wb_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    history: Any,
    state: Any,
    kept: list[float],
    lost: int,
    total: float | None,
) -> None:
    """Kept field by field where possible, else set aside in a .corrupt file, with an issue."""
    history_key = f"ev_sessions.{wb_entry.entry_id}.history"
    state_key = f"ev_sessions.{wb_entry.entry_id}.state"
    hass_storage[history_key] = _stored(history_key, history)
    if state is not None:
        hass_storage[state_key] = _stored(state_key, state)
    await setup_entry(hass, wb_entry)
    assert wb_entry.state is ConfigEntryState.LOADED
    runtime = wb_entry.runtime_data
    assert [s.energy_kwh for s in runtime.history.sessions] == kept
    if total is not None:
        assert runtime.tracker.energy_total_kwh == pytest.approx(total)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"storage_damaged_{wb_entry.entry_id}")
    set_aside = sorted((config_dir / ".storage").glob("*.corrupt.*"))
    if lost or history == {} or state == []:
        assert issue is not None
        assert issue.translation_placeholders["lost"] == str(lost)
        assert [path.name.split(".corrupt")[0] for path in set_aside]
        assert str(set_aside[0]) == issue.translation_placeholders["path"]
    else:
        assert issue is None
        assert set_aside == []
    # It works as before: a session is measured and kept.
    await _plug_in_and_charge(hass)
    await advance(hass, freezer, 10)
    wallbox_states(hass, plug="off", power="0", energy="1001.0")
    await hass.async_block_till_done()
    energies = sorted(s.energy_kwh for s in runtime.history.sessions)
    assert energies == pytest.approx(sorted([*kept, 1.0]))


async def test_a_quiet_entity_set_by_default(
    hass: HomeAssistant, entities_entry: MockConfigEntry
) -> None:
    """Habit and plan details, available power and the charging type are there but disabled;
    yes/no sensors read naturally ("Car: Plugged in", "Battery: Charging")."""
    await setup_entry(hass, entities_entry)
    registry = er.async_get(hass)
    disabled = {
        entry.translation_key
        for entry in er.async_entries_for_config_entry(registry, entities_entry.entry_id)
        if entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    }
    assert disabled == {
        "plan_end",
        "plan_energy",
        "usual_charging_type",
        "usual_plug_in",
        "usual_unplug",
        "typical_session_energy",
    }
    car = hass.states.get("binary_sensor.wallbox_car")
    assert car is not None
    assert (car.name, car.attributes["device_class"]) == ("Wallbox Car", "plug")
    battery = hass.states.get("binary_sensor.wallbox_battery")
    assert battery is not None
    assert battery.attributes["device_class"] == "battery_charging"
    target = hass.states.get("binary_sensor.wallbox_departure_target")
    assert target is not None
    assert target.attributes["device_class"] == "problem"
