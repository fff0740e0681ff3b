"""Local calendar helpers: month bounds and the next departure at a clock time."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo

from homeassistant.util import dt as dt_util

type _Month = tuple[tzinfo, float, float, datetime, datetime]
_month: _Month | None = None  # the month last asked about: zone, bounds (epoch s), starts


def _month_of(now: datetime) -> _Month:
    """The local month holding now.

    Worked out once per month and time zone: each reading asks about it several times.
    """
    global _month  # noqa: PLW0603 - a one-entry cache
    zone = dt_util.get_default_time_zone()
    moment = now.timestamp()
    known = _month
    if known is not None and known[0] is zone and known[1] <= moment < known[2]:
        return known
    first = dt_util.as_local(now).date().replace(day=1)
    start = dt_util.start_of_local_day(first)
    end = dt_util.start_of_local_day((first + timedelta(days=32)).replace(day=1))
    _month = (zone, start.timestamp(), end.timestamp(), start, end)
    return _month


def month_start(now: datetime) -> datetime:
    """Start of the local calendar month holding now, as an aware datetime."""
    return _month_of(now)[3]


def next_month_start(now: datetime) -> datetime:
    """Start of the local calendar month after the one holding now."""
    return _month_of(now)[4]


# The departure last worked out: (clock, zone, asked after, answer). Every moment from the one
# asked about up to the answer has the same next departure.
_departure: tuple[str, tzinfo, datetime, datetime] | None = None


def next_departure(after: datetime, departure: str | None) -> datetime | None:
    """The first local departure time (HH:MM:SS) after a moment."""
    global _departure  # noqa: PLW0603 - a one-entry cache: each reading asks again
    if not departure:
        return None
    known = _departure
    zone = dt_util.get_default_time_zone()
    if (
        known is not None
        and known[0] == departure
        and known[1] is zone
        and known[2] <= after < known[3]
    ):
        return known[3]
    moment = _next_departure(after, departure)
    if moment is not None:
        _departure = (departure, zone, after, moment)
    return moment


def _next_departure(after: datetime, departure: str) -> datetime | None:
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
