"""Cost: prices, the tariff, what sessions and the month cost, the repair on unreadable prices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
import logging
from typing import Any, cast

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event, async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import (
    CONF_HOURLY_SETTLEMENT,
    CONF_HOUSE_POWER_ENTITY,
    CONF_PRICE_ENTITY,
    DOMAIN,
    ISSUE_PRICE_SHAPE,
    STATE_SAVE_DELAY,
)
from .model.meter import HourlyMeter
from .model.prices import PriceSeries, PriceShapeError
from .model.session import Session
from .model.tariff import (
    HOUR_S,
    NO_ENERGY,
    QUARTER_S,
    AllBut,
    EnergySums,
    PowerFee,
    PriceParts,
    RollingPeakFee,
    SessionCost,
    energy_sums,
    less_own,
    month_hourly,
    month_quarters,
)
from .pricing import (
    action_platform,
    async_fetch_action_prices,
    read_price_attributes,
    tariff_from_options,
)
from .sessions import SessionKeeper
from .time_util import month_start, next_month_start

_LOGGER = logging.getLogger(__name__)

PRICE_HISTORY = timedelta(days=40)
PRICE_CACHE_SIZE = 4096  # moments; a plan of two days asks for about 200
ACTION_PRICE_REFRESH = timedelta(hours=1)


class _RunningMonth:
    """A power fee's month with and without a session, kept up to its last interval.

    A reading adds energy to the session's last interval alone. The month with the earlier
    intervals, their own hours and the month without them are kept while those intervals
    are as they were (a late register update spreads energy back over them; a new interval
    makes the last one earlier) and the other sessions' month is the same. The results are
    the same floats, added in the same order, as built afresh: ``month_hourly`` with the
    session, its fee bucket (``hourly``), and the month less that bucket where it has hours.
    """

    __slots__ = (
        "_base",
        "_but",
        "_changes",
        "_hours",
        "_in_month",
        "_kwh",
        "_months",
        "_own",
        "_session",
        "_slot",
        "_without",
    )

    def __init__(self) -> None:
        """Nothing kept yet."""
        self._session: Session | None = None
        self._changes: tuple[int, int, int | None] | None = None  # its changes when kept
        self._base: tuple[Any, dict[int, float]] | None = None  # the other sessions' month
        self._hours: dict[int, float] = {}
        self._own: dict[int, float] = {}
        self._without: dict[int, float] = {}
        # The last interval: its fee slot (None: no interval yet), energy, and whether it is
        # in the month.
        self._slot: int | None = None
        self._kwh = 0.0
        self._in_month = False
        # A power fee's look at the month with and without, but the last slot (by fee, zone).
        self._but: tuple[PowerFee, tzinfo, AllBut, AllBut] | None = None
        # The two months, once built for the state followed (the cost, then the plan, ask).
        self._months: tuple[dict[int, float], dict[int, float]] | None = None

    def update(
        self,
        session: Session,
        base: tuple[Any, dict[int, float]],
        low: float,
        high: float,
        step: int,
    ) -> None:
        """Follow the session up to its last interval."""
        intervals = session.intervals
        last = next(reversed(intervals), None)
        if last is None:
            self._session, self._base, self._slot, self._months = session, base, None, None
            return
        if (
            self._session is not session
            or self._slot is None
            or self._base is not base
            or not session.only_latest_changed(self._changes)
        ):
            self._keep(session, base, last, low=low, high=high, step=step)
        followed = (intervals[last], low <= last < high, last - last % step)
        if followed != (self._kwh, self._in_month, self._slot):
            self._kwh, self._in_month, self._slot = followed  # a new last one is kept afresh
            self._months = None

    def months(self) -> tuple[dict[int, float], dict[int, float]]:
        """The month with the session's energy, and without its own (not to be changed)."""
        if self._months is None:
            self._months = self._build_months()
        return self._months

    def _build_months(self) -> tuple[dict[int, float], dict[int, float]]:
        base = cast("tuple[Any, dict[int, float]]", self._base)
        slot = self._slot
        if slot is None:
            return base[1], base[1]
        with_slot, without_slot = self._slot_values()
        hours = self._hours
        if self._in_month:
            hours = dict(hours)
            hours[slot] = cast(float, with_slot)
        if without_slot is None:
            return hours, self._without
        without = dict(self._without)
        without[slot] = without_slot
        return hours, without

    def _slot_values(self) -> tuple[float | None, float | None]:
        """The month's energy in the last slot with and without the session (None: none)."""
        slot, kwh = cast(int, self._slot), self._kwh
        value = self._hours.get(slot)
        if self._in_month:
            value = (0.0 if value is None else value) + kwh
        if value is None:
            return None, None
        return value, value - (self._own.get(slot, 0.0) + kwh)

    def fees(self, fee: PowerFee, zone: tzinfo) -> tuple[tuple[float, list[int]], float]:
        """A power fee of the month with the session (and its hours), and of it without.

        What ``fee_and_hours`` gives for the two months, without looking at their hours:
        the rest of the month is worked out once per slot (see ``AllBut``).
        """
        if self._slot is None:
            month = cast("tuple[Any, dict[int, float]]", self._base)[1]
            return fee.fee_and_hours(month, zone), fee.month_fee(month, zone)
        but = self._but
        if but is None or (but[0] is not fee and but[0] != fee) or but[1] != zone:
            slot = self._slot
            but = self._but = (
                fee,
                zone,
                fee.all_but(self._hours, slot, zone),
                fee.all_but(self._without, slot, zone),
            )
        with_slot, without_slot = self._slot_values()
        return fee.fee_with(but[2], with_slot), fee.fee_with(but[3], without_slot)[0]

    def _keep(
        self,
        session: Session,
        base: tuple[Any, dict[int, float]],
        last: int,
        *,
        low: float,
        high: float,
        step: int,
    ) -> None:
        """Work out the month with and without the intervals before the last."""
        earlier = dict(session.intervals)
        del earlier[last]
        self._changes = session.changes()
        hours = dict(base[1])
        own: dict[int, float] = {}
        for key, kwh in earlier.items():
            slot = key - key % step
            own[slot] = own.get(slot, 0.0) + kwh
            if low <= key < high:
                hours[slot] = hours.get(slot, 0.0) + kwh
        without = less_own(hours, own)
        self._session, self._base = session, base
        self._hours, self._own, self._without = hours, own, without
        self._but = self._months = None


class Costs:
    """What a kWh costs now, what each session and this month cost."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any], keeper: SessionKeeper) -> None:
        """Price the keeper's sessions under the entry's tariff."""
        self._hass = hass
        self._entry = entry
        self._keeper = keeper
        self.tariff = tariff_from_options(entry.options)
        self._prices = PriceSeries()
        self._price_cache: dict[datetime, tuple[float | None, bool]] = {}
        # An interval's price parts (UTC epoch start -> parts, estimated), until the prices
        # or the tariff change: the session in progress is priced at every reading.
        self._parts_cache: dict[int, tuple[PriceParts, bool] | None] = {}
        self._month_cache: tuple[tuple[Any, ...], dict[int, float]] | None = None
        self._running = _RunningMonth()
        # The session in progress, priced up to its latest interval: (the session, what it
        # was priced under and its changes, the sums), so a reading prices one interval.
        self._summed: tuple[Session, tuple[Any, ...], EnergySums | None] | None = None
        self._unfollow: list[CALLBACK_TYPE] = []
        self._followed: str | None = None  # the price entity followed
        self.house = HourlyMeter()
        self.monthly_peaks: dict[str, float] = {}  # "YYYY-MM" -> the month's 15-minute peak
        self.price_problem: str | None = None

    @property
    def prices(self) -> PriceSeries:
        """The known spot prices (UTC intervals)."""
        return self._prices

    @prices.setter
    def prices(self, prices: PriceSeries) -> None:
        self._prices = prices
        self._price_cache.clear()
        self._parts_cache.clear()

    def restore(self, state: dict[str, Any]) -> None:
        """Take back the saved prices and the household's hourly energy."""
        self.prices = PriceSeries.from_list(state.get("prices", []))
        self.house = HourlyMeter.from_dict(state.get("house", {}))
        peaks = state.get("monthly_peaks")
        self.monthly_peaks = (
            {str(k): float(v) for k, v in peaks.items() if isinstance(v, int | float)}
            if isinstance(peaks, dict)
            else {}
        )

    def state(self) -> dict[str, Any]:
        """What to keep across restarts."""
        return {
            "prices": self.prices.as_list(),
            "house": self.house.as_dict(),
            "monthly_peaks": dict(self.monthly_peaks),
        }

    def note_month_peak(self, month: str, peak_kw: float) -> float | None:
        """Keep a month's 15-minute peak; the mean of the last 12 months' (floored)."""
        fee = self.tariff.power_fee
        if not isinstance(fee, RollingPeakFee):
            return None
        peaks = self.monthly_peaks
        if month not in peaks and len(peaks) >= 12:
            del peaks[min(peaks)]  # a new month: the oldest of twelve goes
        peaks[month] = max(peak_kw, peaks.get(month, 0.0))
        return sum(max(fee.floor_kw, peak) for peak in peaks.values()) / len(peaks)

    # -- prices -----------------------------------------------------------------

    def price_at(self, moment: datetime) -> tuple[float | None, bool]:
        """All-in price per kWh at a moment, and whether it is an estimate.

        Remembered until the prices change: a plan asks for the same quarters at every
        reading.
        """
        known = self._price_cache.get(moment)
        if known is not None:
            return known
        spot, estimated = self.tariff.spot_at(self.prices, moment)
        price = (
            (None, True)
            if spot is None
            else (self.tariff.parts(spot, dt_util.as_local(moment)).total, estimated)
        )
        if len(self._price_cache) >= PRICE_CACHE_SIZE:
            self._price_cache.clear()
        self._price_cache[moment] = price
        return price

    def price_now(self, now: datetime) -> float | None:
        """The all-in price per kWh now."""
        return self.tariff.price_now(self.prices, now, dt_util.get_default_time_zone())

    def meter_house(self, now: datetime, power_w: float | None) -> None:
        """Feed the household meter its current power (on changes and on every tick)."""
        if not self._entry.options.get(CONF_HOUSE_POWER_ENTITY):
            return
        self.house.update(now, power_w)
        keep = month_start(now) - timedelta(days=1)
        if self.house.prunes(keep):
            self.house.prune(self._house_hours_needed_from(now, keep))

    def _house_hours_needed_from(self, now: datetime, keep: datetime) -> datetime:
        """The first hour still needed: a month's hours stay until its sessions are final."""
        for session in self._keeper.history.between(now - PRICE_HISTORY, keep):
            if session.power_fee_provisional:  # the oldest first
                return min(keep, month_start(session.start) - timedelta(days=1))
        return keep

    async def async_follow_prices(self, publish: Callable[[datetime], None]) -> None:
        """Follow the price entity (its attributes, or its integration's action)."""
        entry = self._entry
        price_entity = entry.options.get(CONF_PRICE_ENTITY)
        self._followed = price_entity
        if not price_entity:
            return
        platform = action_platform(self._hass, price_entity)
        if platform is None:

            @callback
            def _price_changed(_event: Event[EventStateChangedData] | None = None) -> None:
                self.read_price_entity(dt_util.utcnow(), publish)

            self._unfollow.append(
                async_track_state_change_event(self._hass, price_entity, _price_changed)
            )
            _price_changed()
            return

        async def _fetch(_now: datetime | None = None) -> None:
            now = dt_util.utcnow()
            try:
                series = await async_fetch_action_prices(self._hass, price_entity, platform, now)
            except PriceShapeError as err:
                self._price_trouble(price_entity, str(err))
                return
            self._apply_prices(series, now, publish)

        self._unfollow.append(async_track_time_interval(self._hass, _fetch, ACTION_PRICE_REFRESH))
        await _fetch()

    def stop_following(self) -> None:
        """Stop following the price entity."""
        while self._unfollow:
            self._unfollow.pop()()

    async def async_apply_options(self, publish: Callable[[datetime], None]) -> None:
        """A new tariff (past sessions keep their cost); follow a new price entity."""
        self.tariff = tariff_from_options(self._entry.options)
        self._price_cache.clear()
        self._parts_cache.clear()
        self._month_cache = None
        if self._entry.options.get(CONF_PRICE_ENTITY) != self._followed:
            self.stop_following()
            if self.price_problem is not None:
                ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)
                self.price_problem = None
            await self.async_follow_prices(publish)

    @property
    def reads_price_attributes(self) -> bool:
        """Whether prices come from the price entity's attributes (read on every quarter)."""
        price_entity = self._entry.options.get(CONF_PRICE_ENTITY)
        if not price_entity:
            return False
        return action_platform(self._hass, price_entity) is None

    def read_price_entity(self, now: datetime, publish: Callable[[datetime], None]) -> None:
        """Read the prices from the price entity's attributes."""
        entity_id = self._entry.options[CONF_PRICE_ENTITY]
        try:
            series = read_price_attributes(self._hass, entity_id, now)
        except PriceShapeError as err:
            self._price_trouble(entity_id, str(err))
            return
        self._apply_prices(series, now, publish)

    def _apply_prices(
        self, series: PriceSeries, now: datetime, publish: Callable[[datetime], None]
    ) -> None:
        if self.price_problem is not None:
            _LOGGER.info("Prices of %s can be read again", self._entry.title)
            ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)
            self.price_problem = None
        if not len(series):
            return
        if self._entry.options.get(CONF_HOURLY_SETTLEMENT):
            series = series.hourly_means()
        self.prices = self.prices.merged(series).since(now - PRICE_HISTORY)
        self.recost(now)
        self._keeper.save_state_soon(STATE_SAVE_DELAY)
        publish(now)

    @property
    def _issue_id(self) -> str:
        return f"{ISSUE_PRICE_SHAPE}_{self._entry.entry_id}"

    def _price_trouble(self, entity_id: str, error: str) -> None:
        if self.price_problem is None:
            _LOGGER.warning("Prices of %s cannot be read: %s", entity_id, error)
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                self._issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_PRICE_SHAPE,
                translation_placeholders={"entity_id": entity_id},
            )
        self.price_problem = error

    # -- costs ------------------------------------------------------------------

    def month_hours(self, session: Session) -> dict[int, float]:
        """The energy a power fee counts in the month a session began in.

        By hour (by quarter hour for 15-minute peaks): the household's, else charging's.
        Not to be changed by the caller (it is kept).
        """
        return self._month_with_and_without(session)[0]

    def _month_with_and_without(
        self, session: Session
    ) -> tuple[dict[int, float], dict[int, float] | None]:
        """The month a power fee counts, and (from the sessions) the month without this one.

        None for the month without it when the household's meter gives the month: the
        tariff takes the session's own hours off. Both are kept: not to be changed.
        """
        start = month_start(session.start)
        end = next_month_start(session.start)
        by_quarter = isinstance(self.tariff.power_fee, RollingPeakFee)
        if self._entry.options.get(CONF_HOUSE_POWER_ENTITY):
            hours = self.house.between(start.timestamp(), end.timestamp(), by_quarter=by_quarter)
            return hours, None
        return self._running_month(session, start, end, by_quarter).months()

    def _running_month(
        self, session: Session, start: datetime, end: datetime, by_quarter: bool
    ) -> _RunningMonth:
        """The month of the sessions (not the household's meter), kept up to this session."""
        history = self._keeper.history
        sessions = [s for s in history.between(start, end) if s.id != session.id]
        # The other sessions' part is summed again only when one of them changed.
        key = (start, by_quarter, tuple((s.id, len(s.intervals), s.energy_kwh) for s in sessions))
        if self._month_cache is None or self._month_cache[0] != key:
            bucket = month_quarters if by_quarter else month_hourly
            self._month_cache = (key, bucket(sessions, start, end))
        step = QUARTER_S if by_quarter else HOUR_S
        self._running.update(session, self._month_cache, start.timestamp(), end.timestamp(), step)
        return self._running

    def _month_fees(
        self, session: Session, fee: PowerFee, zone: tzinfo
    ) -> tuple[tuple[float, list[int]], float]:
        """A power fee of the session's month with it (and its hours), and without it."""
        start = month_start(session.start)
        end = next_month_start(session.start)
        return self._running_month(session, start, end, by_quarter=False).fees(fee, zone)

    def _parts_at(self, key: int) -> tuple[PriceParts, bool] | None:
        """An interval's price parts, remembered until the prices or the tariff change."""
        try:
            return self._parts_cache[key]
        except KeyError:
            if len(self._parts_cache) >= PRICE_CACHE_SIZE:
                self._parts_cache.clear()
            parts = self.tariff.interval_parts(self.prices, key, dt_util.get_default_time_zone())
            self._parts_cache[key] = parts
            return parts

    def _energy_sums(self, session: Session) -> EnergySums | None:
        """A session's energy at its prices, the earlier intervals' sums kept.

        They are kept for the same session, prices, tariff and time zone while only its
        latest interval changed (``Session.changes``: a late register update spreads energy
        back, and a new interval makes the latest an earlier one); the sums are the same,
        in the same order, as summed afresh.
        """
        intervals = session.intervals
        last = session.latest_interval
        if last is None:
            return NO_ENERGY
        key = (self._prices, self.tariff, dt_util.get_default_time_zone(), session.changes())
        kept = self._summed
        if kept is None or kept[0] is not session or kept[1] != key:
            earlier = sorted((k, kwh) for k, kwh in intervals.items() if k != last)
            kept = self._summed = (session, key, energy_sums(earlier, self._parts_at))
        if kept[2] is None:
            return None
        return energy_sums(((last, intervals[last]),), self._parts_at, kept[2])

    def session_cost(self, session: Session, now: datetime) -> SessionCost | None:
        """What a session costs (so far)."""
        zone = dt_util.get_default_time_zone()
        fee = self.tariff.power_fee
        month_hours = without = fees = None
        if isinstance(fee, PowerFee) and not self._entry.options.get(CONF_HOUSE_POWER_ENTITY):
            fees = self._month_fees(session, fee, zone)
        elif fee is not None:
            month_hours, without = self._month_with_and_without(session)
        return self.tariff.session_cost(
            session,
            self.prices,
            zone,
            month_hourly_kwh=month_hours,
            month_without_kwh=without,
            month_fees=fees,
            month_over=now >= next_month_start(session.start),
            parts_at=self._parts_at,
            sums_of=self._energy_sums,
        )

    def cost(self, session: Session, now: datetime | None = None) -> bool:
        """Price a finished session and keep the result in it; True if it changed."""
        cost = self.session_cost(session, now or dt_util.utcnow())
        before = self._priced(session)
        if cost is None:
            session.cost, session.cost_breakdown = None, {}
            session.cost_estimated = session.power_fee_provisional = False
            session.power_fee_hours = []
        else:
            session.cost, session.cost_breakdown = cost.total, cost.breakdown
            session.cost_estimated = cost.estimated
            session.power_fee_provisional = cost.power_fee_provisional
            session.power_fee_hours = list(cost.power_fee_hours)
        return before != self._priced(session)

    @staticmethod
    def _priced(session: Session) -> tuple[Any, ...]:
        """What pricing sets on a finished session."""
        return (
            session.cost,
            session.cost_estimated,
            session.power_fee_provisional,
            tuple(session.power_fee_hours),
        )

    def recost(self, now: datetime) -> None:
        """Correct sessions priced with estimates, or with a month's provisional power fee."""
        changed = False
        for session in self._keeper.history.between(now - PRICE_HISTORY):
            if session.cost_estimated or session.power_fee_provisional:
                changed |= self.cost(session, now)
        if changed:
            self._keeper.save_history_soon()

    def month_cost(
        self,
        until: datetime,
        active: Session | None,
        active_in_month_kwh: float,
        live: SessionCost | None,
        finished: float | None,
    ) -> float | None:
        """Cost of this month's charging: the finished sessions' and the one in progress.

        ``active_in_month_kwh`` is the energy the session in progress charged this month;
        ``finished`` is the month's share of the finished sessions' cost (None: none known).
        """
        total = finished
        if active is not None and live is not None and active.energy_kwh > 0:
            share = active_in_month_kwh / active.energy_kwh
            total = (total or 0.0) + live.total * share
        if total is None and self.tariff.price_now(self.prices, until, dt_util.UTC) is not None:
            # Prices are known but nothing was charged yet this month.
            total = 0.0
        return total
