"""Turn a stream of readings into charging sessions.

Rules (see the README, *How sessions are measured*):

* With a connection signal a session runs from plug-in to unplug. Power above the
  threshold also counts as plugged in (some wallboxes report "available" with the
  cable in). Without one, a session runs from the first reading above the power
  threshold until power has stayed at or below it for the grace period; it ends
  when power first dropped.
* Energy comes from the energy register's deltas when the wallbox has a register,
  otherwise from power held until the next reading (as Home Assistant reports
  power only when it changes), never across a gap longer than ``max_hold``.
* A register that goes backwards is held: if it comes back to (or above) the old
  value it was a glitch and nothing is lost or added; if it keeps rising from the
  lower value it was a reset (charger reboot) and counting goes on from zero.
  A forward jump larger than the charger could have delivered is ignored, unless
  the next reading confirms the new level, which then becomes the new base.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .reading import Reading
from .register import Register
from .session import (
    ChargingPeriod,
    Session,
    int_or_none as _int,
    number_or_none as _number,
    spread_evenly,
    spread_like,
    time_or_none as _safe_dt,
)

_H = 3600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackerConfig:
    """How a tracker detects sessions and meters energy."""

    uses_connection: bool
    has_register: bool
    power_threshold_w: float = 100.0
    grace_period: timedelta = timedelta(minutes=10)
    max_hold: timedelta = timedelta(minutes=15)
    plausible_power_w: float = 100_000.0
    register_noise_kwh: float = 0.01
    tail: timedelta = timedelta(minutes=2)
    max_vouched_kwh: float = 500.0  # more than any car takes in one step: a broken value


@dataclass(frozen=True, slots=True)
class SessionStarted:
    """A session began."""

    session: Session


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """A session ended."""

    session: Session


@dataclass(frozen=True, slots=True)
class SessionCorrected:
    """A session that already ended received late energy."""

    session: Session


type TrackerEvent = SessionStarted | SessionEnded | SessionCorrected


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class SessionTracker:
    """Session detection and energy metering for one wallbox."""

    def __init__(self, config: TrackerConfig) -> None:
        """Start with no history."""
        self.config = config
        self.active: Session | None = None
        self.last_ended: Session | None = None
        self.energy_total_kwh = 0.0
        self.session_count = 0
        self.ignored_readings = 0
        self.power_w: float | None = None
        self.soc: float | None = None
        self.connected: bool | None = None
        self.charging = False
        self.error = False
        self._time: datetime | None = None
        self.register = Register(config)
        self._below_since: datetime | None = None
        self._delta_from: datetime | None = None  # when the register last moved before now
        self._clock_offset = timedelta(0)  # how far the wall clock went back mid-session
        self._step_unjudged = False  # the next register step spans a clock jump
        # Power-integrated kWh per interval since the register last moved.
        self._shape: dict[int, float] = {}

    def reconfigure(self, config: TrackerConfig) -> None:
        """New detection settings, applied from the next reading on (nothing is lost)."""
        self.config = config
        self.register.config = config

    def update(self, reading: Reading) -> list[TrackerEvent]:
        """Take one reading into account and return what happened."""
        reading = self._on_clock(reading)
        events: list[TrackerEvent] = []
        since = self._time or reading.time
        parts = self._metered(reading, since)
        self._time = reading.time
        if parts:
            self._credit(parts, reading.time, events)

        self.power_w = reading.power_w
        if reading.soc is not None and reading.soc > 0:
            self.soc = reading.soc
        if reading.error is not None:
            self.error = reading.error
        observed = self._observe_charging(reading)
        if observed is not None:
            self.charging = observed
        if reading.connected is not None:
            self.connected = reading.connected

        if (ending := self.active) is not None:
            # What the car says in the reading that ends its session still belongs to it.
            self._follow_car(ending, reading)
        if self.config.uses_connection:
            self._follow_connection(reading, events)
        elif observed is not None:
            self._follow_power(reading, events)

        session = self.active
        if session is not None:
            self._follow_charging(session, reading)
            self._follow_car(session, reading)
        return events

    def _on_clock(self, reading: Reading) -> Reading:
        """The reading at the tracker's own time, which never runs backwards.

        When the wall clock is set back (a wrong clock corrected, a dead RTC battery), a
        session in progress goes on from where it was: time moves on from its last moment as
        the clock moves, so an unplug is not ignored and a register's rise is not taken for
        an implausible jump. Between sessions the tracker takes the clock as it is.
        """
        last = self._time
        if last is None:
            return reading
        raw = reading.time
        if self.active is None:
            self._clock_offset = timedelta(0)  # between sessions: the clock as it is
        if raw + self._clock_offset < last:
            self.ignored_readings += 1  # counts clock jumps back
            if self.active is None:
                self._clock_offset = timedelta(0)
                self._time = raw
                self.register.clock_set_back(raw)
                return reading
            self._clock_offset = last - raw
            # How long the jump really took is unknowable: the register's next step is
            # counted as it is (up to max_vouched_kwh), not judged by the time it seems to take.
            self._step_unjudged = True
        if not self._clock_offset:
            return reading
        return replace(reading, time=raw + self._clock_offset)

    # -- energy -----------------------------------------------------------------

    def _held_power_kwh(self, since: datetime, until: datetime) -> float:
        """Energy at the last known power, held until now (never over a long gap)."""
        if self.power_w is None or until - since > self.config.max_hold:
            return 0.0
        return max(0.0, self.power_w) / 1000.0 * (until - since).total_seconds() / _H

    def _metered(self, reading: Reading, since: datetime) -> dict[int, float]:
        """Energy since the previous reading, per 15-minute interval."""
        held = self._held_power_kwh(since, reading.time)
        if not self.config.has_register:
            return spread_evenly(held, since, reading.time) if held > 0 else {}
        if held > 0:
            for key, part in spread_evenly(held, since, reading.time).items():
                self._shape[key] = self._shape.get(key, 0.0) + part
        if reading.energy_kwh is None:
            return {}
        changed_at = self.register.time
        delta = self.register.step(
            reading.energy_kwh,
            reading.time,
            unjudged=reading.energy_vouched or self._step_unjudged,
        )
        self._step_unjudged = False
        parts: dict[int, float] = {}
        if delta > 0:
            self._delta_from = changed_at
            # Spread the register's step like the power measured since it last moved.
            if sum(self._shape.values()) > 0:
                parts = spread_like(delta, self._shape)
            else:
                parts = spread_evenly(delta, changed_at or since, reading.time)
        if self.register.time != changed_at:
            self._shape = {}
        return parts

    def _credit(self, parts: dict[int, float], until: datetime, events: list[TrackerEvent]) -> None:
        kwh = sum(parts.values())
        if self.active is not None:
            self.active.add_energy(parts)
            self.energy_total_kwh += kwh
            return
        ended = self.last_ended
        if (
            self.config.has_register
            and self.config.uses_connection
            and ended is not None
            and ended.end is not None
            and (
                until - ended.end <= self.config.tail
                or (self._delta_from is not None and self._delta_from <= ended.end)
            )
        ):
            # The register's last update arrived just after the unplug, or the register was
            # away when the session ended and came back higher (however much later; no new
            # session has started): what it counted since it last moved was delivered
            # while the car was plugged in.
            ended.add_energy(self._within(parts, ended))
            self.energy_total_kwh += kwh
            events.append(SessionCorrected(ended))

    def _within(self, parts: dict[int, float], session: Session) -> dict[int, float]:
        """Energy credited late to an ended session, moved inside the session's time."""
        assert session.end is not None
        end = session.end.timestamp()
        inside = {key: kwh for key, kwh in parts.items() if key < end}
        outside = sum(kwh for key, kwh in parts.items() if key >= end)
        if outside <= 0:
            return parts
        if sum(inside.values()) > 0:
            return spread_like(sum(parts.values()), inside)
        since = max(self._delta_from or session.start, session.start)
        return spread_evenly(sum(parts.values()), since, session.end)

    # -- state ------------------------------------------------------------------

    def _observe_charging(self, reading: Reading) -> bool | None:
        """Whether the car draws power now; None when nothing tells."""
        if reading.charging is not None:
            return reading.charging
        if reading.power_w is not None:
            return reading.power_w > self.config.power_threshold_w
        return None

    def _follow_connection(self, reading: Reading, events: list[TrackerEvent]) -> None:
        plugged = bool(self.connected) or self.charging
        if self.active is None:
            if plugged:
                self._start(reading, events)
        elif reading.connected is False and not self.charging:
            self._end(reading.time, events)

    def _follow_power(self, reading: Reading, events: list[TrackerEvent]) -> None:
        if self.charging:
            self._below_since = None
            if self.active is None:
                self._start(reading, events)
            return
        if self.active is None:
            return
        if self._below_since is None:
            self._below_since = reading.time
        if reading.time - self._below_since >= self.config.grace_period:
            self._end(self._below_since, events)

    def _follow_charging(self, session: Session, reading: Reading) -> None:
        periods = session.periods
        open_period = periods[-1] if periods and periods[-1].end is None else None
        if self.charging and open_period is None:
            session.periods.append(ChargingPeriod(reading.time))
        elif not self.charging and open_period is not None:
            open_period.end = self._below_since or reading.time
        if self.charging and self.power_w is not None:
            session.peak_power_w = max(session.peak_power_w, self.power_w)

    def _follow_car(self, session: Session, reading: Reading) -> None:
        """The car's SoC, phases and user, as the reading tells them."""
        if reading.phases is not None:
            session.phases = max(session.phases or 0, reading.phases)
        if self.soc is not None and reading.soc is not None and reading.soc > 0:
            if session.soc_start is None:
                session.soc_start = self.soc
            session.soc_end = self.soc
        if reading.user and session.user is None:
            session.user = reading.user

    def _start(self, reading: Reading, events: list[TrackerEvent]) -> None:
        self.session_count += 1
        session = Session(
            id=f"{reading.time.strftime('%Y%m%dT%H%M%S')}-{self.session_count}",
            start=reading.time,
            user=reading.user,
            energy_method="register" if self.config.has_register else "power",
        )
        self.active = session
        self._below_since = None
        events.append(SessionStarted(session))

    def _end(self, end: datetime, events: list[TrackerEvent]) -> None:
        session = self.active
        assert session is not None
        for period in session.periods:
            if period.end is None:
                period.end = end
        session.end = end
        self.active = None
        self.last_ended = session
        self._below_since = None
        events.append(SessionEnded(session))

    # -- persistence ------------------------------------------------------------

    @property
    def has_register(self) -> bool:
        """Whether an energy register value is known (the session's energy counts from it)."""
        return self.register.value is not None

    def as_dict(self) -> dict[str, Any]:
        """Everything needed to carry on after a restart."""
        return {
            "active": None if self.active is None else self.active.as_dict(),
            "last_ended": None if self.last_ended is None else self.last_ended.as_dict(),
            "energy_total_kwh": self.energy_total_kwh,
            "session_count": self.session_count,
            "ignored_readings": self.ignored_readings,
            "power_w": self.power_w,
            "soc": self.soc,
            "connected": self.connected,
            "charging": self.charging,
            "error": self.error,
            "time": _iso(self._time),
            **self.register.as_dict(),
            "below_since": _iso(self._below_since),
            "shape": [[key, kwh] for key, kwh in sorted(self._shape.items())],
            "clock_offset_s": self._clock_offset.total_seconds(),
        }

    @classmethod
    def from_dict(cls, config: TrackerConfig, data: Any) -> SessionTracker:
        """Carry on from a saved state; a damaged field gets its default.

        Raises ValueError when the state is not an object at all.
        """
        if not isinstance(data, dict):
            raise ValueError("the tracker state is not an object")
        tracker = cls(config)
        active = data.get("active")
        last_ended = data.get("last_ended")
        with contextlib.suppress(ValueError):
            tracker.active = None if active is None else Session.from_dict(active)
        with contextlib.suppress(ValueError):
            tracker.last_ended = None if last_ended is None else Session.from_dict(last_ended)
        tracker.energy_total_kwh = _number(data.get("energy_total_kwh")) or 0.0
        tracker.session_count = _int(data.get("session_count")) or 0
        tracker.ignored_readings = _int(data.get("ignored_readings")) or 0
        tracker.power_w = _number(data.get("power_w"))
        tracker.soc = _number(data.get("soc"))
        connected = data.get("connected")
        tracker.connected = connected if isinstance(connected, bool) else None
        tracker.charging = data.get("charging") is True
        tracker.error = data.get("error") is True
        tracker._time = _safe_dt(data.get("time"))
        tracker.register.restore(data)
        tracker._below_since = _safe_dt(data.get("below_since"))
        tracker._clock_offset = timedelta(seconds=_number(data.get("clock_offset_s")) or 0.0)
        shape = data.get("shape")
        for item in shape if isinstance(shape, list) else []:
            with contextlib.suppress(TypeError, ValueError, IndexError):
                tracker._shape[int(item[0])] = float(item[1])
        return tracker
