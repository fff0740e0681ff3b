"""Protect the house connection: the charger current that keeps every phase under the fuse.

The guard lowers the limit at once when the household's load rises and raises it again only
after the room has lasted a while, one step at a time (hysteresis), so that it neither trips
the fuse nor wears out the charger with constant writes. Below the car's minimum current
(6 A, IEC 61851) charging pauses, and resumes once there is room for it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import math
from typing import Any

VOLTAGE = 230.0
MIN_CURRENT_A = 6.0
DRAWING_A = 0.5  # a phase carrying less than this is not one the car charges on
TOLERANCE_A = 1.0  # meters read at slightly different moments


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardConfig:
    """The connection and the charger."""

    fuse_a: float
    house_phases: int = 3
    charger_phases: int = 3
    margin_a: float = 1.0
    max_current_a: float = 32.0
    raise_after: timedelta = timedelta(minutes=1)
    raise_step_a: float = 2.0


@dataclass(frozen=True, slots=True)
class CarDraw:
    """How the car draws its current, as far as it is known."""

    per_phase_a: tuple[float, ...] | None = None
    """Measured current per house phase (L1, L2, L3), when the wallbox reports it."""
    total_a: float = 0.0
    """The car's power at 230 V, when the split over the phases is not measured."""
    phases: int | None = None
    """The phases the car uses, when known."""


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """What the guard allows now."""

    limit_a: float
    """Charger current per phase allowed now (0 while paused)."""
    available_w: float
    """Charging power the connection has room for now."""
    overload: bool
    """A phase is above the fuse now."""
    changed: bool
    """The limit differs from the previous decision (send it to the charger)."""


def phase_loads(
    currents_a: list[float | None] | None, house_power_w: float | None, phases: int
) -> list[float] | None:
    """Per-phase household currents from current sensors, else spread from total power."""
    if currents_a and all(current is not None for current in currents_a):
        return [float(current) for current in currents_a if current is not None]
    if house_power_w is not None:
        return [max(0.0, house_power_w) / VOLTAGE / phases] * phases
    return None


class LoadGuard:
    """Decides the charger current limit from the household's load."""

    def __init__(self, config: GuardConfig) -> None:
        """Start with the charger's full current allowed."""
        self.config = config
        self.limit_a = config.max_current_a
        self._room_since: datetime | None = None

    def update(self, now: datetime, house_a: list[float], charger_a: float) -> GuardDecision:
        """Take the household's per-phase currents (charger included) and the charger's own.

        The charger draws ``charger_a`` on each of its phases (L1 for a 1-phase charger,
        L1-L3 for a 3-phase one); the rest of each phase is the household's other load.
        """
        phases = min(self.config.charger_phases, len(house_a))
        draw = tuple(charger_a if index < phases else 0.0 for index in range(len(house_a)))
        return self.update_car(now, house_a, CarDraw(per_phase_a=draw))

    def room_a(self, house_a: list[float], car: CarDraw) -> float:
        """The current per phase the car may draw, whatever is known of how it draws.

        Measured per-phase currents of the car give each phase's other load exactly. Without
        them, every way the car could be drawing what it draws (one phase, any of them; or
        all of the charger's phases) that the household currents allow is considered, and
        the room must be safe for each: a car on one phase at exactly fuse - margin keeps
        charging, and a guess never lets a phase exceed the fuse.
        """
        config = self.config
        cap = config.fuse_a - config.margin_a
        count = len(house_a)
        charger = list(range(min(config.charger_phases, count)))
        if car.per_phase_a is not None:
            draw = list(car.per_phase_a) + [0.0] * (count - len(car.per_phase_a))
            used = [i for i in charger if draw[i] >= DRAWING_A] or charger
            return min(cap - max(0.0, house_a[i] - draw[i]) for i in used)
        rooms: list[float] = []
        if car.phases in (None, 1):
            for i in charger:
                if house_a[i] >= car.total_a - TOLERANCE_A:
                    rooms.append(cap - max(0.0, house_a[i] - car.total_a))
        if car.phases != 1 and len(charger) > 1:
            spread = charger[: car.phases or len(charger)]
            each = car.total_a / len(spread)
            if car.phases is not None or all(house_a[i] >= each - TOLERANCE_A for i in spread):
                rooms.append(min(cap - max(0.0, house_a[i] - each) for i in spread))
        if not rooms:
            # The meters and the car disagree for a moment: count the car as other load.
            rooms.append(min(cap - house_a[i] for i in charger))
        return min(rooms)

    def update_car(self, now: datetime, house_a: list[float], car: CarDraw) -> GuardDecision:
        """Take the household's per-phase currents (the car included) and how the car draws."""
        config = self.config
        overload = any(current > config.fuse_a for current in house_a)
        allowed = max(0.0, min(self.room_a(house_a, car), config.max_current_a))
        previous = self.limit_a
        if allowed < self.limit_a:
            # React at once: never above what the fuse allows.
            self.limit_a = math.floor(allowed) if allowed >= MIN_CURRENT_A else 0.0
            self._room_since = None
        else:
            target = min(allowed, config.max_current_a)
            step_to = self.limit_a + config.raise_step_a if self.limit_a else MIN_CURRENT_A
            if target >= min(step_to, config.max_current_a) and target > self.limit_a:
                if self._room_since is None:
                    self._room_since = now
                if now - self._room_since >= config.raise_after:
                    self.limit_a = float(math.floor(min(target, step_to)))
                    self._room_since = now
            else:
                self._room_since = None
        phases = car.phases or config.charger_phases
        available = allowed * VOLTAGE * phases if allowed >= MIN_CURRENT_A else 0.0
        return GuardDecision(
            limit_a=self.limit_a,
            available_w=available,
            overload=overload,
            changed=self.limit_a != previous,
        )

    def as_dict(self) -> dict[str, Any]:
        """Serialise for storage."""
        return {"limit_a": self.limit_a}

    def restore(self, data: dict[str, Any]) -> None:
        """Take back the limit last sent."""
        self.limit_a = float(data.get("limit_a", self.limit_a))


@dataclass(frozen=True, slots=True)
class DeliveryCheck:
    """Whether the car gets clearly less than the limit and phases allow, and why."""

    under_delivering: bool
    reason: str | None
    expected_w: float


class DeliveryMonitor:
    """Spots a wallbox or car that delivers well below what it should, for minutes on end."""

    def __init__(self, ratio: float = 0.7, after: timedelta = timedelta(minutes=5)) -> None:
        """Flag delivery below ratio x expected that lasts longer than after."""
        self.ratio = ratio
        self.after = after
        self._low_since: datetime | None = None

    def update(
        self,
        now: datetime,
        *,
        charging: bool,
        power_w: float | None,
        expected_w: float,
        phases_used: int | None,
        charger_phases: int,
        soc: float | None,
    ) -> DeliveryCheck:
        """Take what is drawn and what should be; say whether it is too little for too long."""
        low = (
            charging
            and power_w is not None
            and expected_w > 0
            and power_w < self.ratio * expected_w
        )
        if not low:
            self._low_since = None
            return DeliveryCheck(False, None, expected_w)
        if self._low_since is None:
            self._low_since = now
        if now - self._low_since < self.after:
            return DeliveryCheck(False, None, expected_w)
        if phases_used is not None and phases_used < charger_phases:
            reason = "fewer_phases"
        elif soc is not None and soc >= 80:
            reason = "battery_nearly_full"
        else:
            reason = "car_or_cable_limit"
        return DeliveryCheck(True, reason, expected_w)
