"""OCPP central system (1.6J and 2.0.1) for charge points that connect to Home Assistant.

Imports run one way: ``source`` (the `Source`: connection, control, commands) uses ``v16``
and ``v201`` (the handlers of each protocol version), which use ``link`` (what both versions
share), ``charge_point`` (what the charge point has said: status, transactions, meter values,
with the reorder ``window`` and the users' ``tags``) and ``server`` (the websocket server,
shared by the charge points on one port); ``const`` is used by all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.core import HomeAssistant

from .source import OcppSource


def create(hass: HomeAssistant, data: Mapping[str, Any]) -> OcppSource:
    """Build the source from config entry data."""
    return OcppSource(hass, data)
