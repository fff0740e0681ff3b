"""Diagnostics of EV Sessions."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_CHARGE_POINT_ID, CONF_ID_TAGS
from .coordinator import EvSessionsConfigEntry

# Every identifier of a person, a SIM, a meter, a wallbox or a network, whatever the source.
TO_REDACT = {
    # Settings and Home Assistant: addresses, logins, who did what.
    CONF_HOST,
    CONF_PASSWORD,
    CONF_USERNAME,
    CONF_CHARGE_POINT_ID,  # often the box's serial number
    "user",
    "user_id",
    "context",
    # OCPP: who charges (tags and names), the box's and the meter's serials, the SIM.
    CONF_ID_TAGS,
    "id_tag",
    "id_token",
    "last_tag",
    "charge_point_serial_number",
    "charge_box_serial_number",
    "meter_serial_number",
    "serial_number",
    "iccid",
    "imsi",
    # go-e: serial, the name the owner gave it, Wi-Fi.
    "sse",
    "fna",
    "wss",
    "ccw",
    "wifis",
    # OpenEVSE: network, logins and keys of its own integrations.
    "ipaddress",
    "macaddress",
    "hostname",
    "ssid",
    "wifi_serial",
    "evse_serial",
    # Tesla Wall Connector: network.
    "wifi_ssid",
    "wifi_mac",
    "wifi_ip",
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
