"""A charging session and its charging periods, with a compact serialised form."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import math
from typing import Any

INTERVAL = timedelta(minutes=15)
_INTERVAL_S = int(INTERVAL.total_seconds())


def interval_start(moment: datetime) -> int:
    """Return the UTC epoch second at which the 15-minute interval holding moment starts."""
    return _interval_of(moment.timestamp())


def _interval_of(epoch_s: float) -> int:
    """The start of the 15-minute interval holding an epoch second (what interval_start gives)."""
    epoch = int(epoch_s)
    return epoch - epoch % _INTERVAL_S


def spread_evenly(kwh: float, since: datetime, until: datetime) -> dict[int, float]:
    """Split energy metered between since and until over its intervals, by time."""
    span = (until - since).total_seconds()
    if span <= 0:
        return {interval_start(until): kwh}
    start_s = since.timestamp()
    end_s = until.timestamp()
    key = _interval_of(start_s)  # interval_start(since), its timestamp taken once
    if start_s < end_s <= key + _INTERVAL_S:
        return {key: kwh}  # within one interval (most readings): what the loop below gives
    overlaps: dict[int, float] = {}
    while key < end_s:
        overlaps[key] = max(0.0, min(end_s, key + _INTERVAL_S) - max(start_s, key))
        key += _INTERVAL_S
    # Shares of what the overlaps add up to (not of the span): epoch seconds as floats are
    # too coarse for a span of microseconds, and the parts must add up to kwh exactly.
    total = sum(overlaps.values())
    if total <= 0:
        return {interval_start(until): kwh}
    return {key: kwh * overlap / total for key, overlap in overlaps.items()}


def spread_like(kwh: float, shape: dict[int, float]) -> dict[int, float]:
    """Split energy over intervals in proportion to a shape (e.g. integrated power)."""
    total = sum(shape.values())
    return {key: kwh * weight / total for key, weight in shape.items()}


def time_or_none(value: Any) -> datetime | None:
    """A stored time; None when missing or unreadable (always with a time zone)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def number_or_none(value: Any) -> float | None:
    """A stored number; None when missing, not a number or not finite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def int_or_none(value: Any) -> int | None:
    """A stored whole number; None when missing or not a number."""
    number = number_or_none(value)
    return None if number is None else int(number)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(slots=True)
class ChargingPeriod:
    """A stretch inside a session during which the car drew power."""

    start: datetime
    end: datetime | None = None
    energy_kwh: float = 0.0

    def seconds(self, now: datetime) -> float:
        """Length of the period, up to now while it is still open."""
        return ((self.end or now) - self.start).total_seconds()


@dataclass(slots=True)
class Session:
    """A plug-in to unplug session (or, without a connection signal, a charging run)."""

    id: str
    start: datetime
    end: datetime | None = None
    user: str | None = None
    energy_kwh: float = 0.0
    peak_power_w: float = 0.0
    phases: int | None = None
    soc_start: float | None = None
    soc_end: float | None = None
    energy_method: str = "register"
    periods: list[ChargingPeriod] = field(default_factory=list)
    # Energy per 15-minute interval: UTC epoch second of the interval start -> kWh.
    intervals: dict[int, float] = field(default_factory=dict)
    # Preferences that applied to the session (set by the coordinator).
    target_energy_kwh: float | None = None
    departure: datetime | None = None
    charging_mode: str | None = None
    # What it cost under the tariff that applied (set when it ends, corrected while
    # estimated or while the month's power fee is provisional).
    cost: float | None = None
    cost_breakdown: dict[str, float] = field(default_factory=dict)
    cost_estimated: bool = False
    power_fee_provisional: bool = False
    power_fee_hours: list[int] = field(default_factory=list)  # UTC starts that set the fee
    # How often energy went to an interval before the latest (a late register update spread
    # back, a gap filled): while it and the number of intervals stay, a reading changed the
    # latest interval alone, and what is kept of the others holds (see add_energy).
    earlier_changes: int = field(default=0, init=False, repr=False, compare=False)
    _latest: int | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def first_charge(self) -> datetime | None:
        """When the car first drew power."""
        return self.periods[0].start if self.periods else None

    @property
    def last_charge(self) -> datetime | None:
        """When the car last stopped drawing power (None while it still draws)."""
        return self.periods[-1].end if self.periods else None

    def duration_s(self, now: datetime) -> float:
        """Plug-in to unplug (or now) in seconds."""
        return ((self.end or now) - self.start).total_seconds()

    def charging_s(self, now: datetime) -> float:
        """Seconds spent drawing power."""
        return sum(period.seconds(self.end or now) for period in self.periods)

    def idle_s(self, now: datetime) -> float:
        """Seconds connected without drawing power."""
        return max(0.0, self.duration_s(now) - self.charging_s(now))

    def average_power_w(self, now: datetime, charging_s: float | None = None) -> float | None:
        """Mean power while charging (``charging_s``: the session's, when already worked out)."""
        seconds = self.charging_s(now) if charging_s is None else charging_s
        if seconds <= 0:
            return None
        return self.energy_kwh * 3_600_000.0 / seconds

    def add_energy(self, by_interval: dict[int, float]) -> None:
        """Add energy metered per 15-minute interval (interval start -> kWh)."""
        kwh = sum(by_interval.values())
        self.energy_kwh += kwh
        if self.periods:
            # The open period, or the last one for a late register update.
            self.periods[-1].energy_kwh += kwh
        intervals = self.intervals
        latest = self.latest_interval
        gap = False
        for key, part in by_interval.items():
            if latest is None or key > latest:
                latest = key
            elif key != latest:
                self.earlier_changes += 1
                gap |= key not in intervals
            intervals[key] = intervals.get(key, 0.0) + part
        self._latest = latest
        if gap:  # an interval before the latest filled in: the intervals stay in time order
            ordered = sorted(intervals.items())
            intervals.clear()
            intervals.update(ordered)

    @property
    def latest_interval(self) -> int | None:
        """The start of the latest interval with energy (intervals change by add_energy)."""
        if self._latest is None and self.intervals:
            self._latest = max(self.intervals)
        return self._latest

    def only_latest_changed(self, since: tuple[int, int, int | None] | None) -> bool:
        """Whether only the latest interval's energy changed since ``changes()`` gave since.

        And the latest interval is the last one in the dict (sums in its order stay the
        same floats with it added last).
        """
        intervals = self.intervals
        return (
            since is not None
            and since == self.changes()
            and since[2] is not None
            and next(reversed(intervals)) == since[2]
        )

    def changes(self) -> tuple[int, int, int | None]:
        """What only_latest_changed compares: earlier changes, intervals, the latest."""
        return self.earlier_changes, len(self.intervals), self.latest_interval

    def energy_between(self, start: datetime, end: datetime) -> float:
        """Energy metered in the intervals that start in [start, end)."""
        low, high = start.timestamp(), end.timestamp()
        # Added one by one in the intervals' (time) order, not by sum(), which compensates:
        # a sum kept of the earlier intervals plus the latest is then the same float (see
        # EnergyBetween).
        total = 0.0
        for key, kwh in self.intervals.items():
            if low <= key < high:
                total += kwh
        return total

    def as_dict(self) -> dict[str, Any]:
        """Serialise for storage."""
        return {
            "id": self.id,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "user": self.user,
            "energy_kwh": self.energy_kwh,
            "peak_power_w": self.peak_power_w,
            "phases": self.phases,
            "soc_start": self.soc_start,
            "soc_end": self.soc_end,
            "energy_method": self.energy_method,
            "periods": [[_iso(p.start), _iso(p.end), p.energy_kwh] for p in self.periods],
            "intervals": [[key, kwh] for key, kwh in sorted(self.intervals.items())],
            "target_energy_kwh": self.target_energy_kwh,
            "departure": _iso(self.departure),
            "charging_mode": self.charging_mode,
            "cost": self.cost,
            "cost_breakdown": self.cost_breakdown,
            "cost_estimated": self.cost_estimated,
            "power_fee_provisional": self.power_fee_provisional,
            "power_fee_hours": list(self.power_fee_hours),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        """Restore from storage, repairing what can be repaired field by field.

        A damaged field gets its default (a partial write or a hand edit must not cost the
        session); only a session without a readable start cannot be restored (ValueError).
        """
        if not isinstance(data, dict):
            raise ValueError("a session is not an object")
        start = time_or_none(data.get("start"))
        if start is None:
            raise ValueError(f"a session without a start: {data.get('id')!r}")
        intervals: dict[int, float] = {}
        for item in _list(data.get("intervals")):
            with contextlib.suppress(TypeError, ValueError, IndexError):
                intervals[int(item[0])] = float(item[1])
        periods = []
        for item in _list(data.get("periods")):
            with contextlib.suppress(TypeError, ValueError, IndexError):
                periods.append(
                    ChargingPeriod(
                        time_or_none(item[0]) or start, time_or_none(item[1]), float(item[2])
                    )
                )
        return cls(
            id=str(data.get("id") or f"{start:%Y%m%dT%H%M%S}-restored"),
            start=start,
            end=time_or_none(data.get("end")),
            user=_text(data.get("user")),
            energy_kwh=number_or_none(data.get("energy_kwh")) or 0.0,
            peak_power_w=number_or_none(data.get("peak_power_w")) or 0.0,
            phases=int_or_none(data.get("phases")),
            soc_start=number_or_none(data.get("soc_start")),
            soc_end=number_or_none(data.get("soc_end")),
            energy_method=str(data.get("energy_method") or "register"),
            periods=periods,
            intervals=intervals,
            target_energy_kwh=number_or_none(data.get("target_energy_kwh")),
            departure=time_or_none(data.get("departure")),
            charging_mode=_text(data.get("charging_mode")),
            cost=number_or_none(data.get("cost")),
            cost_breakdown={
                str(key): value
                for key, value in (data.get("cost_breakdown") or {}).items()
                if number_or_none(value) is not None
            }
            if isinstance(data.get("cost_breakdown"), dict)
            else {},
            cost_estimated=data.get("cost_estimated") is True,
            power_fee_provisional=data.get("power_fee_provisional") is True,
            power_fee_hours=[
                int(hour)
                for hour in (data.get("power_fee_hours") or [])
                if isinstance(hour, int) and not isinstance(hour, bool)
            ]
            if isinstance(data.get("power_fee_hours"), list)
            else [],
        )


class EnergyBetween:
    """``Session.energy_between`` for a session in progress, asked at every reading.

    Its intervals before the latest are summed again only when they changed (see
    ``Session.changes``) or the range's start moved, not at every reading: the same sum, in
    the same order.
    """

    __slots__ = ("_kept",)

    def __init__(self) -> None:
        """Nothing kept yet."""
        # The session, the range's start, its changes then, the earlier intervals' sum.
        self._kept: tuple[Session, float, tuple[int, int, int | None], float] | None = None

    def __call__(self, session: Session, start: datetime, end: datetime) -> float:
        """Energy metered in the session's intervals that start in [start, end)."""
        latest = session.latest_interval
        low = start.timestamp()
        if latest is None or not low <= latest < end.timestamp():
            return session.energy_between(start, end)
        kept = self._kept
        if (
            kept is None
            or kept[0] is not session
            or kept[1] != low
            or not session.only_latest_changed(kept[2])
        ):
            # The others all start before the latest, so before the range's end.
            earlier = 0.0
            for key, kwh in session.intervals.items():
                if key != latest and low <= key:
                    earlier += kwh
            kept = self._kept = (session, low, session.changes(), earlier)
        return kept[3] + session.intervals[latest]
