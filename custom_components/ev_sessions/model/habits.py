"""Learned habits: when a household usually plugs in and leaves, and how much it charges.

Per weekday (local time): the usual plug-in time (of sessions that began that day), the
usual unplug time (of sessions that ended that day) and the typical energy (of sessions
that began that day). Times of day are medians on the clock's circle, cut at the largest
gap in the data, so that times around midnight average correctly. A weekday with fewer
than ``MIN_SESSIONS`` sessions borrows the value over all days. Short stops (under
``MIN_DWELL``) say nothing about departures and are left out of the unplug times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
import statistics

from .session import Session

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIN_SESSIONS = 3
MIN_DWELL = timedelta(hours=2)
_DAY_MIN = 24 * 60


def circular_median_minutes(minutes: list[float]) -> float:
    """Median of times of day (minutes since midnight), cut at the largest gap."""
    ordered = sorted(m % _DAY_MIN for m in minutes)
    gaps = [
        ((ordered[(i + 1) % len(ordered)] - ordered[i]) % _DAY_MIN, i) for i in range(len(ordered))
    ]
    _, cut = max(gaps)
    start = ordered[(cut + 1) % len(ordered)]
    unrolled = [(m - start) % _DAY_MIN for m in ordered]
    return (statistics.median(unrolled) + start) % _DAY_MIN


def _clock(minutes: float) -> time:
    whole = round(minutes) % _DAY_MIN
    return time(whole // 60, whole % 60)


def _minutes(moment: datetime) -> float:
    return moment.hour * 60 + moment.minute + moment.second / 60


@dataclass(frozen=True, slots=True)
class Habits:
    """Usual plug-in and unplug times and typical energy, per weekday."""

    plug_in: dict[str, time]
    unplug: dict[str, time]
    energy_kwh: dict[str, float]
    sessions: int

    def next_departure(self, plugged_in: datetime, zone: tzinfo) -> datetime | None:
        """The first usual unplug time at least MIN_DWELL after a plug-in."""
        local = plugged_in.astimezone(zone)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            usual = self.unplug.get(WEEKDAYS[day.weekday()])
            if usual is None:
                continue
            candidate = datetime.combine(day, usual, tzinfo=zone)
            if candidate - local >= MIN_DWELL:
                return candidate
        return None


def learn_habits(sessions: Iterable[Session], zone: tzinfo) -> Habits | None:
    """Habits from finished sessions; None with too few of them to say anything."""
    done = [s for s in sessions if s.end is not None]
    if len(done) < MIN_SESSIONS:
        return None
    plug_ins: dict[str, list[float]] = {day: [] for day in WEEKDAYS}
    unplugs: dict[str, list[float]] = {day: [] for day in WEEKDAYS}
    energies: dict[str, list[float]] = {day: [] for day in WEEKDAYS}
    for session in done:
        assert session.end is not None
        start = session.start.astimezone(zone)
        end = session.end.astimezone(zone)
        day = WEEKDAYS[start.weekday()]
        plug_ins[day].append(_minutes(start))
        energies[day].append(session.energy_kwh)
        if session.end - session.start >= MIN_DWELL:
            unplugs[WEEKDAYS[end.weekday()]].append(_minutes(end))

    def per_day(
        values: dict[str, list[float]], reduce: Callable[[list[float]], float]
    ) -> dict[str, float]:
        everything = [v for day in WEEKDAYS for v in values[day]]
        if len(everything) < MIN_SESSIONS:
            return {}
        fallback = reduce(everything)
        return {
            day: reduce(values[day]) if len(values[day]) >= MIN_SESSIONS else fallback
            for day in WEEKDAYS
        }

    plug_in = per_day(plug_ins, circular_median_minutes)
    unplug = per_day(unplugs, circular_median_minutes)
    energy = per_day(energies, statistics.median)
    return Habits(
        plug_in={day: _clock(m) for day, m in plug_in.items()},
        unplug={day: _clock(m) for day, m in unplug.items()},
        energy_kwh=energy,
        sessions=len(done),
    )
