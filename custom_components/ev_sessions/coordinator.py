"""The coordinator: feeds readings to the tracker, keeps history, tells entities."""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_time_interval,
    async_track_utc_time_change,
)
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .bursts import async_track_state_bursts
from .const import (
    CONF_BATTERY_CAPACITY_KWH,
    CONF_CHARGING_MODE,
    CONF_DEPARTURE_TIME,
    CONF_GRACE_PERIOD_MIN,
    CONF_HOURLY_SETTLEMENT,
    CONF_HOUSE_CURRENT_ENTITIES,
    CONF_HOUSE_POWER_ENTITY,
    CONF_MAIN_FUSE_A,
    CONF_MAX_POWER_KW,
    CONF_NEXT_DEPARTURE,
    CONF_PHASES,
    CONF_POWER_THRESHOLD_W,
    CONF_PRICE_ENTITY,
    CONF_SAFETY_MARGIN_A,
    CONF_SMART_CHARGING,
    CONF_TARGET_ENERGY_KWH,
    CONF_TARGET_SOC,
    DEFAULT_DEPARTURE_TIME,
    DEFAULT_GRACE_PERIOD_MIN,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_POWER_THRESHOLD_W,
    DEFAULT_SAFETY_MARGIN_A,
    DEFAULT_TARGET_ENERGY_KWH,
    DOMAIN,
    EVENT_SESSION_ENDED,
    EVENT_SESSION_STARTED,
    ISSUE_FUSE_INCONSISTENT,
    ISSUE_FUSE_MISSING,
    ISSUE_PRICE_SHAPE,
    MODE_CHEAPEST,
    MODE_IMMEDIATE,
    SOURCE_CAR,
    SOURCE_DEFAULT,
    SOURCE_LEARNED,
    SOURCE_SET,
    STATE_SAVE_DELAY,
    STATUS_CHARGING,
    STATUS_CONNECTED,
    STATUS_DISCONNECTED,
    STATUS_ERROR,
    STATUS_SUSPENDED,
    STORAGE_VERSION,
    TICK_INTERVAL,
)
from .model.classify import most_common, power_class
from .model.habits import WEEKDAYS, Habits, learn_habits
from .model.history import SessionHistory, session_summary
from .model.load_guard import (
    MIN_CURRENT_A,
    VOLTAGE,
    DeliveryCheck,
    DeliveryMonitor,
    GuardConfig,
    GuardDecision,
    LoadGuard,
    phase_loads,
)
from .model.meter import HourlyMeter
from .model.planner import Plan, plan_cheapest, plan_immediate, plan_with_power_fee
from .model.prices import PriceSeries, PriceShapeError
from .model.reading import Reading
from .model.session import Session
from .model.tariff import SessionCost, month_hourly
from .model.tracker import (
    SessionEnded,
    SessionStarted,
    SessionTracker,
    TrackerConfig,
    TrackerEvent,
)
from .model.units import parse_number, power_to_w
from .pricing import (
    action_platform,
    async_fetch_action_prices,
    read_price_attributes,
    tariff_from_options,
)
from .sources.base import Capability, Source, SourceError
from .sources.http import SourceAuthError

_LOGGER = logging.getLogger(__name__)

type EvSessionsConfigEntry = ConfigEntry[EvSessionsCoordinator]


@dataclass(frozen=True, slots=True, kw_only=True)
class EvSessionsData:
    """What the entities show."""

    now: datetime
    status: str
    power_w: float | None
    soc: float | None
    plugged_in: bool
    charging: bool
    session: Session | None
    last_session: Session | None
    energy_total_kwh: float
    month_energy_kwh: float
    month_start: datetime
    session_cost: SessionCost | None
    month_cost: float | None
    price: float | None
    guard: GuardDecision | None
    delivery: DeliveryCheck
    usual_power_class: str | None
    plan: Plan | None
    departure: datetime | None
    departure_source: str
    target_kwh: float
    target_source: str
    habits: Habits | None


PRICE_HISTORY = timedelta(days=40)
MANUAL_GRACE = timedelta(seconds=60)
MAX_CURRENT_A = 32.0
ACTION_PRICE_REFRESH = timedelta(hours=1)


def month_start(now: datetime) -> datetime:
    """Start of the local calendar month holding now, as an aware datetime."""
    local = dt_util.as_local(now)
    return dt_util.start_of_local_day(local.date().replace(day=1))


def next_month_start(now: datetime) -> datetime:
    """Start of the local calendar month after the one holding now."""
    return month_start(month_start(now) + timedelta(days=32))


def next_departure(after: datetime, departure: str | None) -> datetime | None:
    """The first local departure time (HH:MM:SS) after a moment."""
    if not departure:
        return None
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


def session_stores(
    hass: HomeAssistant, entry_id: str
) -> tuple[Store[dict[str, Any]], Store[dict[str, Any]]]:
    """The tracker-state store (small, saved often) and the history store (on session end)."""
    return (
        Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.state", atomic_writes=True),
        Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.history", atomic_writes=True),
    )


class EvSessionsCoordinator(DataUpdateCoordinator[EvSessionsData]):
    """Sessions of one wallbox."""

    config_entry: EvSessionsConfigEntry

    def __init__(self, hass: HomeAssistant, entry: EvSessionsConfigEntry, source: Source) -> None:
        """Set up with empty history; call async_load before the first refresh."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=source.poll_interval,
            always_update=True,
        )
        self.source = source
        self.tracker = SessionTracker(self._tracker_config())
        self.history = SessionHistory()
        self._state_store, self._history_store = session_stores(hass, entry.entry_id)
        self._state_due: float | None = None
        self.applied_options: dict[str, Any] = dict(entry.options)
        self.habits: Habits | None = None
        self.tariff = tariff_from_options(entry.options)
        self.prices = PriceSeries()
        self.house = HourlyMeter()
        self.price_problem: str | None = None
        self.guard = self._make_guard()
        self.monitor = DeliveryMonitor()
        self.guard_decision: GuardDecision | None = None
        self.manual_override = False
        self._commanded: bool | None = None
        self._commanded_at = dt_util.utcnow()
        self.delivery = DeliveryCheck(False, None, 0.0)
        # What the car asked for in this session (OCPP 2.0.1 NotifyEVChargingNeeds).
        self.car_departure: datetime | None = None
        self.car_energy_kwh: float | None = None

    @property
    def device_info(self) -> DeviceInfo:
        """The one device of this entry."""
        return DeviceInfo(
            identifiers={(DOMAIN, self.config_entry.entry_id)},
            name=self.config_entry.title,
            manufacturer="EV Sessions",
            model=self.source.model,
        )

    def _tracker_config(self) -> TrackerConfig:
        options = self.config_entry.options
        return TrackerConfig(
            uses_connection=self.source.uses_connection,
            has_register=self.source.has_register,
            power_threshold_w=float(options.get(CONF_POWER_THRESHOLD_W, DEFAULT_POWER_THRESHOLD_W)),
            grace_period=timedelta(
                minutes=float(options.get(CONF_GRACE_PERIOD_MIN, DEFAULT_GRACE_PERIOD_MIN))
            ),
            plausible_power_w=self.source.plausible_power_w,
        )

    # -- persistence ------------------------------------------------------------

    async def async_load(self) -> None:
        """Restore history and the tracker (with a session in progress)."""
        history = await self._history_store.async_load()
        if history is not None:
            self.history = SessionHistory.from_list(history["sessions"])
            self.relearn()
        state = await self._state_store.async_load()
        if state is None:
            return
        self.tracker = SessionTracker.from_dict(self._tracker_config(), state["tracker"])
        self.source.restore(state.get("source", {}))
        self.prices = PriceSeries.from_list(state.get("prices", []))
        self.house = HourlyMeter.from_dict(state.get("house", {}))
        if self.guard is not None:
            self.guard.restore(state.get("guard", {}))
        active = self.tracker.active
        if active is not None and active.id in {s.id for s in self.history.between(active.start)}:
            # Stopped between saving the ended session and the tracker: it did end.
            self.tracker.active = None

    def _save_state_soon(self, delay: float) -> None:
        """Write the state within delay seconds.

        Store.async_delay_save debounces: every call pushes the write back. Readings come
        every few seconds, so asking on each one would postpone the write for as long as
        the car charges. Ask only when no write is due sooner.
        """
        due = self.hass.loop.time() + delay
        if self._state_due is not None and self._state_due <= due:
            return
        self._state_due = due
        self._state_store.async_delay_save(self._state_data, delay)

    def _state_data(self) -> dict[str, Any]:
        self._state_due = None
        return {
            "tracker": self.tracker.as_dict(),
            "source": self.source.as_dict(),
            "prices": self.prices.as_list(),
            "house": self.house.as_dict(),
            "guard": {} if self.guard is None else self.guard.as_dict(),
        }

    def _history_data(self) -> dict[str, Any]:
        return {"sessions": self.history.as_list()}

    async def async_save_now(self) -> None:
        """Write everything at once (unload)."""
        await self._history_store.async_save(self._history_data())
        await self._state_store.async_save(self._state_data())

    # -- readings ---------------------------------------------------------------

    async def _async_update_data(self) -> EvSessionsData:
        now = dt_util.utcnow()
        try:
            reading = await self.source.async_poll(now)
        except SourceAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="source_auth_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        except SourceError as err:
            # The base class logs the first failure and the recovery, once each.
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="source_unavailable",
                translation_placeholders={"error": str(err)},
            ) from err
        self._process(reading)
        # Sources may poll faster while charging.
        self.update_interval = self.source.poll_interval
        return self._snapshot(now)

    @callback
    def handle_reading(self, reading: Reading) -> None:
        """Take a reading the source pushed."""
        self._process(reading)
        self.async_set_updated_data(self._snapshot(reading.time))

    def _meter_house(self, now: datetime) -> None:
        """Feed the household meter its current power (on changes and on every tick)."""
        if not self.config_entry.options.get(CONF_HOUSE_POWER_ENTITY):
            return
        self.house.update(now, self._house_power_w())
        self.house.prune(month_start(now) - timedelta(days=1))

    def _house_power_w(self) -> float | None:
        """The household power sensor's value in W (None: none, unknown or nonsense)."""
        entity_id = self.config_entry.options.get(CONF_HOUSE_POWER_ENTITY)
        state = self.hass.states.get(entity_id) if entity_id else None
        if state is None:
            return None
        return power_to_w(state.state, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))

    def _process(self, reading: Reading) -> None:
        self._meter_house(reading.time)
        events = self.tracker.update(reading)
        for event in events:
            self._handle_event(event)
        self._car_request(reading)
        self._guard_step(reading.time)
        self._check_delivery(reading)
        self._save_state_soon(STATE_SAVE_DELAY)

    def _car_request(self, reading: Reading) -> None:
        """The departure and energy the car asks for become the session's preferences."""
        session = self.tracker.active
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

    def _handle_event(self, event: TrackerEvent) -> None:
        session = event.session
        if isinstance(event, SessionStarted):
            options = self.config_entry.options
            session.target_energy_kwh = self.target_energy(session.start)[0]
            session.charging_mode = options.get(CONF_CHARGING_MODE, MODE_IMMEDIATE)
            self.manual_override = False
            session.departure = self.departure(session.start)[0]
            self._fire(EVENT_SESSION_STARTED, session)
            return
        self._cost(session)
        self.history.add(session)
        self.relearn()
        # Both stores soon, so a restart never sees the session as active and ended.
        self._history_store.async_delay_save(self._history_data, 1)
        self._save_state_soon(1)
        if isinstance(event, SessionEnded):
            self._fire(EVENT_SESSION_ENDED, session)

    def _fire(self, event_type: str, session: Session) -> None:
        summary = session_summary(session, session.end or session.start, self.currency)
        self.hass.bus.async_fire(
            event_type,
            {
                "entry_id": self.config_entry.entry_id,
                "session_id": session.id,
                "start": summary["start"],
                "end": summary["end"],
                "energy_kwh": summary["energy_kwh"],
                "cost": summary["cost"],
                "currency": self.currency,
                "user": session.user,
            },
        )

    @property
    def currency(self) -> str:
        """Home Assistant's currency."""
        return self.hass.config.currency

    def _snapshot(self, now: datetime) -> EvSessionsData:
        tracker = self.tracker
        session = tracker.active
        start = month_start(now)
        until = now + TICK_INTERVAL
        month_energy = self.history.energy_between(start, until)
        if session is not None:
            month_energy += session.energy_between(start, until)
        if tracker.error:
            status = STATUS_ERROR
        elif session is None:
            status = STATUS_DISCONNECTED
        elif tracker.charging:
            status = STATUS_CHARGING
        elif session.periods:
            status = STATUS_SUSPENDED
        else:
            status = STATUS_CONNECTED
        live_cost = None if session is None else self._session_cost(session, now)
        departure, departure_source = self.departure(session.start if session else now, now)
        target_kwh, target_source = self.target_energy(session.start if session else now)
        plan = None if session is None else self._plan(session, now, departure)
        self._control(now, plan)
        return EvSessionsData(
            now=now,
            status=status,
            power_w=tracker.power_w,
            soc=tracker.soc if session is not None else None,
            plugged_in=session is not None,
            charging=session is not None and tracker.charging,
            session=session,
            last_session=self.history.last,
            energy_total_kwh=tracker.energy_total_kwh,
            month_energy_kwh=month_energy,
            month_start=start,
            session_cost=live_cost,
            month_cost=self._month_cost(start, until, session, live_cost),
            price=self.tariff.price_now(self.prices, now, dt_util.get_default_time_zone()),
            guard=self.guard_decision,
            delivery=self.delivery,
            usual_power_class=most_common(power_class(s) for s in self.history.sessions[-30:]),
            plan=plan,
            departure=departure,
            departure_source=departure_source,
            target_kwh=target_kwh,
            target_source=target_source,
            habits=self.habits,
        )

    # -- planning ---------------------------------------------------------------

    def price_at(self, moment: datetime) -> tuple[float | None, bool]:
        """All-in price per kWh at a moment, and whether it is an estimate."""
        spot, estimated = self.tariff.spot_at(self.prices, moment)
        if spot is None:
            return None, True
        return self.tariff.parts(spot, dt_util.as_local(moment)).total, estimated

    def effective_power_kw(self, session: Session | None, now: datetime) -> float:
        """The least of the user's limit, the wallbox's maximum and what the car really takes.

        What the car takes is the session's mean charging power once it has charged for
        five minutes, so a car that draws 7.07 kW on a 7.36 kW wallbox is planned at 7.07.
        """
        options = self.config_entry.options
        limits = [float(options.get(CONF_MAX_POWER_KW, DEFAULT_MAX_POWER_KW))]
        if self.source.max_power_w:
            limits.append(self.source.max_power_w / 1000)
        if session is not None and session.charging_s(now) >= 300:
            measured = session.average_power_w(now)
            if measured:
                limits.append(measured / 1000)
        return min(limits)

    def needed_kwh(self, session: Session) -> float:
        """Energy still wanted: to the target SoC when known, else to the target energy."""
        options = self.config_entry.options
        capacity = options.get(CONF_BATTERY_CAPACITY_KWH) or self.config_entry.data.get(
            CONF_BATTERY_CAPACITY_KWH
        )
        target_soc = options.get(CONF_TARGET_SOC)
        if target_soc is not None and capacity and self.tracker.soc is not None:
            return max(0.0, (float(target_soc) - self.tracker.soc) / 100 * float(capacity))
        return max(0.0, self.target_energy(session.start)[0] - session.energy_kwh)

    def target_energy(self, plugged_in: datetime) -> tuple[float, str]:
        """Energy wanted per session: asked by the car, set by the user, learned, or default."""
        options = self.config_entry.options
        if self.car_energy_kwh is not None and self.tracker.active is not None:
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
        options = self.config_entry.options
        after = now or plugged_in
        if (
            self.car_departure is not None
            and self.tracker.active is not None
            and self.car_departure > after
        ):
            return self.car_departure, SOURCE_CAR
        if (one_off := options.get(CONF_NEXT_DEPARTURE)) and (
            moment := dt_util.as_utc(datetime.fromisoformat(one_off))
        ) > after:
            return moment, SOURCE_SET
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
        return next_departure(after, DEFAULT_DEPARTURE_TIME), SOURCE_DEFAULT

    def relearn(self) -> None:
        """Learn habits again from the last 90 sessions."""
        self.habits = learn_habits(self.history.sessions[-90:], dt_util.get_default_time_zone())

    def _plan(self, session: Session, now: datetime, departure: datetime | None) -> Plan:
        energy = self.needed_kwh(session)
        power = self.effective_power_kw(session, now)
        mode = self.config_entry.options.get(CONF_CHARGING_MODE, MODE_IMMEDIATE)
        if mode == MODE_CHEAPEST and departure is not None and self.tariff.power_fee is not None:
            return plan_with_power_fee(
                start=now,
                departure=departure,
                energy_kwh=energy,
                power_kw=power,
                price_at=self.price_at,
                fee=self.tariff.power_fee,
                month_hours=self._month_hours(session),
                zone=dt_util.get_default_time_zone(),
                vat_rate=self.tariff.vat_rate,
            )
        if mode == MODE_CHEAPEST and departure is not None:
            return plan_cheapest(
                start=now,
                departure=departure,
                energy_kwh=energy,
                power_kw=power,
                price_at=self.price_at,
            )
        return plan_immediate(
            start=now,
            departure=departure,
            energy_kwh=energy,
            power_kw=power,
            price_at=self.price_at,
        )

    # -- power ------------------------------------------------------------------

    @property
    def charger_phases(self) -> int:
        """Phases the wallbox charges on: the source's, else the household's."""
        return self.source.charger_phases or int(self.config_entry.options.get(CONF_PHASES, 3))

    def _make_guard(self) -> LoadGuard | None:
        options = self.config_entry.options
        if not options.get(CONF_MAIN_FUSE_A):
            return None
        house_phases = int(options.get(CONF_PHASES, 3))
        return LoadGuard(
            GuardConfig(
                fuse_a=float(options[CONF_MAIN_FUSE_A]),
                house_phases=house_phases,
                charger_phases=min(self.charger_phases, house_phases),
                margin_a=float(options.get(CONF_SAFETY_MARGIN_A, DEFAULT_SAFETY_MARGIN_A)),
                max_current_a=self._max_current_a(min(self.charger_phases, house_phases)),
            )
        )

    def _max_current_a(self, charger_phases: int) -> float:
        """The charger's maximum current per phase (32 A until the charger tells)."""
        if self.source.max_power_w:
            return min(MAX_CURRENT_A, self.source.max_power_w / VOLTAGE / charger_phases)
        return MAX_CURRENT_A

    def _house_loads(self) -> list[float] | None:
        options = self.config_entry.options
        currents: list[float | None] = []
        for entity_id in options.get(CONF_HOUSE_CURRENT_ENTITIES) or []:
            state = self.hass.states.get(entity_id)
            currents.append(None if state is None else parse_number(state.state))
        return phase_loads(
            currents or None, self._house_power_w(), int(options.get(CONF_PHASES, 3))
        )

    def _guard_step(self, now: datetime) -> None:
        """Let the guard decide the charger current from the household's load."""
        if self.guard is None or (loads := self._house_loads()) is None:
            return
        # Polled chargers tell their maximum only once read: follow it.
        max_current = self._max_current_a(self.guard.config.charger_phases)
        if max_current != self.guard.config.max_current_a:
            self.guard.config = replace(self.guard.config, max_current_a=max_current)
            self.guard.limit_a = min(self.guard.limit_a, max_current)
        tracker = self.tracker
        charger_a = (
            (tracker.power_w or 0.0) / VOLTAGE / self.guard.config.charger_phases
            if tracker.charging
            else 0.0
        )
        previous = self.guard.limit_a
        decision = self.guard.update(now, loads, charger_a)
        self.guard_decision = decision
        if decision.changed:
            self._send_limit(previous, decision.limit_a)
        if any(load > 1.5 * self.guard.config.fuse_a for load in loads):
            self._fuse_issue(
                ISSUE_FUSE_INCONSISTENT,
                {"measured": f"{max(loads):.0f}", "fuse": f"{self.guard.config.fuse_a:.0f}"},
            )

    def _send(self, description: str, command: Coroutine[Any, Any, None]) -> None:
        """Run a command to the wallbox in the background; a refusal is logged, not raised."""

        async def _run() -> None:
            try:
                await command
            except (HomeAssistantError, SourceError) as err:
                _LOGGER.warning("Could not %s on %s: %s", description, self.name, err)

        self.config_entry.async_create_background_task(self.hass, _run(), f"{DOMAIN} {description}")

    def _send_limit(self, previous: float, limit: float) -> None:
        """Send the guard's current limit (pausing and resuming is up to _control)."""
        if limit >= MIN_CURRENT_A and Capability.CURRENT_LIMIT in self.source.capabilities:
            self._send("set the current limit", self.source.async_set_current_limit(limit))

    @property
    def smart_charging(self) -> bool:
        """Whether the integration switches the wallbox by the plan."""
        return bool(self.config_entry.options.get(CONF_SMART_CHARGING, False))

    def _want_charging(self, now: datetime, plan: Plan | None) -> bool | None:
        """Whether the wallbox should charge now (None: no opinion, leave it alone).

        The load guard's pause always wins. With smart charging on, the plan decides,
        unless the user started or stopped charging by hand during this session. Otherwise
        EV Sessions only undoes a stop of its own: it never starts a charger it did not stop.
        """
        if (
            self.guard is not None
            and self.guard_decision is not None
            and self.guard.limit_a < MIN_CURRENT_A
        ):
            return False
        if self.smart_charging and not self.manual_override and plan is not None:
            return plan.charging_at(now)
        return True if self._commanded is False else None

    def _control(self, now: datetime, plan: Plan | None) -> None:
        """Start or stop the wallbox when what it should do changes."""
        source = self.source
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
            _LOGGER.info("Charging of %s was switched by hand; smart charging waits", self.name)
            self.manual_override = True
            self._commanded = enabled
        want = self._want_charging(now, plan)
        if want is None or want == self._commanded:
            return
        self._commanded, self._commanded_at = want, now
        if can_switch:
            self._send("switch charging", source.async_set_charging(want))
        elif not want:
            self._send("pause charging", source.async_set_current_limit(0))
        else:
            limit = self.guard.limit_a if self.guard is not None else MAX_CURRENT_A
            self._send("resume charging", source.async_set_current_limit(limit))

    def _check_delivery(self, reading: Reading) -> None:
        limit = self.guard.limit_a if self.guard is not None else self.source.offered_current_a()
        expected = 0.0 if limit is None else limit * VOLTAGE * self.charger_phases
        if self.source.max_power_w:
            expected = min(expected, self.source.max_power_w)
        self.delivery = self.monitor.update(
            reading.time,
            charging=self.tracker.charging,
            power_w=self.tracker.power_w,
            expected_w=expected,
            phases_used=reading.phases,
            charger_phases=self.charger_phases,
            soc=self.tracker.soc,
        )

    def _fuse_issue(self, key: str, placeholders: dict[str, str]) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{key}_{self.config_entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=key,
            translation_placeholders={"title": self.config_entry.title, **placeholders},
        )

    def check_power_settings(self) -> None:
        """Raise or clear repair issues for missing or inconsistent fuse settings."""
        options = self.config_entry.options
        for key in (ISSUE_FUSE_MISSING, ISSUE_FUSE_INCONSISTENT):
            ir.async_delete_issue(self.hass, DOMAIN, f"{key}_{self.config_entry.entry_id}")
        currents = options.get(CONF_HOUSE_CURRENT_ENTITIES) or []
        if currents and not options.get(CONF_MAIN_FUSE_A):
            self._fuse_issue(ISSUE_FUSE_MISSING, {})

    # -- tariff -----------------------------------------------------------------

    def _month_hours(self, session: Session) -> dict[int, float]:
        """Hourly energy of the month a session began in: the household's, else charging."""
        start = month_start(session.start)
        end = next_month_start(session.start)
        if self.config_entry.options.get(CONF_HOUSE_POWER_ENTITY):
            low, high = start.timestamp(), end.timestamp()
            return {h: kwh for h, kwh in self.house.hours.items() if low <= h < high}
        sessions = [s for s in self.history.between(start, end) if s.id != session.id]
        return month_hourly([*sessions, session], start, end)

    def _session_cost(self, session: Session, now: datetime) -> SessionCost | None:
        month_hours = self._month_hours(session) if self.tariff.power_fee else None
        return self.tariff.session_cost(
            session,
            self.prices,
            dt_util.get_default_time_zone(),
            month_hourly_kwh=month_hours,
            month_over=now >= next_month_start(session.start),
        )

    def _cost(self, session: Session, now: datetime | None = None) -> bool:
        """Price a finished session and keep the result in it; True if it changed."""
        cost = self._session_cost(session, now or dt_util.utcnow())
        before = (session.cost, session.cost_estimated, session.power_fee_provisional)
        if cost is None:
            session.cost, session.cost_breakdown = None, {}
            session.cost_estimated = session.power_fee_provisional = False
        else:
            session.cost, session.cost_breakdown = cost.total, cost.breakdown
            session.cost_estimated = cost.estimated
            session.power_fee_provisional = cost.power_fee_provisional
        return before != (session.cost, session.cost_estimated, session.power_fee_provisional)

    def _recost(self, now: datetime) -> None:
        """Correct sessions priced with estimates, or with a month's provisional power fee."""
        changed = False
        for session in self.history.between(now - PRICE_HISTORY):
            if session.cost_estimated or session.power_fee_provisional:
                changed |= self._cost(session, now)
        if changed:
            self._history_store.async_delay_save(self._history_data, 1)

    def _month_cost(
        self, start: datetime, until: datetime, active: Session | None, live: SessionCost | None
    ) -> float | None:
        """Cost of this month's charging (a session across the month's start, in proportion)."""
        total: float | None = None
        for session in self.history.between(start, until):
            if session.cost is not None and session.energy_kwh > 0:
                share = session.energy_between(start, until) / session.energy_kwh
                total = (total or 0.0) + session.cost * share
        if active is not None and live is not None and active.energy_kwh > 0:
            share = active.energy_between(start, until) / active.energy_kwh
            total = (total or 0.0) + live.total * share
        if total is None and self.tariff.price_now(self.prices, until, dt_util.UTC) is not None:
            # Prices are known but nothing was charged yet this month.
            total = 0.0
        return total

    async def async_start_pricing(self) -> None:
        """Follow the price entity, the household power sensor and the quarter hours."""
        entry = self.config_entry
        options = entry.options
        if price_entity := options.get(CONF_PRICE_ENTITY):
            platform = action_platform(self.hass, price_entity)
            if platform is None:

                @callback
                def _price_changed(_event: Event[EventStateChangedData] | None = None) -> None:
                    self._read_price_entity(dt_util.utcnow())

                entry.async_on_unload(
                    async_track_state_change_event(self.hass, price_entity, _price_changed)
                )
                _price_changed()
            else:

                async def _fetch(_now: datetime | None = None) -> None:
                    now = dt_util.utcnow()
                    try:
                        series = await async_fetch_action_prices(
                            self.hass, price_entity, platform, now
                        )
                    except PriceShapeError as err:
                        self._price_trouble(price_entity, str(err))
                        return
                    self._apply_prices(series, now)

                entry.async_on_unload(
                    async_track_time_interval(self.hass, _fetch, ACTION_PRICE_REFRESH)
                )
                await _fetch()
        house = [
            *(options.get(CONF_HOUSE_CURRENT_ENTITIES) or []),
            *([options[CONF_HOUSE_POWER_ENTITY]] if options.get(CONF_HOUSE_POWER_ENTITY) else []),
        ]
        if house:

            @callback
            def _house_changed() -> None:
                # React within seconds to a rising household load, once all phases of a
                # meter's update are written.
                now = dt_util.utcnow()
                self._meter_house(now)
                self._guard_step(now)
                self._publish(now)

            entry.async_on_unload(async_track_state_bursts(self.hass, house, _house_changed))
        self.check_power_settings()

        @callback
        def _quarter(now: datetime) -> None:
            if price_entity and action_platform(self.hass, price_entity) is None:
                self._read_price_entity(now)
            self._recost(now)
            self._publish(now)

        entry.async_on_unload(
            async_track_utc_time_change(self.hass, _quarter, minute=[0, 15, 30, 45], second=0)
        )

    def _read_price_entity(self, now: datetime) -> None:
        entity_id = self.config_entry.options[CONF_PRICE_ENTITY]
        try:
            series = read_price_attributes(self.hass, entity_id, now)
        except PriceShapeError as err:
            self._price_trouble(entity_id, str(err))
            return
        self._apply_prices(series, now)

    def _apply_prices(self, series: PriceSeries, now: datetime) -> None:
        if self.price_problem is not None:
            _LOGGER.info("Prices of %s can be read again", self.config_entry.title)
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)
            self.price_problem = None
        if not len(series):
            return
        if self.config_entry.options.get(CONF_HOURLY_SETTLEMENT):
            series = series.hourly_means()
        self.prices = self.prices.merged(series).since(now - PRICE_HISTORY)
        self._recost(now)
        self._save_state_soon(STATE_SAVE_DELAY)
        self._publish(now)

    def _publish(self, now: datetime) -> None:
        """Show new prices and costs, unless the wallbox itself cannot be read now."""
        if self.last_update_success:
            self.async_set_updated_data(self._snapshot(now))

    @property
    def _issue_id(self) -> str:
        return f"{ISSUE_PRICE_SHAPE}_{self.config_entry.entry_id}"

    def _price_trouble(self, entity_id: str, error: str) -> None:
        if self.price_problem is None:
            _LOGGER.warning("Prices of %s cannot be read: %s", entity_id, error)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_PRICE_SHAPE,
                translation_placeholders={"entity_id": entity_id, "error": error},
            )
        self.price_problem = error

    @callback
    def refresh_from_options(self) -> None:
        """Preferences changed: plan again and tell the entities."""
        self._publish(dt_util.utcnow())

    @callback
    def set_preference(self, key: str, value: Any) -> None:
        """Store one preference in the entry's options (entities write through here)."""
        self.hass.config_entries.async_update_entry(
            self.config_entry, options={**self.config_entry.options, key: value}
        )
