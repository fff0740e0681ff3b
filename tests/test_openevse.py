"""OpenEVSE source, against the device payloads recorded by python-openevse-http."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import ip_address
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    SOURCE_ZEROCONF,
    ConfigEntryState,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from custom_components.ev_sessions.const import DOMAIN, EVENT_SESSION_ENDED
from custom_components.ev_sessions.diagnostics import async_get_config_entry_diagnostics
from custom_components.ev_sessions.sources.openevse import status_reading

from .conftest import setup_entry
from .helpers import advance, device_of, logged, number, setups_counted, state_value

FIXTURES = Path(__file__).parent / "fixtures" / "openevse"
HOST = "192.168.21.19"
SERIAL = "9C9C1FE57B2C"
CLAIM = f"http://{HOST}/claims/65540"
HOUSE = "sensor.house_l1"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


CONFIG = fixture("v4_json_config-new")
STATUS = fixture("v4_json_status-new")  # firmware 5.1.2: power in W, total_energy in kWh
IDLE = STATUS | {"state": 1, "vehicle": 0, "power": 0, "amp": 0}
PLUGGED = STATUS | {"state": 2, "vehicle": 1, "power": 0, "amp": 0}


def charging(total_kwh: float, amps: float = 32, pilot: int = 32) -> dict[str, Any]:
    return STATUS | {
        "state": 3,
        "vehicle": 1,
        "amp": amps * 1000,
        "voltage": 230,
        "power": amps * 230,
        "pilot": pilot,
        "max_current": 32,
        "total_energy": total_kwh,
    }


def serve(
    aioclient_mock: AiohttpClientMocker,
    status: dict[str, Any] | None = None,
    *,
    host: str = HOST,
    config: dict[str, Any] | None = None,
) -> None:
    """Answer the OpenEVSE's endpoints (replacing earlier answers)."""
    aioclient_mock.clear_requests()
    aioclient_mock.get(f"http://{host}/config", json=config or CONFIG)
    aioclient_mock.get(f"http://{host}/status", json=status or IDLE)
    aioclient_mock.post(f"http://{host}/claims/65540", json={"msg": "done"})


def refuse(aioclient_mock: AiohttpClientMocker, host: str = HOST) -> None:
    """The OpenEVSE wants a login it is not given."""
    aioclient_mock.clear_requests()
    for path in ("config", "status"):
        aioclient_mock.get(f"http://{host}/{path}", status=401)


@pytest.fixture
def auths(aioclient_mock: AiohttpClientMocker, monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The Authorization header each request carried (the mocker does not record them)."""
    seen: list[str | None] = []
    original = aioclient_mock.match_request

    async def spy(method: str, url: str, **kwargs: Any) -> Any:
        assert kwargs.get("auth") is None  # deprecated in aiohttp 3.13, gone in 4
        seen.append((kwargs.get("headers") or {}).get("Authorization"))
        return await original(method, url, **kwargs)

    monkeypatch.setattr(aioclient_mock, "match_request", spy)
    return seen


def claims(aioclient_mock: AiohttpClientMocker) -> list[Any]:
    """The claims posted, in order."""
    return [
        data for method, url, data, _ in aioclient_mock.mock_calls if url.path == "/claims/65540"
    ]


def _entry(**data: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="OpenEVSE",
        unique_id=f"openevse_{SERIAL}",
        data={"source": "openevse", "host": HOST} | data,
    )


async def _menu(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "openevse"}
    )
    assert result["step_id"] == "openevse"
    return str(result["flow_id"])


async def test_config_flow_with_a_login(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, auths: list
) -> None:
    flow_id = await _menu(hass)
    aioclient_mock.get(f"http://{HOST}/config", exc=aiohttp.ClientError())
    result = await hass.config_entries.flow.async_configure(flow_id, {"host": HOST})
    assert result["errors"] == {"host": "cannot_connect"}
    refuse(aioclient_mock)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"host": HOST, "username": "admin", "password": "wrong"}
    )
    assert result["errors"] == {"password": "invalid_auth"}
    serve(aioclient_mock)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"host": HOST, "username": "admin", "password": "secret"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == f"openevse_{SERIAL}"
    assert result["data"] == {
        "source": "openevse",
        "host": HOST,
        "username": "admin",
        "password": "secret",
    }
    await hass.async_block_till_done()
    # Every request after the set-up carries the login, the polls of /status too.
    assert auths[-1] == "Basic YWRtaW46c2VjcmV0"  # admin:secret
    assert [str(url.path) for _, url, _, _ in aioclient_mock.mock_calls][-1] == "/status"


async def test_config_flow_without_a_login_and_old_firmware(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, auths: list
) -> None:
    # Firmware 2.9 has no wifi_serial: no unique id (never the address), one entry per address.
    old = fixture("v2_json_config")
    flow_id = await _menu(hass)
    serve(aioclient_mock, fixture("v2_json_status"), config=old)
    result = await hass.config_entries.flow.async_configure(flow_id, {"host": HOST})
    assert result["data"] == {"source": "openevse", "host": HOST}
    entry = result["result"]
    assert entry.unique_id is None
    flow_id = await _menu(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {"host": HOST})
    assert result["reason"] == "already_configured"
    assert auths[0] is None
    await hass.async_block_till_done()
    # It moves; reconfigure follows it.
    new = "192.168.21.44"
    serve(aioclient_mock, fixture("v2_json_status"), host=new, config=old)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["step_id"] == "openevse"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": new})
    assert result["reason"] == "reconfigure_successful"
    assert (entry.data["host"], entry.unique_id) == (new, None)
    # Something that is not an OpenEVSE answers JSON at /config.
    flow_id = await _menu(hass)
    aioclient_mock.get("http://192.168.21.50/config", json={"hello": "world"})
    result = await hass.config_entries.flow.async_configure(flow_id, {"host": "192.168.21.50"})
    assert result["errors"] == {"host": "cannot_connect"}


async def test_a_session(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, aioclient_mock: AiohttpClientMocker
) -> None:
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    serve(aioclient_mock, IDLE)
    entry = await setup_entry(hass, _entry())
    assert state_value(hass, "sensor.openevse_status") == "disconnected"
    serve(aioclient_mock, PLUGGED)
    await advance(hass, freezer, 1)
    assert state_value(hass, "sensor.openevse_status") == "connected"
    total = STATUS["total_energy"]
    for _ in range(60):
        total += 7.36 / 60
        serve(aioclient_mock, charging(total) | {"vehicle_soc": 40})
        await advance(hass, freezer, 1, step_s=5)
    assert state_value(hass, "sensor.openevse_status") == "charging"
    assert number(hass, "sensor.openevse_power") == pytest.approx(7360)
    assert entry.runtime_data.source.poll_interval.total_seconds() == 5
    # Full: the OpenEVSE goes to sleep with the car still plugged in (254, vehicle 1).
    serve(aioclient_mock, PLUGGED | {"state": 254, "total_energy": total})
    await advance(hass, freezer, 2)
    assert state_value(hass, "sensor.openevse_status") == "suspended"
    assert entry.runtime_data.source.poll_interval.total_seconds() == 30
    serve(aioclient_mock, IDLE | {"total_energy": total})
    await advance(hass, freezer, 1)
    assert [e.data["energy_kwh"] for e in ended] == [pytest.approx(7.36, abs=0.01)]
    last = entry.runtime_data.history.last
    assert last is not None
    assert last.soc_end == 40  # the car's level, when the OpenEVSE knows it
    # The device is what /config says: gateway version and serial, controller firmware.
    device = device_of(hass, entry)
    assert device is not None
    assert (device.manufacturer, device.sw_version, device.hw_version, device.serial_number) == (
        "OpenEVSE",
        "v5.1.2",
        "EVSE controller 7.1.3",
        SERIAL,
    )
    # Diagnostics keep the status but not the box's addresses.
    diagnostics = json.dumps(await async_get_config_entry_diagnostics(hass, entry))
    for identifier in (HOST, STATUS["ipaddress"], STATUS["macaddress"]):
        assert identifier not in diagnostics
    assert '"total_energy"' in diagnostics


async def test_an_outage_keeps_the_session(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    aioclient_mock: AiohttpClientMocker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    start = 1000.0
    serve(aioclient_mock, charging(start))
    await setup_entry(hass, _entry())
    serve(aioclient_mock, charging(start + 1))
    await advance(hass, freezer, 5, step_s=5)
    for failure in ({"status": 500}, {"exc": TimeoutError()}):
        aioclient_mock.clear_requests()
        aioclient_mock.get(f"http://{HOST}/status", **failure)
        await advance(hass, freezer, 5, step_s=5)
        assert state_value(hass, "sensor.openevse_power") == "unavailable"
    assert logged(caplog, "Error fetching", logging.ERROR) == 1
    # Back, with what it charged meanwhile; then unplugged.
    serve(aioclient_mock, charging(start + 3))
    await advance(hass, freezer, 1, step_s=5)
    assert state_value(hass, "sensor.openevse_status") == "charging"
    serve(aioclient_mock, IDLE | {"total_energy": start + 3})
    await advance(hass, freezer, 1)
    assert [e.data["energy_kwh"] for e in ended] == [pytest.approx(3)]


def test_units_and_quirks_of_each_firmware() -> None:
    now = datetime(2026, 2, 10, 17, 0, tzinfo=UTC)
    # 4.x before 4.2.2: no power; amp in A here, voltage in V; plugged in while sleeping.
    reading = status_reading(now, fixture("v4_json_status"))
    assert reading.power_w == pytest.approx(32.2 * 240)
    assert (reading.connected, reading.charging, reading.soc) == (True, False, 75)
    assert reading.energy_kwh == pytest.approx(64.582)  # watthour, in Wh
    # 2.x: amp in mA, no vehicle flag (the state says it), lifetime in Wh.
    old = status_reading(now, fixture("v2_json_status") | {"amp": 16000, "state": 3})
    assert (old.power_w, old.connected, old.charging) == (3840, True, True)
    assert status_reading(now, fixture("v2_json_status")).connected is False
    # Neither amp nor voltage: power unknown, never zero.
    broken = status_reading(now, fixture("v4_json_status-broken"))
    assert (broken.power_w, broken.connected) == (None, True)
    # The websocket's and 5.x's names: total_energy in kWh wins over wh.
    assert status_reading(now, fixture("websocket")).energy_kwh == pytest.approx(7875.444)
    assert status_reading(now, {"wh": 12_500}).energy_kwh == pytest.approx(12.5)
    # Faults (GFCI, no ground, stuck relay...) are errors; no state at all is unknown.
    assert status_reading(now, STATUS | {"state": 6}).error is True
    empty = status_reading(now, {})
    assert (empty.connected, empty.charging, empty.energy_kwh, empty.soc) == (
        None,
        None,
        None,
        None,
    )
    assert status_reading(now, STATUS | {"vehicle_soc": 0}).soc is None  # 0 = not known


async def test_load_guard_and_smart_charging_post_one_claim(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    hass.states.async_set(HOUSE, "18", {"unit_of_measurement": "A"})
    # A 16 A OpenEVSE (its hard maximum), charging at 16 A.
    serve(aioclient_mock, charging(1000, amps=16, pilot=16) | {"max_current": 16})
    entry = await setup_entry(
        hass,
        MockConfigEntry(
            domain=DOMAIN,
            title="OpenEVSE",
            unique_id=f"openevse_{SERIAL}",
            data={"source": "openevse", "host": HOST},
            options={
                "main_fuse_a": 20,
                "phases": 1,
                "house_current_entities": [HOUSE],
                "safety_margin_a": 1,
            },
        ),
    )
    source = entry.runtime_data.source
    assert (source.offered_current_a(), source.charging_enabled()) == (16, True)
    assert source.max_power_w == 16 * 230
    # Others take 9 A more: room 20 - 1 - 11 = 8 A.
    hass.states.async_set(HOUSE, "27", {"unit_of_measurement": "A"})
    await hass.async_block_till_done()
    assert claims(aioclient_mock) == [{"charge_current": 8}]
    # Room for 4 A only: below 6 A, charging is paused; the current claim stays.
    hass.states.async_set(HOUSE, "31", {"unit_of_measurement": "A"})
    await hass.async_block_till_done()
    assert claims(aioclient_mock)[-1] == {"charge_current": 8, "state": "disabled"}
    assert source.charging_enabled() is False
    await source.async_set_current_limit(0)
    assert claims(aioclient_mock)[-1] == {"charge_current": 8, "state": "disabled"}
    await source.async_set_charging(True)
    assert claims(aioclient_mock)[-1] == {"charge_current": 8, "state": "active"}
    assert source.charging_enabled() is True
    assert source.diagnostics()["claim"] == {"charge_current": 8, "state": "active"}


async def test_reauth_after_a_password_change(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, auths: list
) -> None:
    refuse(aioclient_mock)
    entry = _entry(username="admin", password="old")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    [flow] = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["step_id"] == "reauth_confirm"
    flow_id = flow["flow_id"]
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"username": "admin", "password": "still wrong"}
    )
    assert result["errors"] == {"password": "invalid_auth"}
    aioclient_mock.clear_requests()
    aioclient_mock.get(f"http://{HOST}/config", exc=TimeoutError())
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"username": "admin", "password": "new"}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    serve(aioclient_mock)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"username": "admin", "password": "new"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["password"] == "new"
    assert entry.state is ConfigEntryState.LOADED
    assert auths[-1] == "Basic YWRtaW46bmV3"  # admin:new


async def test_reauth_of_a_running_wallbox_sets_it_up_again_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    aioclient_mock: AiohttpClientMocker,
    auths: list[str | None],
) -> None:
    """The password changed while it ran: after the reauth it reads with the new login.

    The entry is loaded, so it has an update listener: the flow only stores the login and
    the listener sets the entry up again (Home Assistant 2026.12 refuses a flow's reload of
    an entry with a listener; both would set it up twice).
    """
    serve(aioclient_mock)
    entry = await setup_entry(hass, _entry(username="admin", password="old"))
    refuse(aioclient_mock)
    await advance(hass, freezer, 1)
    [flow] = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["step_id"] == "reauth_confirm"
    assert entry.state is ConfigEntryState.LOADED
    assert entry.update_listeners
    coordinator = entry.runtime_data
    serve(aioclient_mock)
    with setups_counted() as set_up:
        result = await hass.config_entries.flow.async_configure(
            flow["flow_id"], {"username": "admin", "password": "new"}
        )
        await hass.async_block_till_done()
    assert result["reason"] == "reauth_successful"
    assert entry.data["password"] == "new"
    assert set_up == [entry.entry_id]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not coordinator
    assert entry.runtime_data.last_update_success
    assert auths[-1] == "Basic YWRtaW46bmV3"  # admin:new


def _zeroconf(host: str = HOST) -> ZeroconfServiceInfo:
    return ZeroconfServiceInfo(
        ip_address=ip_address(host),
        ip_addresses=[ip_address(host)],
        port=80,
        hostname="openevse-7b2c.local.",
        type="_openevse._tcp.local.",
        name="openevse-7b2c._openevse._tcp.local.",
        properties={"type": "openevse", "id": SERIAL},
    )


async def _discover(hass: HomeAssistant, host: str = HOST) -> Any:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf(host)
    )


async def test_zeroconf_discovery(hass: HomeAssistant, aioclient_mock: AiohttpClientMocker) -> None:
    serve(aioclient_mock)
    result = await _discover(hass)
    assert result["step_id"] == "discovery_confirm"
    assert result["description_placeholders"] == {"name": "OpenEVSE", "host": HOST}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"source": "openevse", "host": HOST}
    entry = result["result"]
    assert entry.unique_id == f"openevse_{SERIAL}"
    await hass.async_block_till_done()
    # Announced again at the same address: nothing to ask.
    assert (await _discover(hass))["reason"] == "already_configured"
    # At a new address (DHCP gave it another): the entry follows it.
    new = "192.168.21.60"
    serve(aioclient_mock, host=new)
    coordinator = entry.runtime_data
    with setups_counted() as set_up:
        result = await _discover(hass, new)
        await hass.async_block_till_done()
    assert result["reason"] == "already_configured"
    assert entry.data["host"] == new
    # Set up again, once, and read there (its own listener does it: see FlowBase).
    assert set_up == [entry.entry_id]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not coordinator
    assert any(
        method == "GET" and str(url) == f"http://{new}/status"
        for method, url, _, _ in aioclient_mock.mock_calls
    )


async def test_zeroconf_discovery_of_old_firmware(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """Firmware without a serial: offered once, added without a unique id."""
    serve(aioclient_mock, fixture("v2_json_status"), config=fixture("v2_json_config"))
    result = await _discover(hass)
    assert result["step_id"] == "discovery_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id is None
    await hass.async_block_till_done()
    assert (await _discover(hass))["reason"] == "already_configured"


async def test_zeroconf_discovery_of_a_protected_or_silent_openevse(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    aioclient_mock.get(f"http://{HOST}/config", exc=aiohttp.ClientError())
    assert (await _discover(hass))["reason"] == "cannot_connect"
    # It wants a login first: its form, with the address filled in.
    refuse(aioclient_mock)
    result = await _discover(hass)
    assert result["step_id"] == "openevse"
    schema = result["data_schema"].schema
    host_key = next(key for key in schema if key == "host")
    assert host_key.description == {"suggested_value": HOST}
    serve(aioclient_mock)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": HOST, "username": "admin", "password": "secret"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == f"openevse_{SERIAL}"
