"""Local calendar helpers: month bounds and the next departure at a clock time."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from homeassistant.util import dt as dt_util


def month_start(now: datetime) -> datetime:
    """Start of the local calendar month holding now, as an aware datetime."""
    local = dt_util.as_local(now)
    return dt_util.start_of_local_day(local.date().replace(day=1))


def next_month_start(now: datetime) -> datetime:
    """Start of the local calendar month after the one holding now."""
    return month_start(month_start(now) + timedelta(days=32))


def next_departure(after: datetime, departure: str | None) -> datetime | None:
    """The first local departure time (HH:MM:SS) after a moment."""
    if not departure:
        return None
    clock = time.fromisoformat(departure)
    day = dt_util.as_local(after).date()
    for offset in range(2):
        candidate = dt_util.start_of_local_day(day + timedelta(days=offset))
        # Build the wall-clock time on that day in local time (DST-safe).
        moment = candidate.replace(hour=clock.hour, minute=clock.minute, second=clock.second)
        moment = dt_util.as_local(dt_util.as_utc(moment))
        if moment > after:
            return dt_util.as_utc(moment)
    return None  # pragma: no cover - the next day's departure is always later
