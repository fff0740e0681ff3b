"""Price series: (start, end, value) intervals of any length, read from any common shape.

Prices are per kWh in the currency's main unit (kronor, euro). Intervals are kept by
absolute start (UTC), never by local hour, so 23- and 25-hour days need no special care.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
import itertools
import re
from typing import Any

from .units import parse_number

# Attribute names that hold price lists, in the integrations that use them:
# HACS Nord Pool and Energi Data Service (raw_today/raw_tomorrow), ENTSO-e
# (prices_today/prices_tomorrow/prices), GE-Spot and others (today_interval_prices...).
PRICE_LIST_ATTRIBUTES = (
    "raw_today",
    "raw_tomorrow",
    "prices_today",
    "prices_tomorrow",
    "prices",
    "today_interval_prices",
    "tomorrow_interval_prices",
    "data",
)
_START_KEYS = ("start", "time", "hour", "startsAt", "start_time", "deliveryStart")
_END_KEYS = ("end", "endsAt", "end_time", "deliveryEnd")
_VALUE_KEYS = ("value", "price", "total")
_SUBUNITS = {"öre", "ore", "øre", "cent", "cents", "c", "ct", "p", "pence", "gr", "rappen"}


class PriceShapeError(ValueError):
    """The price entity's data has no shape this integration knows.

    ``reason`` names what is wrong (the config flow's error is ``price_<reason>``) and
    ``details`` are the values its message shows; ``str()`` is for the log.
    """

    def __init__(self, reason: str, message: str, **details: str) -> None:
        """Keep the reason and the details."""
        super().__init__(message)
        self.reason = reason
        self.details = details


@dataclass(frozen=True, slots=True)
class PriceInterval:
    """A price valid from start (inclusive) to end (exclusive)."""

    start: datetime
    end: datetime
    value: float


class PriceSeries:
    """Non-overlapping price intervals, sorted by start."""

    def __init__(self, intervals: Iterable[PriceInterval] = ()) -> None:
        """Keep the intervals (in UTC, whatever zone they came in); equal starts: the later."""
        by_start = {}
        for given in intervals:
            interval = given
            if given.start.tzinfo is not UTC or given.end.tzinfo is not UTC:
                interval = PriceInterval(
                    given.start.astimezone(UTC), given.end.astimezone(UTC), given.value
                )
            by_start[interval.start] = interval
        self._intervals = sorted(by_start.values(), key=lambda i: i.start)
        self._starts = [interval.start for interval in self._intervals]
        self._stored: list[list[Any]] | None = None

    def __len__(self) -> int:
        """Number of intervals."""
        return len(self._intervals)

    def __iter__(self) -> Any:
        """The intervals, oldest first."""
        return iter(self._intervals)

    @property
    def end(self) -> datetime | None:
        """End of the last known interval."""
        return self._intervals[-1].end if self._intervals else None

    def at(self, moment: datetime) -> float | None:
        """The price valid at moment, or None when unknown."""
        index = bisect.bisect_right(self._starts, moment) - 1
        if index < 0:
            return None
        interval = self._intervals[index]
        return interval.value if moment < interval.end else None

    def before(self, moment: datetime) -> float | None:
        """The last price of an interval that started before moment."""
        index = bisect.bisect_left(self._starts, moment) - 1
        return self._intervals[index].value if index >= 0 else None

    def merged(self, newer: PriceSeries) -> PriceSeries:
        """Both series together; newer wins where both have an interval."""
        return PriceSeries([*self._intervals, *newer._intervals])

    def hourly_means(self) -> PriceSeries:
        """Each clock hour at the time-weighted mean of its known prices (hourly settlement)."""
        sums: dict[datetime, tuple[float, float]] = {}
        for interval in self._intervals:
            hour = interval.start.replace(minute=0, second=0, microsecond=0)
            seconds = (interval.end - interval.start).total_seconds()
            total, weight = sums.get(hour, (0.0, 0.0))
            sums[hour] = (total + interval.value * seconds, weight + seconds)
        return PriceSeries(
            PriceInterval(hour, hour + timedelta(hours=1), total / weight)
            for hour, (total, weight) in sums.items()
        )

    def since(self, moment: datetime) -> PriceSeries:
        """Only the intervals that end after moment (to keep stored history small)."""
        return PriceSeries(i for i in self._intervals if i.end > moment)

    def as_list(self) -> list[list[Any]]:
        """Serialise for storage; not to be modified by the caller.

        Made once: a series never changes, and the state store saves it every 30 s while a
        session runs.
        """
        if self._stored is None:
            self._stored = [
                [i.start.isoformat(), i.end.isoformat(), i.value] for i in self._intervals
            ]
        return self._stored

    @classmethod
    def from_list(cls, data: Iterable[list[Any]]) -> PriceSeries:
        """Restore from storage."""
        return cls(
            PriceInterval(datetime.fromisoformat(s), datetime.fromisoformat(e), v)
            for s, e, v in data
        )


def unit_scale(unit: str | None, attributes: Mapping[str, Any] | None = None) -> float:
    """Factor that turns the entity's price values into main currency units per kWh.

    Reads units such as ``SEK/kWh``, ``öre/kWh``, ``EUR/MWh``, ``c/kWh`` and the
    ``price_in_cents``/``use_cent`` and ``unit`` attributes of the Nord Pool and
    Energi Data Service integrations. Raises PriceShapeError for anything else.
    """
    attributes = attributes or {}
    scale = 1.0
    if unit and "/" in unit:
        money, energy = (part.strip() for part in unit.rsplit("/", 1))
    elif attributes.get("unit"):
        # HACS Nord Pool and Energi Data Service: currency as unit, energy in "unit".
        money, energy = (unit or "").strip(), str(attributes["unit"])
    else:
        raise PriceShapeError("not_energy", f"not a price per energy: {unit!r}", unit=str(unit))
    if energy == "MWh":
        scale /= 1000.0
    elif energy == "Wh":
        scale *= 1000.0
    elif energy != "kWh":
        raise PriceShapeError("not_energy", f"not a price per energy: {unit!r}", unit=str(unit))
    if (
        money.lower() in _SUBUNITS
        or attributes.get("price_in_cents") is True
        or (attributes.get("use_cent") is True)
    ):
        scale /= 100.0
    return scale


def _time(value: Any, zone: tzinfo) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _first(item: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in item:
            return item[key]
    return None


def parse_price_items(
    items: Iterable[Any], zone: tzinfo, scale: float = 1.0
) -> list[PriceInterval]:
    """Intervals from a list of dicts with a start, an optional end and a value.

    Items without a value (tomorrow not yet published) are skipped. A missing end is
    the next item's start, and for the last item its start plus the shortest step seen.
    Raises PriceShapeError when an item has no recognisable start or value key.
    """
    rows: list[tuple[datetime, datetime | None, float]] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise PriceShapeError("list_items", "price list items are not objects")
        start = _time(_first(item, _START_KEYS), zone)
        if start is None:
            keys = ", ".join(sorted(map(str, item)))
            raise PriceShapeError("no_start", f"no start time in {keys}", keys=keys)
        if not any(key in item for key in _VALUE_KEYS):
            keys = ", ".join(sorted(map(str, item)))
            raise PriceShapeError("no_value", f"no price in {keys}", keys=keys)
        value = parse_number(_first(item, _VALUE_KEYS))
        if value is None:
            continue
        rows.append((start, _time(_first(item, _END_KEYS), zone), value * scale))
    rows.sort(key=lambda row: row[0])
    steps = [b[0] - a[0] for a, b in itertools.pairwise(rows) if b[0] > a[0]]
    step = min(steps, default=timedelta(hours=1))
    intervals = []
    for index, (start, given_end, value) in enumerate(rows):
        end = given_end
        if end is None:
            following = rows[index + 1][0] if index + 1 < len(rows) else start + step
            end = min(following, start + step) if following > start else start + step
        intervals.append(PriceInterval(start, end, value))
    return intervals


def parse_price_attributes(
    attributes: Mapping[str, Any], unit: str | None, zone: tzinfo
) -> PriceSeries:
    """Read every price list attribute of a price entity.

    Raises PriceShapeError when the entity carries no price list at all, or one whose
    items have no start or value, or a unit that is not a price per energy.
    """
    scale = unit_scale(unit, attributes)
    lists = [
        attributes[name]
        for name in PRICE_LIST_ATTRIBUTES
        if isinstance(attributes.get(name), list) and attributes[name]
    ]
    if not lists:
        if any(isinstance(attributes.get(name), list) for name in PRICE_LIST_ATTRIBUTES):
            return PriceSeries()  # Known lists, all empty (nothing published yet).
        raise PriceShapeError("no_list", "no price list attribute")
    intervals: list[PriceInterval] = []
    for items in lists:
        intervals.extend(parse_price_items(items, zone, scale))
    return PriceSeries(intervals)


_CURRENCY_UNIT = re.compile(r"^\s*[^\s/]+\s*/\s*(k|M)?Wh\s*$")


def looks_like_price_unit(unit: str | None) -> bool:
    """Whether a unit of measurement reads like money per energy."""
    return bool(unit and _CURRENCY_UNIT.match(unit))
