"""OCPP constants: protocol versions, timing, the commands of the ocpp_command action."""

from __future__ import annotations

from datetime import timedelta
import logging

from ..base import SourceError

_LOGGER = logging.getLogger(__name__)


PROTOCOL_16 = "ocpp1.6"
PROTOCOL_201 = "ocpp2.0.1"
PROTOCOLS = (PROTOCOL_201, PROTOCOL_16)
HEARTBEAT_S = 300
REORDER_WINDOW = timedelta(seconds=10)
DISCONNECT_GRACE = timedelta(minutes=2)
RESPONSE_TIMEOUT_S = 30
MESSAGE_ID_MEMORY = 200
REMOTE_ID_TAG = "EVSessions"
PROFILE_ID = 1_000_001
PLUGGED_16 = frozenset({"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"})

TRIGGERS = {
    "status": "StatusNotification",
    "meter_values": "MeterValues",
    "boot": "BootNotification",
}
# The commands of the ocpp_command action.
COMMANDS = (
    "start_transaction",
    "stop_transaction",
    "soft_reset",
    "hard_reset",
    "set_available",
    "set_unavailable",
    "unlock_connector",
    "trigger_status",
    "trigger_meter_values",
    "trigger_boot",
)


class OcppCommandError(SourceError):
    """The charge point refused or did not answer a command."""
