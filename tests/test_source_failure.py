"""A source that cannot be read: entities unavailable, logged once, session kept."""

from __future__ import annotations

import logging
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.core import HomeAssistant

from custom_components.ev_sessions.sources.base import SourceError
from custom_components.ev_sessions.sources.simulator import SimulatorSource

from .conftest import setup_entry
from .helpers import advance, logged, number_now, state_value

STATUS = "sensor.simulated_wallbox_status"


async def test_wallbox_away_and_back(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_entry(hass, simulator_entry)
    await hass.services.async_call(
        "switch",
        "turn_on",
        {"entity_id": "switch.simulated_wallbox_simulated_car_plugged_in"},
        blocking=True,
    )
    await advance(hass, freezer, 10, step_s=10)
    energy = await number_now(hass, "sensor.simulated_wallbox_session_energy")
    with patch.object(SimulatorSource, "async_poll", side_effect=SourceError("timeout")):
        # Across a quarter hour: the price refresh must not make the wallbox look back.
        await advance(hass, freezer, 16, step_s=10)
        assert state_value(hass, STATUS) == "unavailable"
    assert state_value(hass, STATUS) == "unavailable"
    # Once each: the translated error, and what exactly went wrong.
    assert logged(caplog, "Simulated wallbox cannot be reached", logging.ERROR) == 1
    assert logged(caplog, "Simulated wallbox cannot be read: timeout", logging.INFO) == 1
    await advance(hass, freezer, 1, step_s=10)
    assert state_value(hass, STATUS) == "charging"
    assert logged(caplog, "data recovered") == 1
    # The simulated car kept charging meanwhile (16 minutes at 11 kW, at least); its register
    # tells how much, and all of it is in the session. (Compared with the register itself:
    # where the last poll before the outage fell within its 10 s step varies from run to run.)
    session_energy = await number_now(hass, "sensor.simulated_wallbox_session_energy")
    assert session_energy >= energy + 11 * 16 / 60
    register = simulator_entry.runtime_data.source.wallbox.register_kwh
    assert session_energy == pytest.approx(register, abs=0.01)  # the state has 2 decimals
