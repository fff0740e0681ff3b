"""Tesla Wall Connector source, against the device's recorded payloads."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from homeassistant.config_entries import SOURCE_DHCP, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo

from custom_components.ev_sessions.const import DOMAIN, EVENT_SESSION_ENDED
from custom_components.ev_sessions.diagnostics import async_get_config_entry_diagnostics
from custom_components.ev_sessions.sources.tesla_wall_connector import vitals_reading

from .conftest import setup_entry
from .helpers import advance, device_of, number, state_value

FIXTURES = Path(__file__).parent / "fixtures" / "tesla_wall_connector"
HOST = "192.168.1.50"
BASE = f"http://{HOST}/api/1"
VITALS: dict[str, Any] = json.loads((FIXTURES / "api_1_vitals.json").read_text())
LIFETIME: dict[str, Any] = json.loads((FIXTURES / "api_1_lifetime.json").read_text())
VERSION = (FIXTURES / "api_1_version.json").read_text()
SERIAL = "ACB12345678901"


def serve(
    aioclient_mock: AiohttpClientMocker,
    *,
    vitals: dict[str, Any] | None = None,
    lifetime: str | dict[str, Any] | None = None,
) -> None:
    """Answer the wall connector's endpoints (replacing earlier answers)."""
    aioclient_mock.clear_requests()
    aioclient_mock.get(f"{BASE}/version", text=VERSION)
    aioclient_mock.get(f"{BASE}/vitals", text=json.dumps(vitals or VITALS))
    body = lifetime if isinstance(lifetime, str) else json.dumps(lifetime or LIFETIME)
    aioclient_mock.get(f"{BASE}/lifetime", text=body)


def _entry() -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Tesla Wall Connector",
        unique_id=f"tesla_wall_connector_{SERIAL}",
        data={"source": "tesla_wall_connector", "host": HOST},
    )


def charging(amps: float) -> dict[str, Any]:
    return VITALS | {
        "contactor_closed": True,
        "vehicle_connected": True,
        "currentA_a": amps,
        "currentB_a": amps,
        "currentC_a": amps,
        "vehicle_current_a": amps,
    }


async def test_config_flow(hass: HomeAssistant, aioclient_mock: AiohttpClientMocker) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "tesla_wall_connector"}
    )
    # Nothing answers; then invalid JSON as the firmware sometimes sends; then no serial.
    aioclient_mock.get(f"{BASE}/version", exc=TimeoutError())
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": HOST})
    assert result["errors"] == {"host": "cannot_connect"}
    for body in (
        (FIXTURES / "api_1_lifetime_with_nan_INVALID_JSON.txt").read_text(),
        '{"serial_number": NaN}',
        "{}",
        "[1]",
    ):
        aioclient_mock.clear_requests()
        aioclient_mock.get(f"{BASE}/version", text=body)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": HOST})
        assert result["errors"] == {"host": "cannot_connect"}
    serve(aioclient_mock)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": f" {HOST} "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"source": "tesla_wall_connector", "host": HOST}
    assert result["result"].unique_id == f"tesla_wall_connector_{SERIAL}"
    # The same wall connector again.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "tesla_wall_connector"}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": HOST})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_to_a_new_address(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    serve(aioclient_mock)
    entry = await setup_entry(hass, _entry())
    new = "192.168.1.77"
    aioclient_mock.get(f"http://{new}/api/1/version", text=VERSION)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "tesla_wall_connector"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": new})
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["host"] == new
    # An address where another wall connector answers is refused.
    other = "192.168.1.99"
    aioclient_mock.get(f"http://{other}/api/1/version", text=json.dumps({"serial_number": "OTHER"}))
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": other})
    assert result["reason"] == "another_device"
    assert entry.data["host"] == new


async def test_a_session_and_invalid_json(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, aioclient_mock: AiohttpClientMocker
) -> None:
    freezer.move_to(datetime(2026, 2, 10, 17, 0, tzinfo=UTC))
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    idle = VITALS | {"vehicle_connected": False}
    serve(aioclient_mock, vitals=idle)
    entry = await setup_entry(hass, _entry())
    assert state_value(hass, "sensor.tesla_wall_connector_status") == "disconnected"
    # Plugged in (the fixture: connected, contactor open, 0.4 A of noise).
    serve(aioclient_mock)
    await advance(hass, freezer, 1)
    assert state_value(hass, "sensor.tesla_wall_connector_status") == "connected"
    assert number(hass, "sensor.tesla_wall_connector_power") == 0
    # Charging at 16 A on three phases: 16 x (230.1 + 230.2 + 230.3) = 11,049.6 W.
    serve(aioclient_mock, vitals=charging(16))
    await advance(hass, freezer, 1)
    assert number(hass, "sensor.tesla_wall_connector_power") == pytest.approx(11049.6)
    assert entry.runtime_data.source.poll_interval.total_seconds() == 10
    # For an hour the lifetime register climbs with every poll: 11 kWh in all.
    for minute in range(1, 61):
        register = 386204 + 11000 * minute / 60
        serve(aioclient_mock, vitals=charging(16), lifetime=LIFETIME | {"energy_wh": register})
        await advance(hass, freezer, 1, step_s=20)
    assert number(hass, "sensor.tesla_wall_connector_session_energy") == pytest.approx(11.0)
    # The firmware answers with invalid JSON: one poll unavailable, no energy invented.
    serve(
        aioclient_mock,
        vitals=charging(16),
        lifetime=(FIXTURES / "api_1_lifetime_missing_end_brace_INVALID_JSON.txt").read_text(),
    )
    await advance(hass, freezer, 0.2, step_s=10)
    assert state_value(hass, "sensor.tesla_wall_connector_status") == "unavailable"
    # The last 50 Wh (about 20 s at 9 kW) arrive with the unplug.
    serve(aioclient_mock, vitals=idle, lifetime=LIFETIME | {"energy_wh": 386204 + 11050})
    await advance(hass, freezer, 0.2, step_s=10)
    assert state_value(hass, "sensor.tesla_wall_connector_status") == "disconnected"
    assert [e.data["energy_kwh"] for e in ended] == [pytest.approx(11.05)]
    assert entry.runtime_data.source.poll_interval.total_seconds() == 30


async def test_http_error_makes_the_wallbox_unavailable(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, aioclient_mock: AiohttpClientMocker
) -> None:
    serve(aioclient_mock)
    await setup_entry(hass, _entry())
    aioclient_mock.clear_requests()
    aioclient_mock.get(f"{BASE}/vitals", status=500)
    await advance(hass, freezer, 1)
    # Every entity of the wallbox, not only the first told (a running total that was
    # current raised here, and the entities told after it stayed available).
    shown = {
        state.entity_id: state.state
        for state in hass.states.async_all()
        if state.entity_id.split(".")[1].startswith("tesla_wall_connector_")
    }
    assert len(shown) > 20
    assert {e: s for e, s in shown.items() if s != "unavailable"} == {}


def test_a_firmware_that_omits_keys_gives_unknowns_not_zeros() -> None:
    """Newer firmware's partial vitals (relay_k1_v instead of the old fields, no currents)."""
    partial = json.loads((FIXTURES / "api_1_vitals_modern_relay_fields_partial.json").read_text())
    now = datetime(2026, 2, 10, 17, 0, tzinfo=UTC)
    reading = vitals_reading(now, partial, {})
    assert (reading.power_w, reading.energy_kwh, reading.connected, reading.charging) == (
        None,
        None,
        None,
        None,
    )
    # The contactor closed but a phase current missing: the power is unknown, not 0.
    closed = charging(16)
    del closed["currentB_a"]
    assert vitals_reading(now, closed, LIFETIME).power_w is None


async def test_read_only_source_and_diagnostics(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    serve(aioclient_mock)
    entry = await setup_entry(hass, _entry())
    source = entry.runtime_data.source
    assert source.capabilities == frozenset()
    assert source.offered_current_a() is None
    assert source.charging_enabled() is None
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["data"]["host"] == "**REDACTED**"
    assert diagnostics["source"] == {"poll_interval_s": 30.0}
    # The device is what /api/1/version says.
    device = device_of(hass, entry)
    assert device is not None
    assert (
        device.manufacturer,
        device.model,
        device.sw_version,
        device.hw_version,
        device.serial_number,
        device.configuration_url,
    ) == (
        "Tesla",
        "Wall Connector (gen 3)",
        "21.29.1+g4152353e50f744",
        "1529455-02-D",
        SERIAL,
        f"http://{HOST}",
    )


async def test_dhcp_discovery(hass: HomeAssistant, aioclient_mock: AiohttpClientMocker) -> None:
    serve(aioclient_mock)
    info = DhcpServiceInfo(ip=HOST, hostname="teslawallconnector_abc123", macaddress="98ed5c123456")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_DHCP}, data=info
    )
    assert result["step_id"] == "discovery_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["data"] == {"source": "tesla_wall_connector", "host": HOST}
    assert result["result"].unique_id == f"tesla_wall_connector_{SERIAL}"
