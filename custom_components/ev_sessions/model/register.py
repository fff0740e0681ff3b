"""An energy register as the tracker reads it: steps counted, glitches, resets and jumps judged.

A register's value is trusted only as far as it is plausible: a step larger than the wallbox
could deliver since the register last moved is held until a later value confirms the new
level (then it is the register's new base, not energy); a drop to zero is a glitch if the
value comes back, a reset if it counts on from the lower value. A step a transaction vouches
for (OCPP), or one across a clock jump back, is counted as it is, up to a sanity bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .session import number_or_none, time_or_none

_H = 3600.0


class RegisterConfig(Protocol):
    """The bounds a register is judged by."""

    @property
    def plausible_power_w(self) -> float:
        """The most the wallbox can deliver."""

    @property
    def register_noise_kwh(self) -> float:
        """Steps this small, either way, are noise."""

    @property
    def max_vouched_kwh(self) -> float:
        """The largest step counted without judging it."""


@dataclass(slots=True)
class Held:
    """A register value kept for later judgement, with when it was read."""

    value: float
    time: datetime


class Register:
    """The register's last accepted value and what is held for judgement."""

    def __init__(self, config: RegisterConfig) -> None:
        """Nothing read yet."""
        self.config = config
        self.value: float | None = None
        self.time: datetime | None = None
        self.dropped_from: Held | None = None
        self.jump: Held | None = None

    def plausible_kwh(self, since: datetime, until: datetime) -> float:
        """The most the wallbox could have delivered between two moments."""
        hours = max(0.0, (until - since).total_seconds()) / _H
        return self.config.plausible_power_w / 1000.0 * hours + self.config.register_noise_kwh

    def clock_set_back(self, now: datetime) -> None:
        """The clock went back between sessions: judge from now on."""
        if self.time is not None:
            self.time = min(self.time, now)

    def step(self, value: float, time: datetime, *, unjudged: bool = False) -> float:
        """The energy a new value adds (0 when it adds nothing, or nothing yet)."""
        if (
            unjudged
            and self.value is not None
            and 0 < value - self.value <= self.config.max_vouched_kwh
        ):
            delta = value - self.value
            self._accept(value, time)
            return delta
        if self.value is None or self.time is None:
            self._accept(value, time)
            return 0.0
        if value == self.value or (self.jump is not None and value == self.jump.value):
            # Unchanged (Home Assistant repeats states): nothing new, nothing decided.
            return 0.0
        dropped_from = self.dropped_from
        if dropped_from is not None:
            self.dropped_from = None
            if value >= dropped_from.value and value - dropped_from.value <= self.plausible_kwh(
                dropped_from.time, time
            ):
                # A glitch: the register came back. Count from where it was.
                self._accept(value, time)
                return value - dropped_from.value
            if self.value <= value <= self.plausible_kwh(dropped_from.time, time):
                # It was a reset after all: count on from the lower value.
                delta = value - self.value
                self._accept(value, time)
                return delta
        delta = value - self.value
        if delta < 0:
            return self._go_backwards(value, time, delta)
        if delta > self.plausible_kwh(self.time, time):
            jump = self.jump
            if (
                jump is not None
                and value >= jump.value
                and value - jump.value <= self.plausible_kwh(jump.time, time)
            ):
                # The new level holds: it is the register's new base.
                self._accept(value, time)
                return value - jump.value
            self.jump = Held(value, time)
            return 0.0
        self._accept(value, time)
        return delta

    def _go_backwards(self, value: float, time: datetime, delta: float) -> float:
        assert self.value is not None
        assert self.time is not None
        if delta >= -self.config.register_noise_kwh:
            return 0.0
        if 0 < value <= self.plausible_kwh(self.time, time):
            # A reset (charger reboot): the register counts again from zero.
            self._accept(value, time)
            return value
        # Zero (a glitch or a reset: the next reading tells) or a new, lower base.
        self.dropped_from = Held(self.value, self.time)
        self.value = value
        self.time = time
        self.jump = None
        return 0.0

    def _accept(self, value: float, time: datetime) -> None:
        # Only changed values get here, so plausibility is judged from the last
        # change: a register may update rarely (some only when a session ends).
        self.value = value
        self.time = time
        self.jump = None

    def as_dict(self) -> dict[str, Any]:
        """Serialise (the tracker's keys)."""
        return {
            "register": self.value,
            "register_time": None if self.time is None else self.time.isoformat(),
            "dropped_from": _held_list(self.dropped_from),
            "jump": _held_list(self.jump),
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Take back what was saved; damaged fields are left unknown."""
        self.value = number_or_none(data.get("register"))
        self.time = time_or_none(data.get("register_time"))
        self.dropped_from = _held(data.get("dropped_from"))
        self.jump = _held(data.get("jump"))


def _held_list(held: Held | None) -> list[Any] | None:
    return None if held is None else [held.value, held.time.isoformat()]


def _held(data: Any) -> Held | None:
    if not isinstance(data, list) or len(data) != 2:
        return None
    value, time = number_or_none(data[0]), time_or_none(data[1])
    return None if value is None or time is None else Held(value, time)
