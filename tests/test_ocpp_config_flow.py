"""Config flow and options of OCPP charge points, and the billing export."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
import socket
import ssl
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.config_entries import (
    SOURCE_INTEGRATION_DISCOVERY,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
)
from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.ev_sessions.config_flow import EvSessionsConfigFlow
from custom_components.ev_sessions.config_flow.ocpp import parse_id_tags
from custom_components.ev_sessions.const import (
    CONF_ACCEPT_UNKNOWN_TAGS,
    CONF_CHARGE_POINT_ID,
    CONF_CONNECTOR,
    CONF_ID_TAGS,
    CONF_LISTEN_ADDRESS,
    CONF_SOURCE,
    CONF_SSL_CERTIFICATE,
    CONF_SSL_KEY,
    DOMAIN,
    SOURCE_OCPP,
)
from custom_components.ev_sessions.model.history import user_month_csv, user_month_rows
from custom_components.ev_sessions.model.session import Session, interval_start
from custom_components.ev_sessions.sources.ocpp.server import SERVERS

from .conftest import setup_entry
from .ocpp_client import free_port

pytestmark = pytest.mark.usefixtures("socket_enabled")
PAIR = "certificate_and_key"


def certificate(folder: Path) -> tuple[str, str]:
    """A self-signed certificate and its key as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "homeassistant.local")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


async def start_flow(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": SOURCE_OCPP}
    )
    assert result["step_id"] == SOURCE_OCPP
    flow_id: str = result["flow_id"]
    return flow_id


async def test_add_with_password_and_tls(hass: HomeAssistant, tmp_path: Path) -> None:
    """Errors are reported on their fields; a valid charge point with TLS is created."""
    cert, key = certificate(tmp_path)
    port = free_port()
    flow_id = await start_flow(hass)
    for values, field, error in (
        ({CONF_CHARGE_POINT_ID: "bad id"}, CONF_CHARGE_POINT_ID, "invalid_charge_point_id"),
        ({CONF_CHARGE_POINT_ID: "a/b"}, CONF_CHARGE_POINT_ID, "invalid_charge_point_id"),
        (
            {CONF_CHARGE_POINT_ID: "cp1", CONF_SSL_CERTIFICATE: cert},
            CONF_SSL_KEY,
            "certificate_and_key",
        ),
        (
            {CONF_CHARGE_POINT_ID: "cp1", CONF_SSL_KEY: key},
            CONF_SSL_CERTIFICATE,
            "certificate_and_key",
        ),
        (
            {CONF_CHARGE_POINT_ID: "cp1", CONF_SSL_CERTIFICATE: key, CONF_SSL_KEY: key},
            CONF_SSL_CERTIFICATE,
            "invalid_certificate",
        ),
        (
            {CONF_CHARGE_POINT_ID: "cp1", CONF_LISTEN_ADDRESS: "garage.local"},
            CONF_LISTEN_ADDRESS,
            "invalid_listen_address",
        ),
        (
            # TEST-NET-1 (RFC 5737): never an address of this machine.
            {CONF_CHARGE_POINT_ID: "cp1", CONF_LISTEN_ADDRESS: "192.0.2.1"},
            CONF_LISTEN_ADDRESS,
            "address_not_local",
        ),
    ):
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_PORT: port, **values}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {field: error}
    with socket.socket() as busy:
        busy.bind(("", free_port()))
        busy.listen()
        taken = busy.getsockname()[1]
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_CHARGE_POINT_ID: "cp1", CONF_PORT: taken}
        )
    assert result["errors"] == {CONF_PORT: "port_in_use"}
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_CHARGE_POINT_ID: " cp1 ",
            CONF_PORT: port,
            CONF_PASSWORD: "s3cret",
            CONF_SSL_CERTIFICATE: cert,
            CONF_SSL_KEY: key,
            CONF_LISTEN_ADDRESS: "127.0.0.1",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "cp1"
    # The success step shows the exact URL to enter in the box.
    assert result["description"] == "ocpp"
    assert result["description_placeholders"] == {"url": f"wss://127.0.0.1:{port}/cp1"}
    assert result["data"] == {
        CONF_SOURCE: SOURCE_OCPP,
        CONF_CHARGE_POINT_ID: "cp1",
        CONF_PORT: port,
        CONF_PASSWORD: "s3cret",
        CONF_SSL_CERTIFICATE: cert,
        CONF_SSL_KEY: key,
        CONF_LISTEN_ADDRESS: "127.0.0.1",
    }
    await hass.async_block_till_done()
    entry = result["result"]
    # The server speaks TLS with that certificate.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    writer.close()
    # A second charge point on the same port: the port is ours, not in use.
    flow_id = await start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_CHARGE_POINT_ID: "cp1", CONF_PORT: port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    # Reconfigure: a new id on the same port is fine.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["step_id"] == SOURCE_OCPP
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_CHARGE_POINT_ID: "cp1-renamed", CONF_PORT: port}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_CHARGE_POINT_ID] == "cp1-renamed"
    assert CONF_PASSWORD not in entry.data
    # Set up again (by its own listener): the port now serves the new id, not the old one.
    assert set(hass.data[SERVERS][port].sources) == {"cp1-renamed"}
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_discovered_charge_point_already_set_up(hass: HomeAssistant) -> None:
    """A knock from a charge point that has an entry offers nothing."""
    MockConfigEntry(
        domain=DOMAIN,
        unique_id="ocpp_cp9",
        data={CONF_SOURCE: SOURCE_OCPP, CONF_CHARGE_POINT_ID: "cp9", CONF_PORT: 9000},
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={CONF_CHARGE_POINT_ID: "cp9", CONF_PORT: 9000},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_users_option(hass: HomeAssistant) -> None:
    """Id tags are entered as TAG = Name lines; a bad line is reported on the field."""
    entry = await setup_entry(
        hass,
        MockConfigEntry(
            domain=DOMAIN,
            title="cp1",
            unique_id="ocpp_cp1",
            data={CONF_SOURCE: SOURCE_OCPP, CONF_CHARGE_POINT_ID: "cp1", CONF_PORT: free_port()},
        ),
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "users" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "users"}
    )
    assert result["step_id"] == "users"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ID_TAGS: "04A1 = Anna\nnonsense", CONF_ACCEPT_UNKNOWN_TAGS: True}
    )
    assert result["errors"] == {CONF_ID_TAGS: "invalid_id_tags"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_ID_TAGS: "04A1 = Anna\n\n04B2: Bo", CONF_ACCEPT_UNKNOWN_TAGS: False},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_ID_TAGS] == {"04A1": "Anna", "04B2": "Bo"}
    assert entry.options[CONF_ACCEPT_UNKNOWN_TAGS] is False
    assert entry.options[CONF_CONNECTOR] == 0  # automatic
    # Shown again as lines.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "users"}
    )
    schema = result["data_schema"].schema
    suggested = {str(k): k.description["suggested_value"] for k in schema}
    assert suggested[CONF_ID_TAGS] == "04A1 = Anna\n04B2 = Bo"
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_parse_id_tags() -> None:
    assert parse_id_tags("") == {}
    assert parse_id_tags("A = x\nA = y") is None
    assert parse_id_tags(" = x") is None
    assert parse_id_tags("A =") is None


def test_user_month_rows_split_a_session_across_the_month_end() -> None:
    """A session from 31 Oct 22:00 to 1 Nov 02:00 is billed by the energy in each month."""
    zone = ZoneInfo("Europe/Stockholm")
    start = datetime(2026, 10, 31, 21, 0, tzinfo=UTC)  # 22:00 local
    anna = Session(id="1", start=start, end=start + timedelta(hours=4), user="Anna")
    for hour in range(4):
        anna.add_energy({interval_start(start + timedelta(hours=hour)): 2.5})
    anna.cost = 10.0
    bo = Session(id="2", start=start + timedelta(days=2), end=start + timedelta(days=2, hours=1))
    bo.add_energy({interval_start(bo.start): 3.0})
    rows = user_month_rows([anna, bo], zone)
    assert rows == [
        {
            "month": "2026-10",
            "user": "Anna",
            "sessions": 1,
            "energy_kwh": 5.0,
            "cost": 5.0,
            "estimated": False,
        },
        {
            "month": "2026-11",
            "user": "",
            "sessions": 1,
            "energy_kwh": 3.0,
            "cost": None,
            "estimated": False,
        },
        {
            "month": "2026-11",
            "user": "Anna",
            "sessions": 0,
            "energy_kwh": 5.0,
            "cost": 5.0,
            "estimated": False,
        },
    ]
    text = user_month_csv(rows, "SEK")
    assert text.splitlines()[0] == "month,user,sessions,energy_kwh,cost,currency,estimated"
    assert text.splitlines()[2] == "2026-11,,1,3.0,,SEK,False"


async def test_the_central_system_url_names_home_assistant(hass: HomeAssistant) -> None:
    """Home Assistant's own address (its internal URL), an IPv6 listen address in brackets,
    an id made safe for a URL; a placeholder when Home Assistant knows no address."""
    flow = EvSessionsConfigFlow()
    flow.hass = hass
    values = {CONF_CHARGE_POINT_ID: "garage 2", CONF_PORT: 9000}
    assert flow._central_system_url(values) == "ws://<home-assistant>:9000/garage%202"
    await hass.config.async_update(internal_url="http://192.168.1.5:8123")
    assert flow._central_system_url(values) == "ws://192.168.1.5:9000/garage%202"
    assert (
        flow._central_system_url({**values, CONF_LISTEN_ADDRESS: "0.0.0.0"})
        == "ws://192.168.1.5:9000/garage%202"
    )
    assert (
        flow._central_system_url({**values, CONF_LISTEN_ADDRESS: "fd00::5"})
        == "ws://[fd00::5]:9000/garage%202"
    )
