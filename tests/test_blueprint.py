"""The charge-in-cheap-hours blueprint, run as a real automation."""

from __future__ import annotations

from pathlib import Path
import shutil

from homeassistant.components.automation import DOMAIN as AUTOMATION_DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

BLUEPRINT = (
    Path(__file__).parent.parent
    / "blueprints"
    / "automation"
    / "ev_sessions"
    / "charge_in_cheap_hours.yaml"
)


async def test_blueprint_follows_charge_now(hass: HomeAssistant) -> None:
    target = Path(hass.config.path("blueprints/automation/ev_sessions"))
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(BLUEPRINT, target / BLUEPRINT.name)
    try:
        assert await async_setup_component(
            hass, "input_boolean", {"input_boolean": {"charger": {}}}
        )
        hass.states.async_set("binary_sensor.wallbox_charge_now", "off")
        assert await async_setup_component(
            hass,
            AUTOMATION_DOMAIN,
            {
                AUTOMATION_DOMAIN: {
                    "use_blueprint": {
                        "path": "ev_sessions/charge_in_cheap_hours.yaml",
                        "input": {
                            "charge_now": "binary_sensor.wallbox_charge_now",
                            "charger_switch": "input_boolean.charger",
                        },
                    }
                }
            },
        )
        await hass.async_block_till_done()
        hass.states.async_set("binary_sensor.wallbox_charge_now", "on")
        await hass.async_block_till_done()
        assert hass.states.get("input_boolean.charger").state == "on"  # type: ignore[union-attr]
        hass.states.async_set("binary_sensor.wallbox_charge_now", "off")
        await hass.async_block_till_done()
        assert hass.states.get("input_boolean.charger").state == "off"  # type: ignore[union-attr]
    finally:
        shutil.rmtree(Path(hass.config.path("blueprints")), ignore_errors=True)
