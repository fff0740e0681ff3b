"""Steps for an OCPP charge point (and the id tags shared with the options)."""

from __future__ import annotations

from collections.abc import Mapping
import errno
import ipaddress
import socket
import ssl
from typing import Any
from urllib.parse import quote, urlparse

import voluptuous as vol

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigFlowResult,
)
from homeassistant.const import (
    CONF_PASSWORD,
    CONF_PORT,
)
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from ..const import (
    CONF_CHARGE_POINT_ID,
    CONF_LISTEN_ADDRESS,
    CONF_SOURCE,
    CONF_SSL_CERTIFICATE,
    CONF_SSL_KEY,
    DEFAULT_OCPP_PORT,
    SOURCE_OCPP,
)
from ..sources.ocpp.server import SERVERS, load_ssl_context
from .base import FlowBase

OCPP_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_CHARGE_POINT_ID): TextSelector(),
        vol.Required(CONF_PORT, default=DEFAULT_OCPP_PORT): NumberSelector(
            NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
        ),
        vol.Optional(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
        vol.Optional(CONF_SSL_CERTIFICATE): TextSelector(),
        vol.Optional(CONF_SSL_KEY): TextSelector(),
        vol.Optional(CONF_LISTEN_ADDRESS): TextSelector(),
    }
)


def bind_error(address: str, port: int) -> str | None:
    """Why the server could not listen there (blocking: run in the executor); None: it can.

    ``address_not_local`` when the address is not one of this machine's, else ``port_in_use``.
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as err:
            return "address_not_local" if err.errno == errno.EADDRNOTAVAIL else "port_in_use"
    return None


def parse_id_tags(text: str) -> dict[str, str] | None:
    """``TAG = Name`` per line (``:`` works too); None when a line is not like that."""
    tags: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        separator = "=" if "=" in line else ":"
        tag, found, name = line.partition(separator)
        tag, name = tag.strip(), name.strip()
        if not found or not tag or not name or tag in tags:
            return None
        tags[tag] = name
    return tags


class OcppSteps(FlowBase):
    """A charge point that connects to Home Assistant."""

    async def async_step_ocpp(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A charge point that will connect to Home Assistant as its OCPP central system."""
        errors: dict[str, str] = {}
        if user_input is not None:
            values = {k: v.strip() if isinstance(v, str) else v for k, v in user_input.items()}
            errors = await self._validate_ocpp(values)
            if not errors:
                charge_point_id = values[CONF_CHARGE_POINT_ID]
                await self._claim(f"{SOURCE_OCPP}_{charge_point_id}")
                self._data = {
                    CONF_SOURCE: SOURCE_OCPP,
                    CONF_CHARGE_POINT_ID: charge_point_id,
                    CONF_PORT: int(values[CONF_PORT]),
                } | {
                    key: values[key]
                    for key in (
                        CONF_PASSWORD,
                        CONF_SSL_CERTIFICATE,
                        CONF_SSL_KEY,
                        CONF_LISTEN_ADDRESS,
                    )
                    if values.get(key)
                }
                self._title = charge_point_id
                # The success step shows the exact address to enter in the box.
                return self._finish("ocpp", {"url": self._central_system_url(values)})
        return self.async_show_form(
            step_id="ocpp",
            data_schema=self.add_suggested_values_to_schema(
                OCPP_SCHEMA, user_input or self._current()
            ),
            errors=errors,
        )

    def _central_system_url(self, values: Mapping[str, Any]) -> str:
        """ws(s)://<Home Assistant's address>:<port>/<charge point id>."""
        scheme = "wss" if values.get(CONF_SSL_CERTIFICATE) else "ws"
        host = values.get(CONF_LISTEN_ADDRESS)
        if host in ("0.0.0.0", "::"):
            host = None
        if not host:
            try:
                host = urlparse(get_url(self.hass, allow_external=False)).hostname
            except NoURLAvailableError:
                host = None
        if host and ":" in host:
            host = f"[{host}]"  # an IPv6 address
        charge_point_id = quote(str(values[CONF_CHARGE_POINT_ID]), safe="")
        return f"{scheme}://{host or '<home-assistant>'}:{int(values[CONF_PORT])}/{charge_point_id}"

    async def _validate_ocpp(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Errors per field: id, certificate files and the port."""
        charge_point_id = values.get(CONF_CHARGE_POINT_ID, "")
        certificate = values.get(CONF_SSL_CERTIFICATE)
        key = values.get(CONF_SSL_KEY)
        port = int(values[CONF_PORT])
        if not charge_point_id or "/" in charge_point_id or " " in charge_point_id:
            return {CONF_CHARGE_POINT_ID: "invalid_charge_point_id"}
        address = values.get(CONF_LISTEN_ADDRESS) or ""
        if address:
            try:
                address = str(ipaddress.ip_address(address))
            except ValueError:
                return {CONF_LISTEN_ADDRESS: "invalid_listen_address"}
        if bool(certificate) != bool(key):
            return {CONF_SSL_KEY if certificate else CONF_SSL_CERTIFICATE: "certificate_and_key"}
        if certificate and key:
            try:
                await self.hass.async_add_executor_job(load_ssl_context, certificate, key)
            except (OSError, ssl.SSLError):
                return {CONF_SSL_CERTIFICATE: "invalid_certificate"}
        reconfigured = (
            self._get_reconfigure_entry().data.get(CONF_PORT)
            if self.source == SOURCE_RECONFIGURE
            else None
        )
        if port in self.hass.data.get(SERVERS, {}) or port == reconfigured:
            return {}
        if error := await self.hass.async_add_executor_job(bind_error, address, port):
            return {CONF_LISTEN_ADDRESS if error == "address_not_local" else CONF_PORT: error}
        return {}

    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """An unknown charge point knocked on the central system."""
        charge_point_id = str(discovery_info[CONF_CHARGE_POINT_ID])
        await self.async_set_unique_id(f"{SOURCE_OCPP}_{charge_point_id}")
        self._abort_if_unique_id_configured()
        self._data = {
            CONF_SOURCE: SOURCE_OCPP,
            CONF_CHARGE_POINT_ID: charge_point_id,
            CONF_PORT: int(discovery_info[CONF_PORT]),
        }
        self._title = charge_point_id
        self.context["title_placeholders"] = {
            "name": charge_point_id,
            "host": f"OCPP, port {self._data[CONF_PORT]}",
        }
        return await self.async_step_ocpp_confirm()

    async def async_step_ocpp_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the user accept the charge point (a password can be added by reconfiguring)."""
        return self._confirm("ocpp_confirm", user_input, port=str(self._data[CONF_PORT]))
