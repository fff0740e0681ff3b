"""Config and options flows of EV Sessions: one module per source kind, one for the options.

``base`` holds what every step shares, ``entities``, ``http``, ``ocpp`` and ``simulator`` the
steps of each kind of wallbox (mixed into the flow below), ``options`` the options flow, with
the tariff form in ``tariff`` and form helpers in ``schema``.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlowResult
from homeassistant.core import callback

from ..const import CONF_SOURCE, DOMAIN, SOURCE_OCPP, SOURCE_SIMULATOR, SOURCES
from ..sources.http import HTTP_WALLBOXES
from .entities import EntitiesSteps
from .http import HttpSteps
from .ocpp import OcppSteps
from .options import EvSessionsOptionsFlow
from .simulator import SimulatorSteps


class EvSessionsConfigFlow(EntitiesSteps, HttpSteps, OcppSteps, SimulatorSteps, domain=DOMAIN):
    """Add a wallbox: pick the source, then describe it."""

    VERSION = 1
    MINOR_VERSION = 2  # 1.2: no unique id made of an address or an entity id

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> EvSessionsOptionsFlow:
        """Preferences and session detection."""
        return EvSessionsOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick the kind of wallbox."""
        return self.async_show_menu(step_id="user", menu_options=list(SOURCES))

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the entities or settings of a wallbox."""
        source = self._get_reconfigure_entry().data[CONF_SOURCE]
        if source == SOURCE_SIMULATOR:
            return await self.async_step_simulator()
        if source in HTTP_WALLBOXES:
            return await self._async_step_http(source, None)
        if source == SOURCE_OCPP:
            return await self.async_step_ocpp()
        return await self.async_step_entities()
