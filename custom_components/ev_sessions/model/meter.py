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

    def update(self, time: datetime, power_w: float | None) -> None:
        """Take a power reading (None: unknown, nothing is counted until the next one)."""
        if self._time is not None and time < self._time:
            return
        if self._time is not None and self._power_w is not None and time - self._time <= MAX_HOLD:
            kwh = max(0.0, self._power_w) / 1000 * (time - self._time).total_seconds() / 3600
            quarters = spread_evenly(kwh, self._time, time)
            for quarter, part in quarters.items():
                self.quarters[quarter] = self.quarters.get(quarter, 0.0) + part
            for hour, part in hourly(quarters).items():
                self.hours[hour] = self.hours.get(hour, 0.0) + part
        self._time = time
        self._power_w = power_w

    def prune(self, before: datetime) -> None:
        """Forget the hours that start before a moment."""
        limit = before.timestamp()
        if limit <= self._kept_from:
            return  # nothing new to forget (the usual case: one look per reading)
        self._kept_from = limit
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
