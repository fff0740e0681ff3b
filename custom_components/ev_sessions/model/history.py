"""Completed sessions: queries, monthly totals and CSV export."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
import csv
from datetime import UTC, datetime, timedelta, tzinfo
import io
from typing import Any

from .classify import fill, power_class
from .session import Session

CSV_COLUMNS = (
    "id",
    "start",
    "end",
    "user",
    "energy_kwh",
    "duration_h",
    "charging_h",
    "idle_h",
    "peak_power_kw",
    "average_power_kw",
    "phases",
    "soc_start",
    "soc_end",
    "energy_method",
    "charging_mode",
    "power_class",
    "fill",
    "cost",
    "currency",
    "estimated",
    "energy_cost",
    "grid_fee",
    "energy_tax",
    "markup",
    "session_fee",
    "power_fee",
    "vat",
    "power_fee_hours",
)


class SessionHistory:
    """Completed sessions, kept sorted by start.

    A query for a time range costs the logarithm of the history's size plus the sessions it
    finds: the starts are kept in a list to bisect, and no session is longer than the longest
    one seen, so nothing that started before ``start - longest`` can overlap ``start``.
    """

    def __init__(self, sessions: Iterable[Session] = ()) -> None:
        """Hold sessions (in any order)."""
        self._sessions: list[Session] = sorted(sessions, key=lambda s: s.start)
        self._by_id: dict[str, Session] = {s.id: s for s in self._sessions}
        # As epoch seconds: bisecting aware datetimes of other zones converts at each step.
        self._starts = [s.start.timestamp() for s in self._sessions]
        self._longest = max((_length(s) for s in self._sessions), default=timedelta(0))
        # Each session's stored form, with what it was made from: a save after a session
        # ends serialises that one session, not ten years of them.
        self._stored: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}

    def __len__(self) -> int:
        """Number of completed sessions."""
        return len(self._sessions)

    @property
    def sessions(self) -> list[Session]:
        """All sessions, oldest first."""
        return list(self._sessions)

    def recent(self, count: int) -> list[Session]:
        """The last ``count`` sessions, oldest first (without copying the whole history)."""
        return self._sessions[-count:] if count > 0 else []

    @property
    def last(self) -> Session | None:
        """The most recently started completed session."""
        return self._sessions[-1] if self._sessions else None

    def add(self, session: Session) -> None:
        """Add a completed session, or replace the one with the same id."""
        known = self._by_id.get(session.id)
        if known is not None:
            index = self._index_of(known)
            del self._sessions[index], self._starts[index]
        index = bisect.bisect_right(self._starts, session.start.timestamp())
        self._sessions.insert(index, session)
        self._starts.insert(index, session.start.timestamp())
        self._by_id[session.id] = session
        self._longest = max(self._longest, _length(session))

    def _index_of(self, session: Session) -> int:
        """Where a stored session is (among those with its start)."""
        index = bisect.bisect_left(self._starts, session.start.timestamp())
        while self._sessions[index] is not session:
            index += 1
        return index

    def between(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        user: str | None = None,
    ) -> list[Session]:
        """Sessions that overlap [start, end), optionally of one user."""
        found = []
        first = (
            0
            if start is None
            else bisect.bisect_left(self._starts, (start - self._longest).timestamp())
        )
        for session in self._sessions[first:] if first else self._sessions:
            if end is not None and session.start >= end:
                break
            if start is not None and session.end is not None and session.end <= start:
                continue
            if user is not None and session.user != user:
                continue
            found.append(session)
        return found

    def energy_between(self, start: datetime, end: datetime) -> float:
        """Energy metered in [start, end) by completed sessions."""
        return sum(s.energy_between(start, end) for s in self.between(start, end))

    def as_list(self) -> list[dict[str, Any]]:
        """Serialise for storage (unchanged sessions reuse their stored form)."""
        stored = self._stored
        result = []
        for session in self._sessions:
            mark = session_mark(session)
            known = stored.get(session.id)
            if known is None or known[0] != mark:
                known = (mark, session.as_dict())
                stored[session.id] = known
            result.append(known[1])
        if len(stored) > len(self._sessions):  # replaced ids
            live = set(self._by_id)
            self._stored = {key: value for key, value in stored.items() if key in live}
        return result

    @classmethod
    def from_list(cls, data: Iterable[dict[str, Any]]) -> SessionHistory:
        """Restore from storage."""
        return cls(Session.from_dict(item) for item in data)


def session_summary(
    session: Session, now: datetime, currency: str | None, zone: tzinfo | None = None
) -> dict[str, Any]:
    """The public description of a session (action responses, CSV, events).

    Times are ISO 8601 with their offset, in ``zone`` (the user's local time) when given.
    """
    average = session.average_power_w(now)

    def iso(moment: datetime | None) -> str | None:
        if moment is None:
            return None
        return (moment.astimezone(zone) if zone is not None else moment).isoformat()

    return {
        "id": session.id,
        "start": iso(session.start),
        "end": iso(session.end),
        "user": session.user,
        "energy_kwh": round(session.energy_kwh, 4),
        "duration_h": round(session.duration_s(now) / 3600, 4),
        "charging_h": round(session.charging_s(now) / 3600, 4),
        "idle_h": round(session.idle_s(now) / 3600, 4),
        "peak_power_kw": round(session.peak_power_w / 1000, 3),
        "average_power_kw": None if average is None else round(average / 1000, 3),
        "phases": session.phases,
        "soc_start": session.soc_start,
        "soc_end": session.soc_end,
        "energy_method": session.energy_method,
        "first_charge": iso(session.first_charge),
        "last_charge": iso(session.last_charge),
        "target_energy_kwh": session.target_energy_kwh,
        "departure": iso(session.departure),
        "charging_mode": session.charging_mode,
        "power_class": power_class(session),
        "fill": fill(session),
        "cost": None if session.cost is None else round(session.cost, 4),
        "currency": currency,
        "cost_breakdown": {k: round(v, 4) for k, v in session.cost_breakdown.items()},
        "estimated": session.cost_estimated,
        "power_fee_provisional": session.power_fee_provisional,
        # The month's hours (quarters, for 15-minute peaks) that set the power fee.
        "power_fee_hours": [
            iso(datetime.fromtimestamp(hour, UTC)) for hour in session.power_fee_hours
        ],
    }


USER_MONTH_COLUMNS = ("month", "user", "sessions", "energy_kwh", "cost", "currency", "estimated")


def user_month_rows(sessions: Iterable[Session], zone: tzinfo) -> list[dict[str, Any]]:
    """Energy and cost per user and local calendar month, for billing a shared garage.

    A session across a month's end is split by the energy charged in each month, and its
    cost in the same proportion. Sessions without a user are billed to "".
    """
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for session in sessions:
        end = session.end or session.last_charge or session.start
        for month_start, month_end in _months(session.start, max(end, session.start), zone):
            energy = session.energy_between(month_start, month_end)
            if energy <= 0 and month_start > session.start:
                continue
            key = (month_start.astimezone(zone).strftime("%Y-%m"), session.user or "")
            row = totals.setdefault(
                key, {"sessions": 0, "energy_kwh": 0.0, "cost": None, "estimated": False}
            )
            if month_start <= session.start < month_end:
                row["sessions"] += 1
            row["energy_kwh"] += energy
            if session.cost is not None and session.energy_kwh > 0:
                row["cost"] = (row["cost"] or 0.0) + session.cost * energy / session.energy_kwh
            row["estimated"] |= session.cost_estimated
    return [
        {
            "month": month,
            "user": user,
            "sessions": row["sessions"],
            "energy_kwh": round(row["energy_kwh"], 4),
            "cost": None if row["cost"] is None else round(row["cost"], 4),
            "estimated": row["estimated"],
        }
        for (month, user), row in sorted(totals.items())
    ]


def _months(start: datetime, end: datetime, zone: tzinfo) -> list[tuple[datetime, datetime]]:
    """The local calendar months [start, end) touches, as aware bounds."""
    local = start.astimezone(zone)
    first = datetime(local.year, local.month, 1, tzinfo=zone)
    months = []
    while first <= end:
        following = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=zone)
        months.append((first, following))
        first = following
    return months


def user_month_csv(rows: Iterable[dict[str, Any]], currency: str | None) -> str:
    """CSV text of the per-user, per-month billing rows."""
    return _csv(USER_MONTH_COLUMNS, ({**row, "currency": currency} for row in rows))


def sessions_csv(summaries: Iterable[dict[str, Any]]) -> str:
    """CSV text (RFC 4180, header row) of session summaries."""
    rows = []
    for summary in summaries:
        row = {**summary, **summary.get("cost_breakdown", {})}
        row["energy_cost"] = row.pop("energy", None)
        row["power_fee_hours"] = " ".join(summary.get("power_fee_hours") or ())
        rows.append(row)
    return _csv(CSV_COLUMNS, rows)


def _csv(columns: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> str:
    """A header row and one line per row, in the given columns; None is empty."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in columns})
    return buffer.getvalue()


def session_mark(session: Session) -> tuple[Any, ...]:
    """What changes when a finished session is changed (re-costed, late energy, a user)."""
    return (
        session.id,
        session.start,
        session.end,
        session.user,
        session.energy_kwh,
        session.cost,
        session.cost_estimated,
        session.power_fee_provisional,
        len(session.intervals),
        len(session.periods),
        session.soc_end,
        session.peak_power_w,
        tuple(session.power_fee_hours),
        tuple(session.cost_breakdown.items()),
    )


def _length(session: Session) -> timedelta:
    """How long a session lasted (an open one: nothing yet)."""
    return max(timedelta(0), (session.end or session.start) - session.start)
