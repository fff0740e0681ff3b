"""What a source reports at one moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One observation of a wallbox.

    Every field but ``time`` may be None, which means *unknown right now*
    (unavailable, not reported, nonsense): it never means zero.
    """

    time: datetime
    power_w: float | None = None
    energy_kwh: float | None = None
    connected: bool | None = None
    charging: bool | None = None
    error: bool | None = None
    soc: float | None = None
    phases: int | None = None
    # The car's current per phase (L1, L2, L3), when the wallbox measures it.
    currents_a: tuple[float, ...] | None = None
    user: str | None = None
    # The energy comes from a transaction's own register (OCPP): its steps are the
    # transaction's, whatever the timing of the messages, so no plausibility rule applies.
    energy_vouched: bool = False
    # What the car asks for (OCPP 2.0.1 NotifyEVChargingNeeds): it overrides the preferences.
    departure: datetime | None = None
    energy_wanted_kwh: float | None = None
