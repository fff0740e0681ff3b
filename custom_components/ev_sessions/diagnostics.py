"""Diagnostics of EV Sessions."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_ID_TAGS
from .coordinator import EvSessionsConfigEntry

TO_REDACT = {
    CONF_HOST,
    CONF_PASSWORD,
    CONF_USERNAME,
    "user",
    # OCPP: who charges (tags and names) and the box's serials.
    CONF_ID_TAGS,
    "id_tag",
    "last_tag",
    "charge_point_serial_number",
    "charge_box_serial_number",
    "serial_number",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvSessionsConfigEntry
) -> dict[str, Any]:
    """What a bug report needs: settings, tracker state, recent sessions."""
    coordinator = entry.runtime_data
    history = coordinator.history
    return async_redact_data(
        {
            "data": dict(entry.data),
            "options": dict(entry.options),
            "source": coordinator.source.diagnostics(),
            "tracker": coordinator.tracker.as_dict(),
            "history": {
                "sessions": len(history),
                "recent": [session.as_dict() for session in history.sessions[-5:]],
            },
        },
        TO_REDACT,
    )
