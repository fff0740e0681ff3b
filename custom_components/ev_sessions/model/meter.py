"""Hourly energy from a power sensor (the household's total, for power fees)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .session import spread_evenly
from .tariff import hourly

MAX_HOLD = timedelta(minutes=15)


class HourlyMeter:
    """Energy per clock hour, integrated from power held until the next reading."""

    def __init__(self) -> None:
        """Start empty."""
        self.hours: dict[int, float] = {}
        self.quarters: dict[int, float] = {}  # the same by quarter hour (15-minute peaks)
        self._time: datetime | None = None
        self._power_w: float | None = None
        self._kept_from = float("-inf")  # every hour before this was pruned
        # A month's hours (or quarters), asked at every reading, kept up to date by update:
        # (low, high, by quarter) -> key -> kWh.
        self._ranges: dict[tuple[float, float, bool], dict[int, float]] = {}

    def update(self, time: datetime, power_w: float | None) -> None:
        """Take a power reading (None: unknown, nothing is counted until the next one)."""
        if self._time is not None and time < self._time:
            return
        if self._time is not None and self._power_w is not None and time - self._time <= MAX_HOLD:
            kwh = max(0.0, self._power_w) / 1000 * (time - self._time).total_seconds() / 3600
            quarters = spread_evenly(kwh, self._time, time)
            for quarter, part in quarters.items():
                self.quarters[quarter] = self.quarters.get(quarter, 0.0) + part
            hours = hourly(quarters)
            for hour, part in hours.items():
                self.hours[hour] = self.hours.get(hour, 0.0) + part
            for (low, high, by_quarter), kept in self._ranges.items():
                # The same additions as above, so the same floats.
                for key, part in (quarters if by_quarter else hours).items():
                    if low <= key < high:
                        kept[key] = kept.get(key, 0.0) + part
        self._time = time
        self._power_w = power_w

    def between(self, low: float, high: float, *, by_quarter: bool = False) -> dict[int, float]:
        """The energy by hour (or quarter) starting in [low, high) (epoch seconds).

        Picked out once and then kept up to date at each update: a month's 700 hours are
        asked for at every reading. A copy: the caller may change it.
        """
        key = (low, high, by_quarter)
        kept = self._ranges.get(key)
        if kept is None:
            if len(self._ranges) >= 4:
                self._ranges.clear()
            source = self.quarters if by_quarter else self.hours
            kept = self._ranges[key] = {k: kwh for k, kwh in source.items() if low <= k < high}
        return dict(kept)

    def prune(self, before: datetime) -> None:
        """Forget the hours that start before a moment."""
        limit = before.timestamp()
        if limit <= self._kept_from:
            return  # nothing new to forget (the usual case: one look per reading)
        self._kept_from = limit
        self._ranges.clear()
        self.hours = {hour: kwh for hour, kwh in self.hours.items() if hour >= limit}
        self.quarters = {key: kwh for key, kwh in self.quarters.items() if key >= limit}

    def prunes(self, before: datetime) -> bool:
        """Whether pruning before a moment would forget anything new."""
        return before.timestamp() > self._kept_from

    def as_dict(self) -> dict[str, Any]:
        """Serialise for storage."""
        return {
            "hours": [[hour, kwh] for hour, kwh in sorted(self.hours.items())],
            "quarters": [[key, kwh] for key, kwh in sorted(self.quarters.items())],
            "time": None if self._time is None else self._time.isoformat(),
            "power_w": self._power_w,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HourlyMeter:
        """Restore from storage."""
        meter = cls()
        meter.hours = {int(hour): kwh for hour, kwh in data.get("hours", [])}
        meter.quarters = {int(key): kwh for key, kwh in data.get("quarters", [])}
        meter._time = datetime.fromisoformat(data["time"]) if data.get("time") else None
        meter._power_w = data.get("power_w")
        return meter
