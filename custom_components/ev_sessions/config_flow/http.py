"""Steps for wallboxes with a local HTTP API (go-e, OpenEVSE, Tesla Wall Connector).

With zeroconf and DHCP discovery, and reauthentication for OpenEVSE's login.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigFlowResult,
)
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_USERNAME,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from ..const import (
    CONF_SOURCE,
    SOURCE_GOE,
    SOURCE_OPENEVSE,
    SOURCE_TESLA_WALL_CONNECTOR,
)
from ..sources.base import SourceError
from ..sources.http import HTTP_WALLBOXES, AuthHeaders, SourceAuthError, async_get_json
from ..sources.openevse import credentials
from .base import FlowBase

AUTH_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_USERNAME): TextSelector(),
        vol.Optional(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
    }
)


class HttpSteps(FlowBase):
    """A wallbox on the local network: test the connection, use its serial."""

    async def async_step_tesla_wall_connector(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A Tesla Wall Connector (gen 3) on the local network."""
        return await self._async_step_http(SOURCE_TESLA_WALL_CONNECTOR, user_input)

    async def async_step_openevse(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """An OpenEVSE on the local network (with HTTP credentials if it has them)."""
        return await self._async_step_http(SOURCE_OPENEVSE, user_input)

    async def async_step_goe(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A go-eCharger with its local HTTP API v2 enabled."""
        return await self._async_step_http(SOURCE_GOE, user_input)

    async def _async_probe(self, source: str, host: str, auth: AuthHeaders | None) -> str | None:
        """Ask the wallbox who it is: the unique id (None: it has no serial), or SourceError."""
        kind = HTTP_WALLBOXES[source]
        answer = await async_get_json(async_get_clientsession(self.hass), host, kind.path, auth)
        serial = answer.get(kind.serial_key)
        if serial not in (None, ""):
            return f"{source}_{serial}"
        if kind.fallback_key is not None and kind.fallback_key in answer:
            # Old firmware without a serial: no unique id (never the address).
            return None
        raise SourceError(f"{host}{kind.path}: no {kind.serial_key}")

    async def _async_step_http(
        self, source: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """A wallbox with a local HTTP API: test the connection, and use its serial."""
        kind = HTTP_WALLBOXES[source]
        errors: dict[str, str] = {}
        if user_input is not None:
            host = user_input[CONF_HOST].strip()
            auth = credentials(user_input)
            try:
                unique_id = await self._async_probe(source, host, auth)
            except SourceAuthError:
                errors[CONF_PASSWORD] = "invalid_auth"
            except SourceError:
                errors[CONF_HOST] = "cannot_connect"
            else:
                if self.source == SOURCE_RECONFIGURE and unique_id is not None:
                    await self.async_set_unique_id(unique_id)
                    self._abort_if_unique_id_mismatch(reason="another_device")
                else:
                    await self._claim(unique_id, {CONF_HOST: host})
                self._data = {CONF_SOURCE: source, CONF_HOST: host}
                if auth is not None:
                    self._data |= {
                        CONF_USERNAME: user_input[CONF_USERNAME],
                        CONF_PASSWORD: user_input.get(CONF_PASSWORD, ""),
                    }
                self._title = kind.title
                return self._finish()
        schema = vol.Schema({vol.Required(CONF_HOST): TextSelector()})
        if kind.with_auth:
            schema = schema.extend(AUTH_SCHEMA.schema)
        return self.async_show_form(
            step_id=source,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or self._current()),
            errors=errors,
        )

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """An OpenEVSE announced itself (``_openevse._tcp``)."""
        return await self._async_discovered(SOURCE_OPENEVSE, discovery_info.host)

    async def async_step_dhcp(self, discovery_info: DhcpServiceInfo) -> ConfigFlowResult:
        """A Tesla Wall Connector asked for an address (host name ``teslawallconnector_*``)."""
        return await self._async_discovered(SOURCE_TESLA_WALL_CONNECTOR, discovery_info.ip)

    async def _async_discovered(self, source: str, host: str) -> ConfigFlowResult:
        """Identify a discovered wallbox; follow it to a new address if already set up."""
        kind = HTTP_WALLBOXES[source]
        self._async_abort_entries_match({CONF_HOST: host})
        self._title = kind.title
        self._data = {CONF_SOURCE: source, CONF_HOST: host}
        self.context["title_placeholders"] = {"name": kind.title, "host": host}
        try:
            unique_id = await self._async_probe(source, host, None)
        except SourceAuthError:
            # It wants its login before it says who it is: ask on its own form.
            return await self._async_step_http(source, None)
        except SourceError:
            return self.async_abort(reason="cannot_connect")
        if unique_id is not None:
            await self.async_set_unique_id(unique_id)
            # A loaded entry's own listener sets it up again at its new address (see
            # _update_and_abort); one waiting to retry is retried at once.
            self._abort_if_unique_id_configured(updates={CONF_HOST: host}, reload_on_update=False)
        return await self.async_step_discovery_confirm()

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the user accept a discovered wallbox."""
        return self._confirm("discovery_confirm", user_input, host=self._data[CONF_HOST])

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The wallbox refused the stored credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new username and password."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            login = {
                CONF_USERNAME: user_input.get(CONF_USERNAME, ""),
                CONF_PASSWORD: user_input.get(CONF_PASSWORD, ""),
            }
            try:
                await async_get_json(
                    async_get_clientsession(self.hass),
                    entry.data[CONF_HOST],
                    HTTP_WALLBOXES[entry.data[CONF_SOURCE]].path,
                    credentials(login),
                )
            except SourceAuthError:
                errors[CONF_PASSWORD] = "invalid_auth"
            except SourceError:
                errors["base"] = "cannot_connect"
            else:
                return self._update_and_abort(
                    entry, "reauth_successful", data={**entry.data, **login}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                AUTH_SCHEMA, {CONF_USERNAME: entry.data.get(CONF_USERNAME)}
            ),
            errors=errors,
            description_placeholders={"host": entry.data[CONF_HOST]},
        )
