"""go-eCharger source (API v2), with payloads built from the official key table (fw 60.4).

No complete real /api/status dump exists in any repository (only screenshots); the
payloads below use the documented keys, types and quirks: null ``car`` and ``nrg``
items, short ``nrg`` arrays, ``trx`` as card index + 1.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from yarl import URL

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError

from custom_components.ev_sessions.const import DOMAIN, EVENT_SESSION_ENDED
from custom_components.ev_sessions.sources.goe import status_reading

from .conftest import setup_entry
from .helpers import advance, device_of, number, restart, state_value

HOST = "192.168.0.75"
STATUS = f"http://{HOST}/api/status"
SET = f"http://{HOST}/api/set"
FILTER = "car,nrg,eto,amp,ama,frc,alw,trx,err,pnp,fsp"
HOUSE = [f"sensor.house_l{p}" for p in (1, 2, 3)]
IDLE: dict[str, Any] = {
    "car": 1,
    "nrg": [231, 230, 232, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "eto": 1_234_000,
    "amp": 16,
    "ama": 16,
    "frc": 0,
    "alw": True,
    "trx": None,
    "err": 0,
    "pnp": 3,
}


def charging(amps: float = 16, eto: float = 1_234_000, trx: int | None = 2) -> dict[str, Any]:
    watts = amps * 230
    nrg = [230, 230, 230, 0, amps, amps, amps, watts, watts, watts, 0, 3 * watts, 1, 1, 1, 1]
    return IDLE | {"car": 2, "nrg": nrg, "eto": eto, "trx": trx}


def serve(aioclient_mock: AiohttpClientMocker, status: dict[str, Any]) -> None:
    aioclient_mock.clear_requests()
    aioclient_mock.get(STATUS, params={"filter": "sse"}, json={"sse": "012345"})
    aioclient_mock.get(STATUS, params={"filter": "sse,fwv"}, json={"sse": "012345", "fwv": "60.0"})
    aioclient_mock.get(STATUS, params={"filter": FILTER}, json=status)
    aioclient_mock.get(SET, text="{}")


def _entry(**options: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="go-eCharger",
        unique_id="goe_012345",
        data={"source": "goe", "host": HOST},
        options=options,
    )


def sets(aioclient_mock: AiohttpClientMocker) -> list[str]:
    """The /api/set requests sent, as "key=value"."""
    return [
        str(url.query_string)
        for _method, url, *_ in aioclient_mock.mock_calls
        if url.path == "/api/set"
    ]


async def test_config_flow(hass: HomeAssistant, aioclient_mock: AiohttpClientMocker) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "goe"}
    )
    aioclient_mock.get(STATUS, params={"filter": "sse"}, status=404)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": HOST})
    assert result["errors"] == {"host": "cannot_connect"}
    serve(aioclient_mock, IDLE)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": HOST})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "goe_012345"
    entry = result["result"]
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["step_id"] == "goe"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": HOST})
    assert result["reason"] == "reconfigure_successful"


async def test_the_device_is_what_the_charger_says(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, aioclient_mock: AiohttpClientMocker
) -> None:
    """Serial and firmware from the charger; asked again when it comes back after an outage."""
    serve(aioclient_mock, IDLE)
    entry = await setup_entry(hass, _entry())
    device = device_of(hass, entry)
    assert (device.manufacturer, device.model, device.sw_version, device.serial_number) == (
        "go-e",
        "go-eCharger",
        "60.0",
        "012345",
    )
    assert device.configuration_url == f"http://{HOST}"
    # Away, then back with new firmware on a model whose filter lacks fwv (HTTP 400):
    # the serial alone is asked for, and the old firmware is not claimed.
    aioclient_mock.clear_requests()
    for keys in ("sse,fwv", "sse", FILTER):
        aioclient_mock.get(STATUS, params={"filter": keys}, status=500)
    await advance(hass, freezer, 1)
    assert state_value(hass, "sensor.go_echarger_power") == "unavailable"
    aioclient_mock.clear_requests()
    aioclient_mock.get(STATUS, params={"filter": "sse,fwv"}, status=400)
    aioclient_mock.get(STATUS, params={"filter": "sse"}, json={"sse": "012345"})
    aioclient_mock.get(STATUS, params={"filter": FILTER}, json=IDLE)
    await advance(hass, freezer, 1)
    assert state_value(hass, "sensor.go_echarger_power") == "0.0"
    device = device_of(hass, entry)
    assert (device.serial_number, device.sw_version) == ("012345", None)


async def test_a_session_with_an_rfid_card(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, aioclient_mock: AiohttpClientMocker
) -> None:
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    serve(aioclient_mock, IDLE)
    entry = await setup_entry(hass, _entry())
    assert state_value(hass, "sensor.go_echarger_status") == "disconnected"
    serve(aioclient_mock, IDLE | {"car": 3})
    await advance(hass, freezer, 1)
    assert state_value(hass, "sensor.go_echarger_status") == "connected"
    eto = 1_234_000.0
    for _ in range(60):
        eto += 11040 / 60
        serve(aioclient_mock, charging(eto=eto))
        await advance(hass, freezer, 1, step_s=5)
    assert state_value(hass, "sensor.go_echarger_status") == "charging"
    assert number(hass, "sensor.go_echarger_power") == pytest.approx(11040)
    assert entry.runtime_data.source.poll_interval.total_seconds() == 5
    serve(aioclient_mock, IDLE | {"car": 4, "eto": eto})
    await advance(hass, freezer, 1, step_s=5)
    assert state_value(hass, "sensor.go_echarger_status") == "suspended"
    serve(aioclient_mock, IDLE | {"eto": eto})
    await advance(hass, freezer, 1)
    assert [e.data["energy_kwh"] for e in ended] == [pytest.approx(11.04, abs=0.01)]
    assert [e.data["user"] for e in ended] == ["card 1"]


def test_quirks_give_unknowns_not_zeros() -> None:
    now = datetime(2026, 2, 10, 17, 0, tzinfo=UTC)
    # The charge controller unreachable: car null, nrg items null, a short array.
    reading = status_reading(now, {"car": None, "nrg": [None] * 12, "eto": None})
    assert (reading.connected, reading.charging, reading.power_w, reading.energy_kwh) == (
        None,
        None,
        None,
        None,
    )
    assert status_reading(now, {"car": 2, "nrg": [230, 230]}).power_w is None
    error = status_reading(now, IDLE | {"car": 5})
    assert (error.error, error.connected) == (True, None)
    assert status_reading(now, IDLE | {"err": 3}).error is True
    assert status_reading(now, charging(trx=0)).user is None  # charging without a card


async def test_load_guard_and_smart_charging_drive_the_charger(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, aioclient_mock: AiohttpClientMocker
) -> None:
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    for entity_id in HOUSE:
        hass.states.async_set(entity_id, "18", {"unit_of_measurement": "A"})
    serve(aioclient_mock, charging())
    entry = await setup_entry(
        hass, _entry(main_fuse_a=20, phases=3, house_current_entities=HOUSE, safety_margin_a=1)
    )
    source = entry.runtime_data.source
    assert (source.charger_phases, source.max_power_w) == (3, 16 * 230 * 3)
    assert source.offered_current_a() == 16
    assert source.charging_enabled() is True
    # Others take 9 A more on L2: 27 A there -> room 20 - 1 - 11 = 8 A.
    hass.states.async_set(HOUSE[1], "27", {"unit_of_measurement": "A"})
    await hass.async_block_till_done()
    assert sets(aioclient_mock) == ["amp=8"]
    # 31 A on L2: room 4 A, below 6 A: charging is forced off.
    hass.states.async_set(HOUSE[1], "31", {"unit_of_measurement": "A"})
    await hass.async_block_till_done()
    assert sets(aioclient_mock) == ["amp=8", "frc=1"]
    assert source.charging_enabled() is False
    await source.async_set_current_limit(0)
    assert sets(aioclient_mock)[-1] == "frc=1"
    await source.async_set_charging(True)
    assert (sets(aioclient_mock)[-1], source.charging_enabled()) == ("frc=2", True)
    assert source.diagnostics()["status"]["frc"] == 2


def polls(aioclient_mock: AiohttpClientMocker) -> int:
    """How many times the status was read."""
    return sum(
        1 for _method, url, *_ in aioclient_mock.mock_calls if url.query.get("filter") == FILTER
    )


async def test_a_chatty_household_meter_never_delays_a_poll(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, aioclient_mock: AiohttpClientMocker
) -> None:
    """A P1 meter every 2 s, a price and quarter ticks: the charger is still read every 5 s."""
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    house = "sensor.p1_power"
    hass.states.async_set(house, "1200", {"unit_of_measurement": "W"})
    serve(aioclient_mock, charging())
    entry = await setup_entry(hass, _entry(house_power_entity=house))
    await advance(hass, freezer, 1 / 12, step_s=5)  # the first poll sees it charging: 5 s
    before = polls(aioclient_mock)
    for second in range(1, 61):
        freezer.tick(timedelta(seconds=1))
        if second % 2 == 0:
            hass.states.async_set(house, str(1200 + second), {"unit_of_measurement": "W"})
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert polls(aioclient_mock) - before >= 11  # 60 s at one poll per 5 s
    assert entry.runtime_data.source.poll_interval.total_seconds() == 5


async def test_a_charger_that_refuses_an_optional_key_is_read_without_it(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    aioclient_mock: AiohttpClientMocker,
    hass_storage: dict[str, Any],
) -> None:
    """Firmware without ``fsp`` answers HTTP 400 to the whole filter: read without it, remember."""
    required = FILTER.removesuffix(",fsp")
    serve(aioclient_mock, IDLE)
    aioclient_mock.clear_requests()
    aioclient_mock.get(STATUS, params={"filter": "sse,fwv"}, json={"sse": "012345", "fwv": "40.0"})
    aioclient_mock.get(STATUS, params={"filter": FILTER}, status=400)
    aioclient_mock.get(STATUS, params={"filter": required}, json=charging())
    entry = await setup_entry(hass, _entry())
    assert entry.state is ConfigEntryState.LOADED
    assert number(hass, "sensor.go_echarger_power") == pytest.approx(3 * 16 * 230)
    assert hass.states.get("switch.go_echarger_charge_on_one_phase") is None
    asked = [url.query.get("filter") for _m, url, *_ in aioclient_mock.mock_calls]
    assert asked.count(FILTER) == 1
    # After a restart it is not asked for again.
    await restart(hass, entry, hass_storage)
    await advance(hass, freezer, 1, step_s=5)
    asked = [url.query.get("filter") for _m, url, *_ in aioclient_mock.mock_calls]
    assert asked.count(FILTER) == 1
    assert asked.count(required) > 3


async def test_a_one_phase_car_at_fuse_minus_margin_charges_untouched(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, aioclient_mock: AiohttpClientMocker
) -> None:
    """A car at 16 A on L1 of a three-phase go-e, 3 A of other load there, fuse 20 A, margin
    1 A: exactly at fuse - margin, it charges on untouched. (Spread over three phases, the
    car's current left 5.3 A of room: paused, resumed, limits rewritten again and again.)"""
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    status: dict[str, Any] = IDLE | {"car": 2, "amp": 16, "frc": 0}

    def drawn() -> int:
        return 0 if status["frc"] == 1 else int(status["amp"])

    def measured() -> dict[str, Any]:
        amps = drawn()
        nrg = [230, 230, 230, 0, amps, 0, 0, amps * 230, 0, 0, 0, amps * 230, 1, 0, 0, 0]
        return status | {"nrg": nrg, "pnp": 3}

    async def answer_status(method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        return AiohttpClientMockResponse(method, url, json=measured())

    async def answer_set(method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        for key, value in url.query.items():
            status[key] = json.loads(value)
        return AiohttpClientMockResponse(method, url, json=dict.fromkeys(url.query, True))

    def house() -> None:  # the car's current is on L1, with 3 A of other load there
        for phase, amps in zip(HOUSE, (3 + drawn(), 2, 2), strict=True):
            hass.states.async_set(phase, str(amps), {"unit_of_measurement": "A"})

    house()
    serve(aioclient_mock, measured())
    aioclient_mock.clear_requests()
    aioclient_mock.get(STATUS, params={"filter": "sse,fwv"}, json={"sse": "012345", "fwv": "60.0"})
    aioclient_mock.get(STATUS, params={"filter": FILTER}, side_effect=answer_status)
    aioclient_mock.get(SET, side_effect=answer_set)
    await setup_entry(
        hass, _entry(main_fuse_a=20, phases=3, house_current_entities=HOUSE, safety_margin_a=1)
    )
    for _ in range(12 * 10):  # ten minutes, the house meter following the car
        freezer.tick(timedelta(seconds=5))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        house()
        await hass.async_block_till_done()
    assert sets(aioclient_mock) == []
    assert number(hass, "sensor.go_echarger_power") == pytest.approx(16 * 230)


async def test_a_refused_command_is_logged_not_raised(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, caplog: pytest.LogCaptureFixture
) -> None:
    for entity_id in HOUSE:
        hass.states.async_set(entity_id, "18", {"unit_of_measurement": "A"})
    serve(aioclient_mock, charging())
    await setup_entry(hass, _entry(main_fuse_a=20, phases=3, house_current_entities=HOUSE))
    aioclient_mock.clear_requests()
    aioclient_mock.get(SET, status=500)
    hass.states.async_set(HOUSE[1], "27", {"unit_of_measurement": "A"})
    await hass.async_block_till_done()
    assert "Could not set the current limit" in caplog.text


async def test_single_phase_switch_on_models_that_switch_phases(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    # A charger that does what /api/set tells it (the API takes JSON values).
    status = charging() | {"fsp": False}

    async def answer_status(method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        return AiohttpClientMockResponse(method, url, json=status)

    async def answer_set(method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        for key, value in url.query.items():
            status[key] = json.loads(value)
        return AiohttpClientMockResponse(method, url, json=dict.fromkeys(url.query, True))

    serve(aioclient_mock, status)
    aioclient_mock.clear_requests()
    aioclient_mock.get(STATUS, params={"filter": "sse"}, json={"sse": "012345"})
    aioclient_mock.get(STATUS, params={"filter": "sse,fwv"}, json={"sse": "012345", "fwv": "60.0"})
    aioclient_mock.get(STATUS, params={"filter": FILTER}, side_effect=answer_status)
    aioclient_mock.get(SET, side_effect=answer_set)
    entry = await setup_entry(hass, _entry())
    switch = "switch.go_echarger_charge_on_one_phase"
    assert state_value(hass, switch) == "off"
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert sets(aioclient_mock) == ["fsp=true"]
    assert state_value(hass, switch) == "on"
    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    assert sets(aioclient_mock)[-1] == "fsp=false"
    assert state_value(hass, switch) == "off"
    # Refused: a translated error, and the switch shows what the charger still does.
    aioclient_mock.clear_requests()
    aioclient_mock.get(SET, status=500)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert err.value.translation_key == "command_unreachable"
    assert err.value.translation_placeholders["name"] == HOST
    assert str(err.value) == f"{HOST} cannot be reached; the command was not sent"
    assert entry.runtime_data.source.single_phase() is False


async def test_no_phase_switch_where_the_model_has_none(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    serve(aioclient_mock, IDLE)
    await setup_entry(hass, _entry())
    assert hass.states.get("switch.go_echarger_charge_on_one_phase") is None
