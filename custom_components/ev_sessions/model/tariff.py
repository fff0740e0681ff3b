"""The household's tariff: what a kWh costs at a moment, and what a session cost.

All-in price per kWh = (spot + markup + grid fee + energy tax) x (1 + VAT), where the grid
fee is the high-load fee inside its months, weekdays and hours (local time) and VAT applies
to every component, energy tax included (as in Sweden). Costs are kept unrounded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache, lru_cache
from typing import Any

from .prices import PriceSeries
from .session import Session

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NIGHT_START = time(22, 0)
NIGHT_END = time(6, 0)
_HOUR_S = 3600


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


@cache
def swedish_holidays(year: int) -> frozenset[date]:
    """Swedish public holidays and the eves treated as holidays (midsummer, Christmas, New Year)."""
    easter = _easter(year)
    midsummer_eve = next(date(year, 6, d) for d in range(19, 26) if date(year, 6, d).weekday() == 4)
    all_saints = next(
        date(year, 10, 31) + timedelta(days=n)
        for n in range(7)
        if (date(year, 10, 31) + timedelta(days=n)).weekday() == 5
    )
    return frozenset(
        {
            date(year, 1, 1),
            date(year, 1, 6),
            easter - timedelta(days=2),
            easter,
            easter + timedelta(days=1),
            date(year, 5, 1),
            easter + timedelta(days=39),
            easter + timedelta(days=49),
            date(year, 6, 6),
            midsummer_eve,
            midsummer_eve + timedelta(days=1),
            all_saints,
            date(year, 12, 24),
            date(year, 12, 25),
            date(year, 12, 26),
            date(year, 12, 31),
        }
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeWindow:
    """A window of the meter's clock: some months, some weekdays, from start to end each day.

    An end of 00:00 means midnight at the end of the day. With ``holidays_off`` the
    Swedish public holidays count as non-working days (outside the window). The clock is
    local time, or with ``utc_offset`` a fixed offset from UTC (a meter that never changes
    to summer time: UK Economy 7 runs 00:00–07:00 GMT all year).
    """

    months: frozenset[int] = frozenset(range(1, 13))
    weekdays: frozenset[str] = frozenset(WEEKDAYS)
    start: time = time(0)
    end: time = time(0)
    holidays_off: bool = False
    utc_offset: timedelta | None = None

    def contains(self, local: datetime) -> bool:
        """Whether the moment (aware, in local time) falls inside the window."""
        if self.utc_offset is not None:
            local = local.astimezone(timezone(self.utc_offset))
        if local.month not in self.months or WEEKDAYS[local.weekday()] not in self.weekdays:
            return False
        if self.holidays_off and local.date() in swedish_holidays(local.year):
            return False
        clock = local.time().replace(tzinfo=None)
        return clock >= self.start and (self.end == time(0) or clock < self.end)


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerFee:
    """A fee per kW on the mean of the month's highest hourly mean powers.

    Only hours inside ``window`` count (e.g. weekdays 07–19 in November–March, holidays
    off); months in ``season_months`` are priced at ``season_price_per_kw``.
    """

    price_per_kw: float
    peaks: int = 3
    one_per_day: bool = True
    night_weight: float = 1.0
    window: TimeWindow | None = None
    season_months: frozenset[int] = frozenset()
    season_price_per_kw: float | None = None

    def price_in(self, month: int) -> float:
        """The price per kW of a month (the season's, when it has one)."""
        if self.season_price_per_kw is not None and month in self.season_months:
            return self.season_price_per_kw
        return self.price_per_kw

    def peak_level(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> float:
        """The lowest of the month's counted peaks (kW): an hour below it raises no fee.

        Zero while the month has fewer than ``peaks`` counted hours (every hour counts then).
        """
        values = self._counted(hourly_kwh, zone)
        return sorted(values, reverse=True)[self.peaks - 1] if len(values) >= self.peaks else 0.0

    def month_fee(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> float:
        """Fee (excl. VAT) for one month of hourly energies (UTC hour start -> kWh)."""
        top = sorted(self._counted(hourly_kwh, zone), reverse=True)[: self.peaks]
        if not top:
            return 0.0
        month = datetime.fromtimestamp(min(hourly_kwh), UTC).astimezone(zone).month
        return self.price_in(month) * sum(top) / self.peaks

    def peak_hours(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> list[int]:
        """The hours (UTC epoch starts) that set the fee, highest first."""
        counted = [
            (kwh * (self.night_weight if _hour_facts(hour, zone)[0] else 1.0), hour)
            for hour, kwh in hourly_kwh.items()
            if self._counts(hour, zone)
        ]
        counted.sort(reverse=True)
        if self.one_per_day:
            seen: set[date] = set()
            best = []
            for value, hour in counted:
                day = _hour_facts(hour, zone)[1]
                if day not in seen:
                    seen.add(day)
                    best.append((value, hour))
            counted = best
        return [hour for _, hour in counted[: self.peaks]]

    def _counts(self, hour: int, zone: tzinfo) -> bool:
        """Whether an hour can be a peak (inside the fee's window)."""
        return self.window is None or _in_window(self.window, hour, zone)

    def _counted(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> list[float]:
        """The hourly means that can be peaks: in the window, weighted, one per day if so."""
        weighted: list[tuple[float, date]] = []
        window = self.window
        for hour, kwh in hourly_kwh.items():
            if window is not None and not self._counts(hour, zone):
                continue
            night, day = _hour_facts(hour, zone)
            weighted.append((kwh * (self.night_weight if night else 1.0), day))
        if self.one_per_day:
            best: dict[date, float] = {}
            for value, day in weighted:
                best[day] = max(value, best.get(day, 0.0))
            return list(best.values())
        return [value for value, _ in weighted]


@dataclass(frozen=True, slots=True)
class PriceParts:
    """The all-in price of a kWh and its parts (per kWh, currency)."""

    energy: float
    markup: float
    grid_fee: float
    energy_tax: float
    vat: float

    @property
    def total(self) -> float:
        """All in, VAT included."""
        return self.energy + self.markup + self.grid_fee + self.energy_tax + self.vat


@dataclass(slots=True)
class SessionCost:
    """What a session cost, by component (VAT included in ``total``)."""

    total: float = 0.0
    breakdown: dict[str, float] = field(default_factory=dict)
    estimated: bool = False
    power_fee_provisional: bool = False
    power_fee_hours: tuple[int, ...] = ()  # the hours (UTC epoch starts) that set the fee

    def add(self, part: str, amount: float) -> None:
        """Add an amount to one component and the total."""
        self.breakdown[part] = self.breakdown.get(part, 0.0) + amount
        self.total += amount


@dataclass(frozen=True, slots=True, kw_only=True)
class Tariff:
    """Everything that makes up the price of a kWh (all amounts excl. VAT unless noted)."""

    uses_price_entity: bool = False
    fixed_price: float | None = None
    price_includes_vat: bool = False
    markup: float = 0.0
    grid_fee: float = 0.0
    grid_fee_high: float | None = None
    high_load: TimeWindow | None = None
    grid_fee_low: float | None = None
    low_load: TimeWindow | None = None
    energy_tax: float = 0.0
    vat_percent: float = 0.0
    session_fee: float = 0.0
    power_fee: PowerFee | None = None

    @property
    def vat_rate(self) -> float:
        """VAT as a fraction."""
        return self.vat_percent / 100.0

    def grid_fee_at(self, local: datetime) -> float:
        """The grid fee per kWh at a local moment: high window, else low window, else base."""
        if self.grid_fee_high is not None and self.high_load and self.high_load.contains(local):
            return self.grid_fee_high
        if self.grid_fee_low is not None and self.low_load and self.low_load.contains(local):
            return self.grid_fee_low
        return self.grid_fee

    def parts(self, spot: float, local: datetime) -> PriceParts:
        """All-in price of a kWh at a local moment for a spot (or fixed) price."""
        energy = spot / (1 + self.vat_rate) if self.price_includes_vat else spot
        grid = self.grid_fee_at(local)
        vat = (energy + self.markup + grid + self.energy_tax) * self.vat_rate
        return PriceParts(energy, self.markup, grid, self.energy_tax, vat)

    def spot_at(self, prices: PriceSeries, moment: datetime) -> tuple[float | None, bool]:
        """The energy price at a moment and whether it had to be estimated.

        Without a price entity it is the fixed price. With one, an unknown interval
        takes the fixed price, else the last price known before it (estimated).
        """
        if not self.uses_price_entity:
            return self.fixed_price, False
        spot = prices.at(moment)
        if spot is not None:
            return spot, False
        if self.fixed_price is not None:
            return self.fixed_price, True
        return prices.before(moment), True

    def session_cost(
        self,
        session: Session,
        prices: PriceSeries,
        zone: tzinfo,
        *,
        month_hourly_kwh: Mapping[int, float] | None = None,
        month_over: bool = False,
    ) -> SessionCost | None:
        """Cost of a session: each interval's energy at its all-in price, plus fees.

        ``month_hourly_kwh`` is the whole month's hourly energy (with this session) for
        the power fee; the session's share is the fee with it minus the fee without it.
        Returns None when no price can be had at all (no price entity, no fixed price).
        """
        cost = SessionCost()
        for key, kwh in sorted(session.intervals.items()):
            moment = datetime.fromtimestamp(key, UTC)
            spot, estimated = self.spot_at(prices, moment)
            if spot is None:
                return None
            cost.estimated |= estimated
            parts = self.parts(spot, moment.astimezone(zone))
            for name in ("energy", "markup", "grid_fee", "energy_tax", "vat"):
                cost.add(name, kwh * getattr(parts, name))
        if self.session_fee:
            cost.add("session_fee", self.session_fee)
            cost.add("vat", self.session_fee * self.vat_rate)
        if self.power_fee is not None and month_hourly_kwh is not None:
            own = hourly(session.intervals)
            without = {h: kwh - own.get(h, 0.0) for h, kwh in month_hourly_kwh.items()}
            share = self.power_fee.month_fee(month_hourly_kwh, zone) - self.power_fee.month_fee(
                without, zone
            )
            cost.add("power_fee", share)
            cost.add("vat", share * self.vat_rate)
            cost.power_fee_provisional = not month_over
            cost.power_fee_hours = tuple(self.power_fee.peak_hours(month_hourly_kwh, zone))
        return cost

    def price_now(self, prices: PriceSeries, moment: datetime, zone: tzinfo) -> float | None:
        """All-in price per kWh at a moment (None when nothing is known)."""
        spot, _ = self.spot_at(prices, moment)
        if spot is None:
            return None
        return self.parts(spot, moment.astimezone(zone)).total


@lru_cache(maxsize=16384)
def _in_window(window: TimeWindow, hour: int, zone: tzinfo) -> bool:
    """Whether an hour (UTC epoch start) is inside a window (remembered, as below)."""
    return window.contains(datetime.fromtimestamp(hour, UTC).astimezone(zone))


@lru_cache(maxsize=16384)
def _hour_facts(hour: int, zone: tzinfo) -> tuple[bool, date]:
    """Whether an hour (UTC epoch start) is a night hour, and its local date.

    Remembered: a month's fee looks at the same 700 hours at every reading.
    """
    local = datetime.fromtimestamp(hour, UTC).astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    return clock >= NIGHT_START or clock < NIGHT_END, local.date()


def hourly(intervals: Mapping[int, float]) -> dict[int, float]:
    """Sum 15-minute interval energies into clock hours (UTC hour start -> kWh)."""
    hours: dict[int, float] = defaultdict(float)
    for key, kwh in intervals.items():
        hours[key - key % _HOUR_S] += kwh
    return dict(hours)


def month_hourly(sessions: Iterable[Session], start: datetime, end: datetime) -> dict[int, float]:
    """Hourly energy of all sessions within [start, end)."""
    low, high = start.timestamp(), end.timestamp()
    hours: dict[int, float] = defaultdict(float)
    for session in sessions:
        for key, kwh in session.intervals.items():
            if low <= key < high:
                hours[key - key % _HOUR_S] += kwh
    return dict(hours)


def tariff_summary(cost: SessionCost | None, currency: str) -> dict[str, Any]:
    """Cost fields of a session's public description."""
    if cost is None:
        return {"cost": None, "currency": currency, "cost_breakdown": {}, "estimated": False}
    return {
        "cost": round(cost.total, 4),
        "currency": currency,
        "cost_breakdown": {k: round(v, 4) for k, v in cost.breakdown.items()},
        "estimated": cost.estimated,
        "power_fee_provisional": cost.power_fee_provisional,
    }
