"""A simulated car on a simulated wallbox, for the demo and for tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .reading import Reading

VOLTAGE = 230.0
MIN_CURRENT_A = 6.0
TAPER_FROM_SOC = 80.0
TAPER_END_FRACTION = 0.1
_STEP_S = 10.0


@dataclass(slots=True)
class SimulatedWallbox:
    """Wallbox and car physics.

    The wallbox offers ``phases`` × 230 V × current limit, up to its maximum power.
    The car takes all of it below 80 % SoC; above, what it takes falls linearly to a
    tenth at 100 %, where it stops. Below 6 A nothing flows (IEC 61851 minimum).
    """

    max_power_kw: float
    phases: int
    battery_capacity_kwh: float
    current_limit_a: float = 16.0
    charging_enabled: bool = True
    connected: bool = False
    soc: float = 50.0
    register_kwh: float = 0.0
    time: datetime | None = None
    plug_ins: int = 0
    car_phases: int | None = None
    """Phases the car's charger uses (None: as many as the wallbox has)."""

    def offered_power_w(self) -> float:
        """Power the wallbox offers the car."""
        if not (self.connected and self.charging_enabled) or self.current_limit_a < MIN_CURRENT_A:
            return 0.0
        return min(self.max_power_kw * 1000.0, self.phases_used * VOLTAGE * self.current_limit_a)

    @property
    def phases_used(self) -> int:
        """Phases that carry current: the wallbox's, or fewer if the car takes fewer."""
        return min(self.phases, self.car_phases or self.phases)

    def accepted_power_w(self) -> float:
        """Power the car draws now."""
        offered = self.offered_power_w()
        if offered <= 0 or self.soc >= 100.0:
            return 0.0
        if self.soc <= TAPER_FROM_SOC:
            return offered
        fraction = 1.0 - (self.soc - TAPER_FROM_SOC) / (100.0 - TAPER_FROM_SOC) * (
            1.0 - TAPER_END_FRACTION
        )
        return offered * fraction

    def advance(self, now: datetime) -> None:
        """Let time pass until now."""
        if self.time is None or now <= self.time:
            self.time = now if self.time is None else self.time
            return
        remaining = (now - self.time).total_seconds()
        while remaining > 0:
            step = min(_STEP_S, remaining)
            kwh = self.accepted_power_w() * step / 3_600_000.0
            self.register_kwh += kwh
            self.soc = min(100.0, self.soc + kwh / self.battery_capacity_kwh * 100.0)
            remaining -= step
        self.time = now

    def plug_in(self, now: datetime) -> None:
        """A car arrives (with a SoC that varies from one arrival to the next)."""
        self.advance(now)
        if self.connected:
            return
        self.plug_ins += 1
        self.connected = True
        self.soc = 20.0 + (self.plug_ins * 17) % 50

    def unplug(self, now: datetime) -> None:
        """The car leaves."""
        self.advance(now)
        self.connected = False

    def reading(self, now: datetime) -> Reading:
        """What the wallbox reports at now."""
        self.advance(now)
        power = self.accepted_power_w()
        return Reading(
            time=now,
            power_w=round(power, 1),
            energy_kwh=round(self.register_kwh, 4),
            connected=self.connected,
            charging=power > 0,
            error=False,
            soc=round(self.soc, 1) if self.connected else None,
            phases=self.phases_used if power > 0 else None,
        )
