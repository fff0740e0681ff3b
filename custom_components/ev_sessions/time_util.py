"""Local calendar helpers: month bounds and the next departure at a clock time."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo

from homeassistant.util import dt as dt_util

from .model.planner import iso_in

type _Month = tuple[tzinfo, float, float, datetime, datetime]
# The months last asked about, newest first: zone, bounds (epoch s), starts. A few, not one:
# a session that began last month and this month's totals are asked about at each reading.
_months: list[_Month] = []
KEPT_MONTHS = 4


def _month_of(now: datetime) -> _Month:
    """The local month holding now.

    Worked out once per month and time zone: each reading asks about it several times.
    """
    zone = dt_util.get_default_time_zone()
    moment = now.timestamp()
    for known in _months:
        if known[0] is zone and known[1] <= moment < known[2]:
            return known
    first = dt_util.as_local(now).date().replace(day=1)
    start = dt_util.start_of_local_day(first)
    end = dt_util.start_of_local_day((first + timedelta(days=32)).replace(day=1))
    month = (zone, start.timestamp(), end.timestamp(), start, end)
    _months.insert(0, month)
    del _months[KEPT_MONTHS:]
    return month


def month_start(now: datetime) -> datetime:
    """Start of the local calendar month holding now, as an aware datetime."""
    return _month_of(now)[3]


def next_month_start(now: datetime) -> datetime:
    """Start of the local calendar month after the one holding now."""
    return _month_of(now)[4]


# The departures last worked out, by clock time and zone: (asked after, answer). Every moment
# from the one asked about up to the answer has the same next departure. By clock, so that
# wallboxes with different departure times do not push each other's out.
_departures: dict[tuple[str, tzinfo], tuple[datetime, datetime]] = {}
KEPT_DEPARTURES = 32


def next_departure(after: datetime, departure: str | None) -> datetime | None:
    """The first local departure time (HH:MM:SS) after a moment."""
    if not departure:
        return None
    key = (departure, dt_util.get_default_time_zone())
    known = _departures.get(key)
    if known is not None and known[0] <= after < known[1]:
        return known[1]
    moment = _next_departure(after, departure)
    if moment is not None:
        if len(_departures) >= KEPT_DEPARTURES:
            _departures.clear()
        _departures[key] = (after, moment)
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


def local_iso(moment: datetime) -> str:
    """A time as users read it: local, with its offset (ISO 8601).

    Remembered: the same few moments (a session's start, a plan's ends) are shown again at
    every reading.
    """
    return iso_in(moment, dt_util.get_default_time_zone())
