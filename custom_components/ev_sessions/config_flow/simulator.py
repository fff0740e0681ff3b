"""Steps for the simulated wallbox."""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from homeassistant.config_entries import (
    ConfigFlowResult,
)
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
)

from ..const import (
    CONF_BATTERY_CAPACITY_KWH,
    CONF_MAX_POWER_KW,
    CONF_PHASES,
    CONF_SOURCE,
    DEFAULT_BATTERY_CAPACITY_KWH,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_PHASES,
    SOURCE_SIMULATOR,
)
from .base import FlowBase
from .schema import number_selector

SIMULATOR_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_MAX_POWER_KW, default=DEFAULT_MAX_POWER_KW): number_selector(
            1, 50, 0.1, "kW"
        ),
        vol.Required(CONF_PHASES, default=str(DEFAULT_PHASES)): SelectSelector(
            SelectSelectorConfig(options=["1", "3"], translation_key=CONF_PHASES)
        ),
        vol.Required(
            CONF_BATTERY_CAPACITY_KWH, default=DEFAULT_BATTERY_CAPACITY_KWH
        ): number_selector(10, 250, 1, "kWh"),
    }
)


class SimulatorSteps(FlowBase):
    """The simulated wallbox: its size and its car."""

    async def async_step_simulator(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A simulated wallbox and car."""
        if user_input is not None:
            await self._claim(SOURCE_SIMULATOR)
            self._data = {
                CONF_SOURCE: SOURCE_SIMULATOR,
                CONF_MAX_POWER_KW: float(user_input[CONF_MAX_POWER_KW]),
                CONF_PHASES: int(user_input[CONF_PHASES]),
                CONF_BATTERY_CAPACITY_KWH: float(user_input[CONF_BATTERY_CAPACITY_KWH]),
            }
            self._title = "Simulated wallbox"
            return self._finish()
        current = dict(self._current())
        if CONF_PHASES in current:
            current[CONF_PHASES] = str(current[CONF_PHASES])
        return self.async_show_form(
            step_id="simulator",
            data_schema=self.add_suggested_values_to_schema(SIMULATOR_SCHEMA, current),
        )
