"""Cost: prices, the tariff, what sessions and the month cost, the repair on unreadable prices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
import logging
from typing import Any

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
    EnergySums,
    PriceParts,
    RollingPeakFee,
    SessionCost,
    energy_sums,
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
        self._month_hours: tuple[tuple[Any, ...], dict[int, float]] | None = None
        # The session in progress, priced up to its last interval: (what it was priced
        # under, the intervals summed, their sums), so a reading prices one interval.
        self._summed: tuple[tuple[Any, ...], dict[int, float], EnergySums | None] | None = None
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
        self._month_cache = self._month_hours = None
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
        """
        start = month_start(session.start)
        end = next_month_start(session.start)
        by_quarter = isinstance(self.tariff.power_fee, RollingPeakFee)
        if self._entry.options.get(CONF_HOUSE_POWER_ENTITY):
            return self.house.between(start.timestamp(), end.timestamp(), by_quarter=by_quarter)
        history = self._keeper.history
        sessions = [s for s in history.between(start, end) if s.id != session.id]
        # The other sessions' part is summed again only when one of them changed.
        key = (start, by_quarter, tuple((s.id, len(s.intervals), s.energy_kwh) for s in sessions))
        if self._month_cache is None or self._month_cache[0] != key:
            bucket = month_quarters if by_quarter else month_hourly
            self._month_cache = (key, bucket(sessions, start, end))
            self._month_hours = None
        # Asked again for the same session in the same state (the cost, then the plan).
        own = (session.id, len(session.intervals), session.energy_kwh)
        if self._month_hours is not None and self._month_hours[0] == own:
            return self._month_hours[1]
        hours = dict(self._month_cache[1])
        step = QUARTER_S if by_quarter else HOUR_S
        low, high = start.timestamp(), end.timestamp()
        for interval, kwh in session.intervals.items():
            if low <= interval < high:
                slot = interval - interval % step
                hours[slot] = hours.get(slot, 0.0) + kwh
        self._month_hours = (own, hours)
        return hours

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

        They are kept for the same session, prices, tariff and time zone while the earlier
        intervals are as they were (compared as a whole: a late register update spreads
        energy back over them); the sums are the same, in the same order, as summed afresh.
        """
        intervals = session.intervals
        if not intervals:
            return NO_ENERGY
        last = max(intervals)
        key = (session.id, self._prices, self.tariff, dt_util.get_default_time_zone(), last)
        kept = self._summed
        if (
            kept is None
            or kept[0] != key
            or len(kept[1]) != len(intervals) - 1
            or not kept[1].items() <= intervals.items()
        ):
            earlier = {k: kwh for k, kwh in intervals.items() if k != last}
            kept = self._summed = (
                key,
                earlier,
                energy_sums(sorted(earlier.items()), self._parts_at),
            )
        if kept[2] is None:
            return None
        return energy_sums(((last, intervals[last]),), self._parts_at, kept[2])

    def session_cost(self, session: Session, now: datetime) -> SessionCost | None:
        """What a session costs (so far)."""
        month_hours = self.month_hours(session) if self.tariff.power_fee else None
        return self.tariff.session_cost(
            session,
            self.prices,
            dt_util.get_default_time_zone(),
            month_hourly_kwh=month_hours,
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
        start: datetime,
        until: datetime,
        active: Session | None,
        live: SessionCost | None,
        finished: float | None,
    ) -> float | None:
        """Cost of this month's charging: the finished sessions' and the one in progress.

        ``finished`` is the month's share of the finished sessions' cost (None: none known).
        """
        total = finished
        if active is not None and live is not None and active.energy_kwh > 0:
            share = active.energy_between(start, until) / active.energy_kwh
            total = (total or 0.0) + live.total * share
        if total is None and self.tariff.price_now(self.prices, until, dt_util.UTC) is not None:
            # Prices are known but nothing was charged yet this month.
            total = 0.0
        return total
