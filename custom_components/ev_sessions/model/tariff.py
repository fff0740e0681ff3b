"""The household's tariff: what a kWh costs at a moment, and what a session cost.

All-in price per kWh = (spot + markup + grid fee + energy tax) x (1 + VAT), where the grid
fee is the high-load fee inside its months, weekdays and hours (local time) and VAT applies
to every component, energy tax included (as in Sweden). Costs are kept unrounded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache, lru_cache
from typing import Any, ClassVar, cast

from .prices import PriceSeries
from .session import Session

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NIGHT_START = time(22, 0)
NIGHT_END = time(6, 0)
HOUR_S = 3600
QUARTER_S = 900
_STEP_MARGIN = 1e-6  # kWh: reaching a step's bound is in that step


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

    def bucket(self, intervals: Mapping[int, float]) -> dict[int, float]:
        """Clock hours, as the fee counts them."""
        return hourly(intervals)

    def price_in(self, month: int) -> float:
        """The price per kW of a month (the season's, when it has one)."""
        if self.season_price_per_kw is not None and month in self.season_months:
            return self.season_price_per_kw
        return self.price_per_kw

    def peak_level(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> float:
        """The lowest of the month's counted peaks (kW): an hour below it raises no fee.

        Zero while the month has fewer than ``peaks`` counted hours (every hour counts then).
        """
        top, _ = self._top(hourly_kwh, zone)
        return top[self.peaks - 1][0] if len(top) >= self.peaks else 0.0

    def month_fee(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> float:
        """Fee (excl. VAT) for one month of hourly energies (UTC hour start -> kWh)."""
        return self.fee_and_hours(hourly_kwh, zone)[0]

    def fee_and_hours(
        self, hourly_kwh: Mapping[int, float], zone: tzinfo
    ) -> tuple[float, list[int]]:
        """The month's fee (excl. VAT) and the hours that set it, highest first."""
        top, first = self._top(hourly_kwh, zone)
        if not top:
            return 0.0, []
        fee = self.price_in(_local_month(first, zone)) * sum(value for value, _ in top) / self.peaks
        return fee, [hour for _, hour in top]

    def peak_hours(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> list[int]:
        """The hours (UTC epoch starts) that set the fee, highest first."""
        return [hour for _, hour in self._top(hourly_kwh, zone)[0]]

    def all_but(self, hourly_kwh: Mapping[int, float], slot: int, zone: tzinfo) -> AllBut:
        """What the fee takes from a month's hours but one, for ``fee_with`` (see AllBut)."""
        rest = {hour: kwh for hour, kwh in hourly_kwh.items() if hour != slot}
        candidates = self._candidates(rest, zone)
        night, day = _hour_facts(slot, zone)
        day_best = None
        if self.one_per_day:
            for candidate in candidates:
                if _hour_facts(candidate[1], zone)[1] == day:
                    day_best = candidate
                    candidates.remove(candidate)
                    break
        window = self.window
        first = min(rest, default=None)
        return AllBut(
            slot=slot,
            others=tuple(sorted(candidates, reverse=True)[: self.peaks]),
            day_best=day_best,
            weight=(
                None
                if window is not None and not _in_window(window, slot, zone)
                else (self.night_weight if night else 1.0)
            ),
            first=first,
            first_month=None if first is None else _local_month(first, zone),
            slot_month=_local_month(slot, zone),
        )

    def fee_with(self, but: AllBut, value: float | None) -> tuple[float, list[int]]:
        """``fee_and_hours`` of the month ``but`` was worked out from, its slot at ``value``.

        None: the slot is not among the month's hours. The same floats as worked out
        afresh: the month's top candidates are among the rest's and the slot's day's best,
        and are summed in the same order.
        """
        candidates = list(but.others)
        best = but.day_best
        if value is not None and but.weight is not None:
            candidate = (value * but.weight, but.slot)
            if not self.one_per_day:
                candidates.append(candidate)
            elif best is None or candidate > best:
                best = candidate
        if best is not None:
            candidates.append(best)
        top = sorted(candidates, reverse=True)[: self.peaks]
        if not top:
            return 0.0, []
        if value is not None and (but.first is None or but.slot < but.first):
            month = but.slot_month
        else:
            month = cast(int, but.first_month)
        return self.price_in(month) * sum(v for v, _ in top) / self.peaks, [h for _, h in top]

    def _top(
        self, hourly_kwh: Mapping[int, float], zone: tzinfo
    ) -> tuple[list[tuple[float, int]], int]:
        """The ``peaks`` highest candidates (weighted mean, hour), and the first hour.

        Highest first; the first hour is the month's earliest (0 when it has none). The
        month's earlier days are worked out once and kept while they are as they were (see
        _EarlierDays): a reading changes the latest day alone, and a month's fee looks at up
        to 744 hours, several times per reading.
        """
        if len(hourly_kwh) <= _EARLIER_DAYS_FROM:
            top = sorted(self._candidates(hourly_kwh, zone), reverse=True)[: self.peaks]
            return top, min(hourly_kwh, default=0)
        found = _EarlierDays.find(self, zone, hourly_kwh)
        if found is None:
            earlier = _EarlierDays.keep(self, zone, hourly_kwh)
            rest = {h: kwh for h, kwh in hourly_kwh.items() if h not in earlier.hours}
        else:
            earlier, rest = found
        # The earlier days have hours here: over 48 in all, and a day has at most 25.
        first = min(earlier.first, min(rest, default=earlier.first))
        return sorted([*earlier.top, *self._candidates(rest, zone)], reverse=True)[
            : self.peaks
        ], first

    def _candidates(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> list[tuple[float, int]]:
        """The hours that can be peaks, with their weighted means.

        Only hours in the window; the best of each day if one per day.
        """
        window = self.window
        every: list[tuple[float, int]] = []
        best: dict[date, tuple[float, int]] = {}
        for hour, kwh in hourly_kwh.items():
            if window is not None and not _in_window(window, hour, zone):
                continue
            night, day = _hour_facts(hour, zone)
            candidate = (kwh * (self.night_weight if night else 1.0), hour)
            if not self.one_per_day:
                every.append(candidate)
            elif day not in best or candidate > best[day]:
                best[day] = candidate
        return list(best.values()) if self.one_per_day else every

    def _counted(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> list[float]:
        """The weighted hourly means that can be peaks."""
        return [value for value, _ in self._candidates(hourly_kwh, zone)]


@dataclass(frozen=True, slots=True, kw_only=True)
class AllBut:
    """A month's hours as a power fee sees them, but for one slot (hour or quarter).

    While a session charges, a reading changes the month in its last slot alone: the rest
    is worked out once (``PowerFee.all_but``), and the fee for each new value of the slot
    looks at a handful of candidates (``PowerFee.fee_with``), not at the month's hours.
    """

    slot: int
    others: tuple[tuple[float, int], ...]  # the top candidates, but the slot's day's (one per day)
    day_best: tuple[float, int] | None  # one per day: the best of the slot's day, but the slot
    weight: float | None  # the slot's weight as a candidate (None: outside the fee's window)
    first: int | None  # the earliest hour, but the slot (the month's price goes by it)
    first_month: int | None  # its local month
    slot_month: int  # the slot's local month


@dataclass(frozen=True, slots=True, kw_only=True)
class StepFee:
    """A monthly price by step of the month's load (Norway's kapasitetsledd, since 2022).

    The load is the mean of the ``days`` highest daily maxima of hourly energy (kWh/h = kW),
    each on a different day (fewer days so far: the mean of those); the month costs the price
    of the highest step whose lower bound it reaches. ``steps`` are (lower bound in kW,
    price per month), ascending from 0.
    """

    steps: tuple[tuple[float, float], ...]
    days: int = 3

    def _daily_maxima(
        self, hourly_kwh: Mapping[int, float], zone: tzinfo
    ) -> list[tuple[float, int]]:
        best: dict[date, tuple[float, int]] = {}
        for hour, kwh in hourly_kwh.items():
            day = _hour_facts(hour, zone)[1]
            if day not in best or kwh > best[day][0]:
                best[day] = (kwh, hour)
        return sorted(best.values(), reverse=True)[: self.days]

    def level(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> float:
        """The month's load (kW) that chooses the step."""
        top = self._daily_maxima(hourly_kwh, zone)
        return sum(kwh for kwh, _ in top) / len(top) if top else 0.0

    def step(self, level: float) -> int:
        """Index of the step a load falls in."""
        index = 0
        for n, (lower, _price) in enumerate(self.steps):
            if level >= lower:
                index = n
        return index

    def month_fee(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> float:
        """The month's price (excl. VAT) at its load so far."""
        if not self.steps:
            return 0.0
        return self.steps[self.step(self.level(hourly_kwh, zone))][1]

    def peak_level(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> float:
        """The highest hourly energy (kW) that keeps the month in its step (inf: top step).

        A new day's peak x joins the top days if it beats the lowest of them; the mean stays
        under the next step's bound B while the others plus x stay under ``days`` x B.
        """
        top = [kwh for kwh, _ in self._daily_maxima(hourly_kwh, zone)]
        index = self.step(sum(top) / len(top) if top else 0.0)
        if index + 1 >= len(self.steps):
            return float("inf")
        bound = self.steps[index + 1][0]
        if len(top) < self.days:
            # A day not yet counted is added to the mean: (sum + x) / (k + 1) < bound.
            return max(0.0, bound * (len(top) + 1) - sum(top) - _STEP_MARGIN)
        kept = sum(top[:-1])
        return max(top[-1], bound * self.days - kept - _STEP_MARGIN)

    def peak_hours(self, hourly_kwh: Mapping[int, float], zone: tzinfo) -> list[int]:
        """The hours (UTC epoch starts) of the days that set the load, highest first."""
        return [hour for _, hour in self._daily_maxima(hourly_kwh, zone)]

    def fee_and_hours(
        self, hourly_kwh: Mapping[int, float], zone: tzinfo
    ) -> tuple[float, list[int]]:
        """The month's fee (excl. VAT) and the hours that set it, highest first."""
        return self.month_fee(hourly_kwh, zone), self.peak_hours(hourly_kwh, zone)

    def bucket(self, intervals: Mapping[int, float]) -> dict[int, float]:
        """Clock hours, as the fee counts them."""
        return hourly(intervals)

    def price_in(self, _month: int) -> float:
        """Not priced per kW: the steps are monthly prices."""
        return 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RollingPeakFee:
    """Flanders' capaciteitstarief (since 2023): a yearly price per kW, rolling.

    The yearly price applies to the mean of the last 12 monthly peaks, each the month's
    highest 15-minute average power (fixed clock quarters), at least ``floor_kw``. Each
    month's bill is a twelfth of the yearly price on that mean, so a month's peak counts in
    12 bills, each at a twelfth of its weight: a session that raises the month's peak by d kW
    costs ``yearly_price_per_kw`` x d / 12 over the year. ``month_fee`` is that share of the
    month's peak; the data are quarter-hour energies (UTC epoch start -> kWh).
    """

    yearly_price_per_kw: float
    floor_kw: float = 2.5

    def bucket(self, intervals: Mapping[int, float]) -> dict[int, float]:
        """Quarter-hour energies (keys floored to their clock quarter)."""
        quarters: dict[int, float] = defaultdict(float)
        for key, kwh in intervals.items():
            quarters[key - key % QUARTER_S] += kwh
        return dict(quarters)

    def peak_kw(self, quarter_kwh: Mapping[int, float]) -> float:
        """The month's peak: its highest quarter-hour average power, floored."""
        return max(self.floor_kw, max(quarter_kwh.values(), default=0.0) * 4)

    def month_fee(self, quarter_kwh: Mapping[int, float], _zone: tzinfo) -> float:
        """What the month's peak costs over the 12 bills it counts in."""
        return self.yearly_price_per_kw * self.peak_kw(quarter_kwh) / 12

    def peak_level(self, quarter_kwh: Mapping[int, float], _zone: tzinfo) -> float:
        """The power (kW) that raises no peak: the month's peak so far."""
        return self.peak_kw(quarter_kwh)

    def peak_hours(self, quarter_kwh: Mapping[int, float], _zone: tzinfo) -> list[int]:
        """The quarter (UTC epoch start) that set the month's peak, if above the floor."""
        if not quarter_kwh or max(quarter_kwh.values()) * 4 <= self.floor_kw:
            return []
        return [max(quarter_kwh, key=lambda key: quarter_kwh[key])]

    def fee_and_hours(
        self, hourly_kwh: Mapping[int, float], zone: tzinfo
    ) -> tuple[float, list[int]]:
        """The month's fee (excl. VAT) and the hours that set it, highest first."""
        return self.month_fee(hourly_kwh, zone), self.peak_hours(hourly_kwh, zone)

    def price_in(self, _month: int) -> float:
        """The yearly price per kW (a twelfth of it per month and kW)."""
        return self.yearly_price_per_kw


MonthFee = PowerFee | StepFee | RollingPeakFee


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
    power_fee: MonthFee | None = None

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

    def interval_parts(
        self, prices: PriceSeries, key: int, zone: tzinfo
    ) -> tuple[PriceParts, bool] | None:
        """A kWh's price parts in the interval starting at ``key`` (UTC epoch), estimated or not.

        None when no price can be had.
        """
        moment = datetime.fromtimestamp(key, UTC)
        spot, estimated = self.spot_at(prices, moment)
        if spot is None:
            return None
        return self.parts(spot, moment.astimezone(zone)), estimated

    def session_cost(
        self,
        session: Session,
        prices: PriceSeries,
        zone: tzinfo,
        *,
        month_hourly_kwh: Mapping[int, float] | None = None,
        month_without_kwh: Mapping[int, float] | None = None,
        month_over: bool = False,
        parts_at: Callable[[int], tuple[PriceParts, bool] | None] | None = None,
        sums_of: Callable[[Session], EnergySums | None] | None = None,
        month_fees: tuple[tuple[float, list[int]], float] | None = None,
    ) -> SessionCost | None:
        """Cost of a session: each interval's energy at its all-in price, plus fees.

        ``month_hourly_kwh`` is the whole month's hourly energy (with this session) for
        the power fee; the session's share is the fee with it minus the fee without it
        (``month_without_kwh``, when the caller keeps it: else the month less the
        session's own hours, where the month has them).
        ``parts_at`` gives an interval's price parts (a cache of ``interval_parts``: a
        session in progress is priced at every reading, and only its last interval changed);
        ``sums_of`` gives the energy's priced sums (``energy_sums``, kept for all but the
        last interval of a session in progress). ``month_fees`` gives the power fee's
        ``fee_and_hours`` of the month with the session and its ``month_fee`` without it,
        when the caller keeps them (in place of the two months).
        Returns None when no price can be had at all (no price entity, no fixed price).
        """
        if session.intervals and not self.uses_price_entity and self.fixed_price is None:
            return None  # nothing to price the energy with (without summing it)
        if sums_of is not None:
            sums = sums_of(session)
        else:
            sums = energy_sums(
                sorted(session.intervals.items()),
                parts_at or (lambda key: self.interval_parts(prices, key, zone)),
            )
        if sums is None:
            return None
        energy, markup, grid_fee, energy_tax, vat, estimated_any = sums
        cost = SessionCost(estimated=estimated_any)
        if session.intervals:
            cost.add("energy", energy)
            cost.add("markup", markup)
            cost.add("grid_fee", grid_fee)
            cost.add("energy_tax", energy_tax)
            cost.add("vat", vat)
        if self.session_fee:
            cost.add("session_fee", self.session_fee)
            cost.add("vat", self.session_fee * self.vat_rate)
        fees = month_fees if self.power_fee is not None else None
        if fees is None and self.power_fee is not None and month_hourly_kwh is not None:
            without = month_without_kwh
            if without is None:
                without = less_own(month_hourly_kwh, self.power_fee.bucket(session.intervals))
            fees = (
                self.power_fee.fee_and_hours(month_hourly_kwh, zone),
                self.power_fee.month_fee(without, zone),
            )
        if fees is not None:
            (fee, hours), fee_without = fees
            share = fee - fee_without
            cost.add("power_fee", share)
            cost.add("vat", share * self.vat_rate)
            cost.power_fee_provisional = not month_over
            cost.power_fee_hours = tuple(hours)
        return cost

    def price_now(self, prices: PriceSeries, moment: datetime, zone: tzinfo) -> float | None:
        """All-in price per kWh at a moment (None when nothing is known)."""
        spot, _ = self.spot_at(prices, moment)
        if spot is None:
            return None
        return self.parts(spot, moment.astimezone(zone)).total


# A session's energy at its prices: energy, markup, grid fee, energy tax, VAT (each
# kWh x price part, summed), and whether any price is an estimate.
type EnergySums = tuple[float, float, float, float, float, bool]
NO_ENERGY: EnergySums = (0.0, 0.0, 0.0, 0.0, 0.0, False)


def energy_sums(
    intervals: Iterable[tuple[int, float]],
    parts_at: Callable[[int], tuple[PriceParts, bool] | None],
    start: EnergySums = NO_ENERGY,
) -> EnergySums | None:
    """Sum intervals' energy (in time order) at their price parts, onto ``start``.

    None when an interval has no price.
    """
    energy, markup, grid_fee, energy_tax, vat, estimated_any = start
    for key, kwh in intervals:
        priced = parts_at(key)
        if priced is None:
            return None
        parts, estimated = priced
        estimated_any |= estimated
        energy += kwh * parts.energy
        markup += kwh * parts.markup
        grid_fee += kwh * parts.grid_fee
        energy_tax += kwh * parts.energy_tax
        vat += kwh * parts.vat
    return energy, markup, grid_fee, energy_tax, vat, estimated_any


# Below this many hours a month's candidates are simply worked out.
_EARLIER_DAYS_FROM = 48


class _EarlierDays:
    """A month's days before its latest: their hours, and their top candidates for a fee.

    Kept for a few months of energies at once (with and without a session, the house's),
    and used only while those hours are all there, unchanged, and nothing else is there
    but hours of the latest day: the candidates are then those of the earlier days and of
    the latest day apart (one per day: no day is in both).
    """

    __slots__ = ("fee", "first", "hours", "latest", "top", "zone")
    _kept: ClassVar[list[_EarlierDays]] = []
    # A garage of wallboxes under one fee: the month with each session and without it share
    # their earlier days with the household's, but a few different tariffs may be in use.
    KEPT = 16

    def __init__(self, fee: PowerFee, zone: tzinfo, latest: date, hours: dict[int, float]) -> None:
        self.fee, self.zone, self.latest, self.hours = fee, zone, latest, hours
        self.top = sorted(fee._candidates(hours, zone), reverse=True)[: fee.peaks]
        self.first = min(hours, default=0)

    @classmethod
    def find(
        cls, fee: PowerFee, zone: tzinfo, hourly_kwh: Mapping[int, float]
    ) -> tuple[_EarlierDays, dict[int, float]] | None:
        """Kept earlier days that still hold for these energies, and the other hours."""
        for kept in cls._kept:
            if (
                (kept.fee is fee or kept.fee == fee)
                and kept.zone == zone
                and 0 <= len(hourly_kwh) - len(kept.hours) <= 25
                and kept.hours.items() <= hourly_kwh.items()
            ):
                rest = cls._rest(hourly_kwh, kept.hours)
                if all(_hour_facts(hour, zone)[1] == kept.latest for hour in rest):
                    return kept, rest
        return None

    @staticmethod
    def _rest(hourly_kwh: Mapping[int, float], kept: dict[int, float]) -> dict[int, float]:
        """The hours not kept (the kept ones all among them): the latest day's, at the end.

        Looked for from the end, where the latest hours are (not by a set difference of
        the month's 700 keys, twice per reading); any order finds them all.
        """
        missing = len(hourly_kwh) - len(kept)
        rest: dict[int, float] = {}
        if missing:
            hours = reversed(hourly_kwh) if isinstance(hourly_kwh, dict) else iter(hourly_kwh)
            for hour in hours:
                if hour not in kept:
                    rest[hour] = hourly_kwh[hour]
                    if len(rest) == missing:
                        break
        return rest

    @classmethod
    def keep(cls, fee: PowerFee, zone: tzinfo, hourly_kwh: Mapping[int, float]) -> _EarlierDays:
        """Work out the days before the latest of these energies, and keep them."""
        latest = _hour_facts(max(hourly_kwh), zone)[1]
        hours = {h: kwh for h, kwh in hourly_kwh.items() if _hour_facts(h, zone)[1] != latest}
        kept = cls(fee, zone, latest, hours)
        cls._kept = [kept, *cls._kept[: cls.KEPT - 1]]
        return kept


@lru_cache(maxsize=16384)
def _in_window(window: TimeWindow, hour: int, zone: tzinfo) -> bool:
    """Whether an hour (UTC epoch start) is inside a window (remembered, as below)."""
    return window.contains(datetime.fromtimestamp(hour, UTC).astimezone(zone))


@lru_cache(maxsize=1024)
def _local_month(hour: int, zone: tzinfo) -> int:
    """The local month of an hour (UTC epoch start)."""
    return datetime.fromtimestamp(hour, UTC).astimezone(zone).month


@lru_cache(maxsize=16384)
def _hour_facts(hour: int, zone: tzinfo) -> tuple[bool, date]:
    """Whether an hour (UTC epoch start) is a night hour, and its local date.

    Remembered: a month's fee looks at the same 700 hours at every reading.
    """
    local = datetime.fromtimestamp(hour, UTC).astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    return clock >= NIGHT_START or clock < NIGHT_END, local.date()


def less_own(month: Mapping[int, float], own: Mapping[int, float]) -> dict[int, float]:
    """The month without a session's own energy, where the month has it.

    As {h: kwh - own[h]}, the same floats whoever asks (the tariff, or the costs keeping
    the running session's month).
    """
    without = dict(month)
    for hour, kwh in own.items():
        if hour in without:
            without[hour] -= kwh
    return without


def hourly(intervals: Mapping[int, float]) -> dict[int, float]:
    """Sum 15-minute interval energies into clock hours (UTC hour start -> kWh)."""
    hours: dict[int, float] = defaultdict(float)
    for key, kwh in intervals.items():
        hours[key - key % HOUR_S] += kwh
    return dict(hours)


def month_hourly(
    sessions: Iterable[Session], start: datetime, end: datetime, step_s: int = HOUR_S
) -> dict[int, float]:
    """Energy of all sessions within [start, end) by clock hour (or by ``step_s``)."""
    low, high = start.timestamp(), end.timestamp()
    buckets: dict[int, float] = defaultdict(float)
    for session in sessions:
        for key, kwh in session.intervals.items():
            if low <= key < high:
                buckets[key - key % step_s] += kwh
    return dict(buckets)


def month_quarters(sessions: Iterable[Session], start: datetime, end: datetime) -> dict[int, float]:
    """Quarter-hour energy of all sessions within [start, end)."""
    return month_hourly(sessions, start, end, QUARTER_S)


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
