"""Planning and charger control: what the car needs by when, the plan, smart charging, habits."""

from __future__ import annotations

from datetime import datetime, time, timedelta
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.util import dt as dt_util

from .const import (
    CONF_BATTERY_CAPACITY_KWH,
    CONF_CHARGING_MODE,
    CONF_DEPARTURE_TIME,
    CONF_MAX_POWER_KW,
    CONF_NEXT_DEPARTURE,
    CONF_SMART_CHARGING,
    CONF_TARGET_ENERGY_KWH,
    CONF_TARGET_SOC,
    DEFAULT_DEPARTURE_TIME,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_TARGET_ENERGY_KWH,
    MODE_CHEAPEST,
    MODE_IMMEDIATE,
    SOURCE_CAR,
    SOURCE_DEFAULT,
    SOURCE_LEARNED,
    SOURCE_SET,
)
from .costs import Costs
from .model.habits import WEEKDAYS, Habits, learn_habits
from .model.planner import Plan, plan_cheapest, plan_immediate, plan_with_power_fee
from .model.reading import Reading
from .model.session import Session, interval_start
from .power import PowerGuard, Send
from .sessions import SessionKeeper
from .sources.base import Capability, Source
from .time_util import next_departure

_LOGGER = logging.getLogger(__name__)

MANUAL_GRACE = timedelta(seconds=60)
# A car that has charged this long outside the plan is not being started and stopped by it
# (no smart charging, no automation on charge_now, or someone started it by hand): when it
# will be ready is then worked out at the power it takes, not from the plan. Long enough
# for an automation and a slowly reporting wallbox to stop it at a slot's end.
UNFOLLOWED_AFTER = timedelta(minutes=5)
DEFAULT_MIN_DWELL = timedelta(hours=1)  # a default departure closer to the plug-in: tomorrow


class ChargeControl:
    """Plans each session and starts or stops the wallbox by the plan (with smart charging)."""

    def __init__(  # noqa: PLR0917
        self,
        entry: ConfigEntry[Any],
        source: Source,
        keeper: SessionKeeper,
        costs: Costs,
        power: PowerGuard,
        send: Send,
    ) -> None:
        """Plan with the costs, control through the source, yield to the load guard."""
        self._entry = entry
        self._source = source
        self._keeper = keeper
        self._costs = costs
        self._power = power
        self._send = send
        self.habits: Habits | None = None
        self.manual_override = False
        self._commanded: bool | None = None
        self._commanded_at = dt_util.utcnow()
        # What the car asked for in this session (OCPP 2.0.1 NotifyEVChargingNeeds).
        self.car_departure: datetime | None = None
        self.car_energy_kwh: float | None = None
        self._kept: _Kept | None = None  # the last plan and what it was made for
        # Since when the car has charged while the plan did not (None: it has not).
        self._outside_plan_since: datetime | None = None

    def relearn(self) -> None:
        """Learn habits again from the last 90 sessions."""
        sessions = self._keeper.history.recent(90)
        self.habits = learn_habits(sessions, dt_util.get_default_time_zone())

    def session_started(self, session: Session) -> None:
        """A new session: its target, mode and departure; manual control is forgotten."""
        options = self._entry.options
        session.target_energy_kwh = self.target_energy(session.start)[0]
        session.charging_mode = options.get(CONF_CHARGING_MODE, MODE_IMMEDIATE)
        self.manual_override = False
        self._outside_plan_since = None
        session.departure = self.departure(session.start)[0]

    def car_request(self, reading: Reading) -> None:
        """The departure and energy the car asks for become the session's preferences."""
        session = self._keeper.tracker.active
        if session is None:
            self.car_departure = self.car_energy_kwh = None
            return
        if reading.departure is not None and reading.departure != self.car_departure:
            self.car_departure = session.departure = reading.departure
        if (
            reading.energy_wanted_kwh is not None
            and reading.energy_wanted_kwh != self.car_energy_kwh
        ):
            self.car_energy_kwh = session.target_energy_kwh = reading.energy_wanted_kwh

    # -- what the car needs -----------------------------------------------------

    def effective_power_kw(self, session: Session | None, now: datetime) -> float:
        """The least of the user's limit, the wallbox's maximum and what the car really takes.

        What the car takes is the session's mean charging power once it has charged for
        five minutes, so a car that draws 7.07 kW on a 7.36 kW wallbox is planned at 7.07.
        """
        options = self._entry.options
        limits = [float(options.get(CONF_MAX_POWER_KW, DEFAULT_MAX_POWER_KW))]
        if self._source.max_power_w:
            limits.append(self._source.max_power_w / 1000)
        if session is not None and (seconds := session.charging_s(now)) >= 300:
            measured = session.average_power_w(now, charging_s=seconds)
            if measured:
                limits.append(measured / 1000)
        return min(limits)

    def needed_kwh(self, session: Session) -> float:
        """Energy still wanted: to the target SoC when known, else to the target energy."""
        options = self._entry.options
        capacity = options.get(CONF_BATTERY_CAPACITY_KWH) or self._entry.data.get(
            CONF_BATTERY_CAPACITY_KWH
        )
        target_soc = options.get(CONF_TARGET_SOC)
        soc = self._keeper.tracker.soc
        if target_soc is not None and capacity and soc is not None:
            return max(0.0, (float(target_soc) - soc) / 100 * float(capacity))
        return max(0.0, self.target_energy(session.start)[0] - session.energy_kwh)

    def completion(
        self, session: Session | None, now: datetime, plan: Plan | None, *, outside_plan: bool
    ) -> datetime | None:
        """When the target will be reached (None: not by departure, or reached already).

        By the plan, unless the car has charged outside it (``outside_plan``: charging while
        the plan does not) for UNFOLLOWED_AFTER: then at the power it takes from now on.
        """
        if session is None or plan is None:
            self._outside_plan_since = None
            return None
        if not outside_plan:
            self._outside_plan_since = None
        elif self._outside_plan_since is None:
            self._outside_plan_since = now
        elif now - self._outside_plan_since >= UNFOLLOWED_AFTER:
            needed = self.needed_kwh(session)
            power = self.effective_power_kw(session, now)
            if needed <= 0 or power <= 0:
                return None
            # To the minute, as it is shown: a reading moves it by seconds, and the entities
            # are told only when it moves by a minute.
            ready = now + timedelta(hours=needed / power, seconds=30)
            return ready.replace(second=0, microsecond=0)
        return None if plan.falls_short else plan.end

    def target_energy(self, plugged_in: datetime) -> tuple[float, str]:
        """Energy wanted per session: asked by the car, set by the user, learned, or default."""
        options = self._entry.options
        if self.car_energy_kwh is not None and self._keeper.tracker.active is not None:
            return self.car_energy_kwh, SOURCE_CAR
        if options.get(CONF_TARGET_ENERGY_KWH) is not None:
            return float(options[CONF_TARGET_ENERGY_KWH]), SOURCE_SET
        if self.habits is not None and self.habits.energy_kwh:
            day = WEEKDAYS[dt_util.as_local(plugged_in).weekday()]
            return self.habits.energy_kwh[day], SOURCE_LEARNED
        return DEFAULT_TARGET_ENERGY_KWH, SOURCE_DEFAULT

    def departure(
        self, plugged_in: datetime, now: datetime | None = None
    ) -> tuple[datetime | None, str]:
        """When the car leaves: asked by the car, a one-off, the daily time, learned, or 07:00."""
        options = self._entry.options
        after = now or plugged_in
        if (
            self.car_departure is not None
            and self._keeper.tracker.active is not None
            and self.car_departure > after
        ):
            return self.car_departure, SOURCE_CAR
        if (one_off := self.one_off_departure(after)) is not None:
            return one_off, SOURCE_SET
        if options.get(CONF_DEPARTURE_TIME):
            return next_departure(after, options[CONF_DEPARTURE_TIME]), SOURCE_SET
        if self.habits is not None and self.habits.unplug:
            zone = dt_util.get_default_time_zone()
            learned = self.habits.next_departure(plugged_in, zone)
            if learned is None or learned <= after:
                # Still plugged in past the usual departure: the next usual one.
                learned = self.habits.next_departure(after, zone)
            # Learned unplug times cover every weekday (a day borrows the overall value).
            assert learned is not None
            return dt_util.as_utc(learned), SOURCE_LEARNED
        # A default departure less than an hour after the plug-in means tomorrow's: a car
        # plugged in at 06:54 is not "at risk" against 07:00.
        earliest = max(after, plugged_in + DEFAULT_MIN_DWELL)
        return next_departure(earliest, DEFAULT_DEPARTURE_TIME), SOURCE_DEFAULT

    def usual_departure(self, now: datetime) -> tuple[time, str]:
        """The daily departure in force today: set, else learned for today, else 07:00."""
        options = self._entry.options
        if options.get(CONF_DEPARTURE_TIME):
            return time.fromisoformat(str(options[CONF_DEPARTURE_TIME])), SOURCE_SET
        if self.habits is not None and self.habits.unplug:
            return self.habits.unplug[WEEKDAYS[dt_util.as_local(now).weekday()]], SOURCE_LEARNED
        return time.fromisoformat(DEFAULT_DEPARTURE_TIME), SOURCE_DEFAULT

    def one_off_departure(self, now: datetime) -> datetime | None:
        """The one-off departure while it lies ahead."""
        value = self._entry.options.get(CONF_NEXT_DEPARTURE)
        if not value:
            return None
        moment = dt_util.as_utc(datetime.fromisoformat(value))
        return moment if moment > now else None

    # -- the plan ---------------------------------------------------------------

    def plan(
        self,
        session: Session,
        now: datetime,
        departure: datetime | None,
        base_load_kw: float = 0.0,
    ) -> Plan:
        """The plan for the rest of the session, by the charging mode.

        Made again only when something changed materially (see ``_Kept.fits``): a reading
        every few seconds otherwise re-plans the same quarters again and again.
        """
        energy = self.needed_kwh(session)
        power = self.effective_power_kw(session, now)
        key = (
            session.id,
            departure,
            interval_start(now),
            round(base_load_kw, 1),
            self._costs.prices,
            self._costs.tariff,
            self._entry.options,
        )
        kept = self._kept
        if kept is not None and kept.fits(key, now, energy, power):
            return kept.plan
        plan = self._make_plan(
            session, now, departure, base_load_kw=base_load_kw, energy=energy, power=power
        )
        self._kept = _Kept(key, now, energy, power, plan)
        return plan

    def _make_plan(
        self,
        session: Session,
        now: datetime,
        departure: datetime | None,
        *,
        base_load_kw: float,
        energy: float,
        power: float,
    ) -> Plan:
        mode = self._entry.options.get(CONF_CHARGING_MODE, MODE_IMMEDIATE)
        costs = self._costs
        if mode == MODE_CHEAPEST and departure is not None and costs.tariff.power_fee is not None:
            return plan_with_power_fee(
                start=now,
                departure=departure,
                energy_kwh=energy,
                power_kw=power,
                price_at=costs.price_at,
                fee=costs.tariff.power_fee,
                month_hours=costs.month_hours(session),
                zone=dt_util.get_default_time_zone(),
                vat_rate=costs.tariff.vat_rate,
                base_load_kw=base_load_kw,
            )
        if mode == MODE_CHEAPEST and departure is not None:
            return plan_cheapest(
                start=now,
                departure=departure,
                energy_kwh=energy,
                power_kw=power,
                price_at=costs.price_at,
            )
        return plan_immediate(
            start=now,
            departure=departure,
            energy_kwh=energy,
            power_kw=power,
            price_at=costs.price_at,
        )

    # -- control ----------------------------------------------------------------

    @property
    def smart_charging(self) -> bool:
        """Whether the integration switches the wallbox by the plan."""
        return bool(self._entry.options.get(CONF_SMART_CHARGING, False))

    def _want_charging(self, plan: Plan | None, planned_now: bool) -> bool | None:
        """Whether the wallbox should charge now (None: no opinion, leave it alone).

        The load guard's pause always wins. With smart charging on, the plan decides,
        unless the user started or stopped charging by hand during this session. Otherwise
        EV Sessions only undoes a stop of its own: it never starts a charger it did not stop.
        """
        if self._power.paused:
            return False
        if self.smart_charging and not self.manual_override and plan is not None:
            return planned_now
        return True if self._commanded is False else None

    def control(self, now: datetime, plan: Plan | None, planned_now: bool) -> None:
        """Start or stop the wallbox when what it should do changes.

        ``planned_now``: whether the plan charges now (``plan.charging_at(now)``, worked out
        once per snapshot).
        """
        source = self._source
        can_switch = Capability.START_STOP in source.capabilities
        if not (can_switch or Capability.CURRENT_LIMIT in source.capabilities):
            return
        enabled = source.charging_enabled()
        if (
            self.smart_charging
            and self._commanded is not None
            and enabled is not None
            and enabled != self._commanded
            and now - self._commanded_at > MANUAL_GRACE
        ):
            # Someone started or stopped charging by hand: respect it until the next plug-in.
            _LOGGER.info(
                "Charging of %s was switched by hand; smart charging waits", self._entry.title
            )
            self.manual_override = True
            self._commanded = enabled
        want = self._want_charging(plan, planned_now)
        if want is None or want == self._commanded:
            return
        self._commanded, self._commanded_at = want, now
        if can_switch:
            self._send("switch charging", source.async_set_charging(want))
        elif not want:
            self._send("pause charging", source.async_set_current_limit(0))
        else:
            self._send(
                "resume charging", source.async_set_current_limit(self._power.resume_limit_a)
            )


# A plan is made again when the energy still wanted moved by this much, the power by this
# share, a minute passed, or a new quarter began; near the target, at every reading.
REPLAN_ENERGY_KWH = 0.25
REPLAN_POWER_SHARE = 0.02
REPLAN_AFTER = timedelta(minutes=1)


class _Kept:
    """The last plan, with what it was made for."""

    __slots__ = ("energy", "key", "made", "plan", "power")

    def __init__(
        self, key: tuple[Any, ...], made: datetime, energy: float, power: float, plan: Plan
    ) -> None:
        self.key, self.made, self.energy, self.power, self.plan = key, made, energy, power, plan

    def fits(self, key: tuple[Any, ...], now: datetime, energy: float, power: float) -> bool:
        """Whether the plan still stands.

        It does for the same session, departure, quarter, prices, tariff and options, made
        less than a minute ago, with no material change in the energy wanted or the power.
        Near the target it is made again at every reading (charging stops when it is met);
        once nothing more is wanted, the plan to charge nothing stands, whatever the power.
        """
        if key != self.key or not self.made <= now < self.made + REPLAN_AFTER:
            return False
        if energy == self.energy == 0.0:
            return True
        return (
            energy > REPLAN_ENERGY_KWH
            and abs(energy - self.energy) < REPLAN_ENERGY_KWH
            and abs(power - self.power) <= REPLAN_POWER_SHARE * self.power
        )
