"""The coordinator: wires the parts of one wallbox together, one reading at a time.

For each reading (pushed by the source, or polled), in this order:

1. ``costs`` meters the household's power (for the power fee);
2. ``keeper`` feeds the reading to the session tracker and keeps what it says: a session
   that starts is given its target and departure by ``control``, one that ends is priced by
   ``costs``, stored, and fired on the bus;
3. ``control`` takes what the car asks for (departure, energy);
4. ``power`` lets the load guard set the charger's current, and checks delivery;
5. the state is saved soon.

Then the snapshot for the entities is built: status, month totals and costs from ``costs``,
the plan from ``control`` (which starts or stops the wallbox by it).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, fields, is_dataclass
from datetime import datetime, time, timedelta
from itertools import compress, count
import logging
from operator import attrgetter, is_not
import types
from typing import Any, cast, get_args, get_origin, get_type_hints

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_track_utc_time_change
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .bursts import async_track_state_bursts
from .const import (
    CONF_GRACE_PERIOD_MIN,
    CONF_HOUSE_CURRENT_ENTITIES,
    CONF_HOUSE_POWER_ENTITY,
    CONF_POWER_THRESHOLD_W,
    DEFAULT_GRACE_PERIOD_MIN,
    DEFAULT_POWER_THRESHOLD_W,
    DOMAIN,
    EVENT_SESSION_ENDED,
    EVENT_SESSION_STARTED,
    STATE_SAVE_DELAY,
    STATUS_CHARGING,
    STATUS_CONNECTED,
    STATUS_DISCONNECTED,
    STATUS_ERROR,
    STATUS_SUSPENDED,
    TICK_INTERVAL,
)
from .costs import Costs
from .model.classify import most_common, power_class
from .model.habits import Habits
from .model.history import SessionHistory, session_mark
from .model.load_guard import DeliveryCheck, GuardDecision, LoadGuard
from .model.meter import HourlyMeter
from .model.planner import Plan
from .model.reading import Reading
from .model.session import EnergyBetween, Session
from .model.tariff import RollingPeakFee, SessionCost, StepFee, Tariff
from .model.tracker import SessionEnded, SessionStarted, SessionTracker, TrackerConfig
from .planning import ChargeControl
from .power import PowerGuard
from .sessions import SessionKeeper
from .sources.base import (
    AsksToSave,
    Capability,
    ChargePointCommands,
    ChargePointFacts,
    Source,
    SourceError,
)
from .sources.http import SourceAuthError
from .time_util import month_start

_LOGGER = logging.getLogger(__name__)

type EvSessionsConfigEntry = ConfigEntry[EvSessionsCoordinator]


@dataclass(slots=True, kw_only=True)
class EvSessionsData:
    """What the entities show; never changed once made.

    Not a frozen dataclass: one is made per reading, and a frozen one's ``__init__`` sets
    its 40 fields through ``object.__setattr__``, four times as dear (5.4 against 1.2 µs).
    """

    now: datetime
    status: str
    power_w: float | None
    soc: float | None
    plugged_in: bool
    charging: bool
    session: Session | None
    # Which session it is (the session itself counts as changed at every reading): what a
    # running total held back while it charges waits on (see EvSessionsEntity._tell_wakes).
    session_id: str | None
    session_start: datetime | None  # (read without the session, as its id)
    # The session's duration to the minute (s): a state written once a minute, and an
    # entity that reads a value (the session itself counts as changed at every reading).
    session_duration_s: int
    last_session: Session | None
    # What the last session shows (session_mark): it changes in place (re-costed, late
    # energy), so the object alone would count as changed at every snapshot.
    last_session_mark: tuple[Any, ...] | None
    energy_total_kwh: float
    month_energy_kwh: float
    month_start: datetime
    session_cost: SessionCost | None
    # What the session cost's attributes show beside its breakdown (estimated, provisional,
    # the power fee's hours): compared by value, so a held cost is not looked at while only
    # its figure and breakdown move on (the cost itself is a new object at every reading).
    session_cost_flags: tuple[bool, bool, tuple[int, ...]] | None
    month_cost: float | None
    price: float | None
    guard: GuardDecision | None
    delivery: DeliveryCheck
    usual_power_class: str | None
    plan: Plan | None
    # Whether the plan charges now: it changes at a slot's edge, not at every snapshot (an
    # entity that read the time itself would be looked at on every one).
    charge_now: bool
    # When the target will be reached: by the plan, or at the power measured while the car
    # charges outside the plan (see ChargeControl.completion).
    completion: datetime | None
    departure: datetime | None
    departure_source: str
    usual_departure: time  # the daily departure in force today (the departure time entity)
    usual_departure_source: str
    one_off_departure: datetime | None  # while it lies ahead (the next departure entity)
    target_kwh: float
    target_source: str
    habits: Habits | None
    capacity: Capacity | None = None
    month_peak_kw: float | None = None  # with a 15-minute peak tariff: the month's so far
    rolling_peak_kw: float | None = None  # the mean of the last 12 monthly peaks (floored)
    charge_point: ChargePointFacts | None = None  # an OCPP charge point's device page
    # Made for a reading of the wallbox (a push or a poll), not for new prices, options or
    # the household's meter: running totals may then wait (see EvSessionsEntity._settling).
    reading: bool = False


_FIELDS = tuple(field.name for field in fields(EvSessionsData))
# bool is an int; the snapshot's tuples hold values only (the last session's mark, the cost's
# flags)
_VALUES = (str, int, float, datetime, time, tuple)


# Whether a type's objects compare by value (None, values, frozen dataclasses), by type.
_BY_VALUE: dict[type, bool] = {}


def _by_value(kind: type) -> bool:
    """Whether objects of a type cannot change in place; remembered by type."""
    known = _BY_VALUE.get(kind)
    if known is None:
        params = getattr(kind, "__dataclass_params__", None)
        known = _BY_VALUE[kind] = (
            kind is type(None)
            or issubclass(kind, _VALUES)
            or (is_dataclass(kind) and bool(params and params.frozen))
        )
    return known


def _same(before: Any, after: Any) -> bool:
    """Whether a snapshot's field shows the same as in the snapshot before.

    Values and frozen objects compare by value. A mutable object (the session, which grows at
    every reading, or a session's cost) is taken as changed: it may have changed in place.
    """
    kind = type(before)
    if not _by_value(kind):
        return False
    return before is after or (type(after) is kind and bool(before == after))


_ALL_FIELDS = attrgetter(*_FIELDS)


def snapshot_changes(before: EvSessionsData, after: EvSessionsData) -> frozenset[str]:
    """The fields of a snapshot that may show differently from the one before it.

    The last session is the same while it is the same session with the same mark. The
    fields whose object is the same one are passed over at C speed (most of them, at a
    reading), but for those whose type may change in place (``_IN_PLACE``).
    """
    olds, news = _ALL_FIELDS(before), _ALL_FIELDS(after)
    changed = {
        _FIELDS[i]
        for i in compress(_INDICES, map(is_not, olds, news))
        if not _same(olds[i], news[i])
    }
    for i in _IN_PLACE:
        old = olds[i]
        if old is news[i] and not _by_value(type(old)):
            changed.add(_FIELDS[i])
    if (
        before.last_session is after.last_session
        and before.last_session_mark == after.last_session_mark
    ):
        changed.discard("last_session")
    return frozenset(changed)


def _cost_flags(cost: SessionCost) -> tuple[bool, bool, tuple[int, ...]]:
    """What a session cost's attributes show beside its breakdown (see session_cost_flags)."""
    return (cost.estimated, cost.power_fee_provisional, cost.power_fee_hours)


@dataclass(frozen=True, slots=True, kw_only=True)
class Capacity:
    """Where the month stands in a step tariff (Norway's kapasitetsledd)."""

    level_kw: float  # the mean of the three highest daily peaks so far
    step_from_kw: float
    step_to_kw: float | None  # None: the top step
    step_price: float
    margin_kw: float | None  # the highest hourly mean power that keeps the step (None: top)


def _kinds(hint: Any) -> tuple[type, ...]:
    """The classes a field's type hint allows (``X | None``: X and NoneType)."""
    members = get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return tuple(get_origin(member) or member for member in members)


_INDICES = range(len(_FIELDS))
# The fields whose object may change in place (the session, its cost; anything not known to
# compare by value): the same object there is not the same snapshot field.
_HINTS = get_type_hints(EvSessionsData)
_IN_PLACE = tuple(
    i for i, name in enumerate(_FIELDS) if not all(map(_by_value, _kinds(_HINTS[name])))
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
        self._device_facts = source.device()
        # (month start, its finished sessions) -> their energy and cost this month
        self._month_totals: tuple[tuple[Any, ...], tuple[float, float | None]] | None = None
        self._running_kwh = EnergyBetween()  # the session in progress's, in the month
        self._usual_class: tuple[tuple[int, ...], list[Session], str | None] | None = None
        self._poll_due: float | None = None  # (the loop's time) the poll put off to, last
        self.applied_data: dict[str, Any] = dict(entry.data)  # what it was set up with
        self.applied_options: dict[str, Any] = dict(entry.options)
        self._unfollow_house: CALLBACK_TYPE | None = None
        # The fields of the last snapshot that changed from the one before (None: anything
        # may have), for entities that follow what they read (EvSessionsEntity).
        self.changed: frozenset[str] | None = None
        self._delivered: tuple[EvSessionsData | None, tuple[Any, ...]] = (None, ())
        # Who is told of a snapshot (see async_update_listeners): each listener's place in
        # the order they listen in; those told of every snapshot; the others, by the fields
        # that wake them, and the fields each waits on (see wake_on).
        self._listen_order: dict[CALLBACK_TYPE, int] = {}
        self._listen_count = count()
        self._told_always: set[CALLBACK_TYPE] = set()
        self._woken_by: dict[str, set[CALLBACK_TYPE]] = {}
        self._waits_on: dict[CALLBACK_TYPE, frozenset[str]] = {}
        self._wakes_at: dict[CALLBACK_TYPE, datetime] = {}
        self.keeper = SessionKeeper(hass, entry, self._tracker_config(), self._state_parts)
        self.costs = Costs(hass, entry, self.keeper)
        self.power = PowerGuard(hass, entry, source, self._send)
        self.control = ChargeControl(entry, source, self.keeper, self.costs, self.power, self._send)
        if Capability.ASKS_TO_SAVE in source.capabilities:
            cast(AsksToSave, source).request_save = lambda: self.keeper.save_state_soon(1)

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

    # -- what the rest of the integration reads ----------------------------------

    @property
    def device_info(self) -> DeviceInfo:
        """The one device of this entry: the wallbox, as far as it has said what it is."""
        facts = self.source.device()
        info = DeviceInfo(
            identifiers={(DOMAIN, self.config_entry.entry_id)},
            name=self.config_entry.title,
        )
        for key, value in asdict(facts).items():
            if value is not None:
                info[key] = value  # type: ignore[literal-required]
        return info

    def _sync_device(self) -> None:
        """Update the device when the wallbox said more (a boot, a firmware update)."""
        facts = self.source.device()
        if facts == self._device_facts:
            return
        self._device_facts = facts
        registry = dr.async_get(self.hass)
        ours = (DOMAIN, self.config_entry.entry_id)
        # By config entry: async_get_device is deprecated from Home Assistant 2026.x on.
        for device in dr.async_entries_for_config_entry(registry, self.config_entry.entry_id):
            if ours in device.identifiers:
                registry.async_update_device(device.id, **asdict(facts))

    @property
    def tracker(self) -> SessionTracker:
        """The session tracker (the session in progress)."""
        return self.keeper.tracker

    @property
    def history(self) -> SessionHistory:
        """The finished sessions."""
        return self.keeper.history

    @property
    def tariff(self) -> Tariff:
        """The tariff from the options."""
        return self.costs.tariff

    @property
    def house(self) -> HourlyMeter:
        """The household's hourly energy this month (for the power fee)."""
        return self.costs.house

    @property
    def guard(self) -> LoadGuard | None:
        """The load guard, when the main fuse is set."""
        return self.power.guard

    @property
    def manual_override(self) -> bool:
        """Whether charging was switched by hand in this session."""
        return self.control.manual_override

    @property
    def smart_charging(self) -> bool:
        """Whether the integration switches the wallbox by the plan."""
        return self.control.smart_charging

    @property
    def currency(self) -> str:
        """Home Assistant's currency."""
        return self.hass.config.currency

    def price_at(self, moment: datetime) -> tuple[float | None, bool]:
        """All-in price per kWh at a moment, and whether it is an estimate."""
        return self.costs.price_at(moment)

    def effective_power_kw(self, session: Session | None, now: datetime) -> float:
        """The power to plan with (see ChargeControl.effective_power_kw)."""
        return self.control.effective_power_kw(session, now)

    # -- persistence ------------------------------------------------------------

    async def async_load(self) -> None:
        """Restore history and the tracker (with a session in progress), prices and guard."""
        state = await self.keeper.async_load()
        self.control.relearn()
        if state is None:
            return
        parts: list[tuple[str, Callable[[], None]]] = [
            ("source", lambda: self.source.restore(state.get("source") or {})),
            ("prices and household", lambda: self.costs.restore(state)),
            ("load guard", lambda: self.power.restore(state)),
        ]
        for name, restore in parts:
            try:
                restore()
            except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                # Damaged: that part starts afresh (the sessions are kept).
                _LOGGER.warning("Stored %s of %s is damaged: starting afresh", name, self.name)

    def _state_parts(self) -> dict[str, Any]:
        return {"source": self.source.as_dict(), **self.costs.state(), **self.power.state()}

    async def async_save_now(self) -> None:
        """Write everything at once (unload)."""
        await self.keeper.async_save_now()

    # -- readings ---------------------------------------------------------------

    async def _async_update_data(self) -> EvSessionsData:
        now = dt_util.utcnow()
        try:
            reading = await self.source.async_poll(now)
        except SourceAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="source_auth_failed",
                translation_placeholders=err.placeholders(self.config_entry.title),
            ) from err
        except SourceError as err:
            # The base class logs the first failure (translated) and the recovery, once each;
            # what exactly went wrong is logged here, once per outage.
            if self.last_update_success:
                _LOGGER.info("%s cannot be read: %s", self.config_entry.title, err)
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key=f"source_{err.reason}",
                translation_placeholders=err.placeholders(self.config_entry.title),
            ) from err
        self._process(reading)
        self._sync_device()
        # Sources may poll faster while charging.
        self.update_interval = self.source.poll_interval
        return self._snapshot(now, reading=True)

    @callback
    def handle_reading(self, reading: Reading) -> None:
        """Take a reading the source pushed; the next poll waits (see _postpone_poll).

        For a source that pushes (entities, OCPP) the poll only ticks the session on while
        nothing arrives: a reading every 10 s would otherwise also be followed by a full
        poll every 30 s that reads the same values again.
        """
        self._process(reading)
        self._sync_device()
        self.last_update_success = True
        if self._listeners:
            self._postpone_poll()
        self._show(self._snapshot(reading.time, reading=True))

    def _postpone_poll(self) -> None:
        """Put the next poll a poll interval off, unless it is more than half of one off.

        The poll then comes half an interval to an interval after the last reading, never
        while readings come more often than that; the timer is set again at every other
        reading or so, not at each (setting it cost more than the reading's session).
        """
        interval = self.update_interval
        if interval is None:
            return
        seconds = interval.total_seconds()
        now = self.hass.loop.time()
        due = self._poll_due
        if due is not None and seconds / 2 < due - now <= seconds:
            return
        self._schedule_refresh()
        self._poll_due = now + seconds

    def _process(self, reading: Reading) -> None:
        self.costs.meter_house(reading.time, self.power.house_power_w())
        for event in self.keeper.update(reading):
            session = event.session
            if isinstance(event, SessionStarted):
                self.control.session_started(session)
                self.keeper.fire(EVENT_SESSION_STARTED, session)
                continue
            self.costs.cost(session)
            self.keeper.finish(session)
            self.control.relearn()
            if isinstance(event, SessionEnded):
                self.keeper.fire(EVENT_SESSION_ENDED, session)
        self.control.car_request(reading)
        self.power.step(reading.time, self.tracker, reading)
        self.power.check_delivery(reading, self.tracker)
        self.keeper.save_state_soon(STATE_SAVE_DELAY)

    def _snapshot(self, now: datetime, *, reading: bool = False) -> EvSessionsData:
        tracker = self.tracker
        history = self.history
        session = tracker.active
        start = month_start(now)
        until = now + TICK_INTERVAL
        month_energy, finished_cost = self._finished_in_month(start, until)
        running_kwh = 0.0 if session is None else self._running_kwh(session, start, until)
        month_energy += running_kwh
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
        control = self.control
        live_cost = None if session is None else self.costs.session_cost(session, now)
        departure, departure_source = control.departure(session.start if session else now, now)
        target_kwh, target_source = control.target_energy(session.start if session else now)
        usual_departure, usual_departure_source = control.usual_departure(now)
        plan = (
            None
            if session is None
            else control.plan(session, now, departure, self.power.base_load_kw(tracker))
        )
        charge_now = plan is not None and plan.charging_at(now)
        control.control(now, plan, charge_now)
        charging = session is not None and tracker.charging
        completion = control.completion(
            session, now, plan, outside_plan=charging and not charge_now
        )
        return EvSessionsData(
            now=now,
            status=status,
            power_w=tracker.power_w,
            soc=tracker.soc if session is not None else None,
            plugged_in=session is not None,
            charging=charging,
            session=session,
            session_id=None if session is None else session.id,
            session_start=None if session is None else session.start,
            session_duration_s=(0 if session is None else round(session.duration_s(now) / 60) * 60),
            last_session=history.last,
            last_session_mark=None if history.last is None else session_mark(history.last),
            energy_total_kwh=tracker.energy_total_kwh,
            month_energy_kwh=month_energy,
            month_start=start,
            session_cost=live_cost,
            session_cost_flags=None if live_cost is None else _cost_flags(live_cost),
            month_cost=self.costs.month_cost(until, session, running_kwh, live_cost, finished_cost),
            price=self.costs.price_now(now),
            guard=self.power.decision,
            delivery=self.power.delivery,
            usual_power_class=self._usual_power_class(),
            plan=plan,
            charge_now=charge_now,
            completion=completion,
            departure=departure,
            departure_source=departure_source,
            usual_departure=usual_departure,
            usual_departure_source=usual_departure_source,
            one_off_departure=control.one_off_departure(now),
            target_kwh=target_kwh,
            target_source=target_source,
            habits=control.habits,
            capacity=self._capacity(session, now),
            **self._month_peak(session, now),
            charge_point=self._charge_point_facts(),
            reading=reading,
        )

    def _usual_power_class(self) -> str | None:
        """The most common power class of the last 30 sessions.

        Worked out again when they change (a session ends, one is replaced), not at every
        reading; the sessions are held, so that their ids stay theirs.
        """
        recent = self.history.recent(30)
        key = tuple(map(id, recent))
        known = self._usual_class
        if known is None or known[0] != key:
            known = self._usual_class = (key, recent, most_common(map(power_class, recent)))
        return known[2]

    def _charge_point_facts(self) -> ChargePointFacts | None:
        """What an OCPP charge point reports, last heard to the minute (None: not OCPP)."""
        if Capability.COMMANDS not in self.source.capabilities:
            return None
        return cast(ChargePointCommands, self.source).facts()

    def _finished_in_month(self, start: datetime, until: datetime) -> tuple[float, float | None]:
        """Energy and cost of the month's finished sessions, a session across its start in part.

        Summed again only when one of them changed or a new one ended, not at every reading.
        """
        sessions = self.history.between(start, until)
        key = (start, tuple((s.id, s.energy_kwh, s.cost) for s in sessions))
        known = self._month_totals
        if known is not None and known[0] == key:
            return known[1]
        energy, cost = 0.0, None
        for session in sessions:
            share = session.energy_between(start, until)
            energy += share
            if session.cost is not None and session.energy_kwh > 0:
                cost = (cost or 0.0) + session.cost * share / session.energy_kwh
        self._month_totals = (key, (energy, cost))
        return energy, cost

    def _month_peak(self, session: Session | None, now: datetime) -> dict[str, float | None]:
        """With Flanders' tariff: the month's 15-minute peak so far (kW), the 12-month mean."""
        if not isinstance(self.costs.tariff.power_fee, RollingPeakFee):
            return {}
        quarters = self.costs.month_hours(session or Session(id="now", start=now))
        peak = max(quarters.values(), default=0.0) * 4
        month = dt_util.as_local(now).strftime("%Y-%m")
        return {
            "month_peak_kw": peak,
            "rolling_peak_kw": self.costs.note_month_peak(month, peak),
        }

    def _capacity(self, session: Session | None, now: datetime) -> Capacity | None:
        """The month's load and step, with a step tariff."""
        fee = self.costs.tariff.power_fee
        if not isinstance(fee, StepFee) or not fee.steps:
            return None
        hours = self.costs.month_hours(session or Session(id="now", start=now))
        zone = dt_util.get_default_time_zone()
        level = fee.level(hours, zone)
        index = fee.step(level)
        top = index + 1 >= len(fee.steps)
        margin = fee.peak_level(hours, zone)
        return Capacity(
            level_kw=level,
            step_from_kw=fee.steps[index][0],
            step_to_kw=None if top else fee.steps[index + 1][0],
            step_price=fee.steps[index][1],
            margin_kw=None if top else margin,
        )

    def _send(self, description: str, command: Coroutine[Any, Any, None]) -> None:
        """Run a command to the wallbox in the background; a refusal is logged, not raised."""

        async def _run() -> None:
            try:
                await command
            except (HomeAssistantError, SourceError) as err:
                _LOGGER.warning("Could not %s on %s: %s", description, self.name, err)

        self.config_entry.async_create_background_task(self.hass, _run(), f"{DOMAIN} {description}")

    # -- what else moves: prices, the household, the quarter hours ----------------

    async def async_start_pricing(self) -> None:
        """Follow the price entity, the household's meters and the quarter hours."""
        entry = self.config_entry
        entry.async_on_unload(self.costs.stop_following)
        entry.async_on_unload(self._stop_following_house)
        await self.costs.async_follow_prices(self._publish)
        self._follow_house()
        self.power.check_power_settings()

        @callback
        def _quarter(now: datetime) -> None:
            if self.costs.reads_price_attributes:
                self.costs.read_price_entity(now, self._publish)
            self.costs.recost(now)
            self._publish(now)

        entry.async_on_unload(
            async_track_utc_time_change(self.hass, _quarter, minute=[0, 15, 30, 45], second=0)
        )

    def _follow_house(self) -> None:
        """Follow the household's meters (power, currents per phase), if any."""
        options = self.config_entry.options
        house = [
            *(options.get(CONF_HOUSE_CURRENT_ENTITIES) or []),
            *([options[CONF_HOUSE_POWER_ENTITY]] if options.get(CONF_HOUSE_POWER_ENTITY) else []),
        ]
        if not house:
            return

        @callback
        def _house_changed() -> None:
            # React within seconds to a rising household load, once all phases of a
            # meter's update are written.
            now = dt_util.utcnow()
            self.costs.meter_house(now, self.power.house_power_w())
            self.power.step(now, self.tracker)
            self._publish(now)

        self._unfollow_house = async_track_state_bursts(self.hass, house, _house_changed)

    def _stop_following_house(self) -> None:
        if self._unfollow_house is not None:
            self._unfollow_house()
            self._unfollow_house = None

    def optional_entities(self) -> tuple[bool, ...]:
        """Which option-dependent entity groups exist: the load guard's, the step tariff's."""
        fee = self.tariff.power_fee
        return (
            self.guard is not None,
            isinstance(fee, StepFee),
            isinstance(fee, RollingPeakFee),
        )

    async def async_apply_options(self) -> None:
        """New options, applied in place: the wallbox's connection stays up.

        Preferences, the tariff (from now on; past sessions keep their cost), the price
        entity, session detection and the house connection all take effect at once.
        """
        self.keeper.reconfigure(self._tracker_config())
        await self.costs.async_apply_options(self._publish)
        self.power.apply_options()
        self._stop_following_house()
        self._follow_house()
        self.applied_options = dict(self.config_entry.options)
        self.refresh_from_options()

    def _publish(self, now: datetime) -> None:
        """Show new prices and costs, unless the wallbox itself cannot be read now."""
        if self.last_update_success:
            self._show(self._snapshot(now))

    def _show(self, data: EvSessionsData) -> None:
        """Give the entities new data without moving the next poll.

        ``async_set_updated_data`` would restart the poll timer: with a household meter
        reporting every few seconds, a polled wallbox would never be read again.
        """
        self.data = data
        self.async_update_listeners()

    @callback
    def async_update_listeners(self) -> None:
        """Tell the entities, with what changed since the last snapshot they were given.

        Anything may have changed when the wallbox was lost or found again, or the
        currency, the time zone or the options changed.
        """
        data = self.data
        world = (
            self.last_update_success,
            self.currency,
            dt_util.get_default_time_zone(),
            self.config_entry.options,
        )
        before, before_world = self._delivered
        same_world = before_world == world  # (each item is its own first: quick when so)
        self.changed = (
            snapshot_changes(before, data)
            if before is not None and data is not None and same_world
            else None
        )
        self._delivered = (data, world)
        changed = self.changed
        # Everyone (in the order they listen in) when anything may have changed.
        told = list(self._listen_order) if changed is None else self._woken(changed, data)
        # One listener's failure is logged and keeps none of the others from being told (the
        # base class's loop would stop at it: the entities after it never go unavailable).
        for update_callback in told:
            try:
                update_callback()
            except Exception:
                self.logger.exception(
                    "Unexpected error updating listener %s for %s", id(update_callback), self.name
                )

    def _woken(self, changed: frozenset[str], data: EvSessionsData | None) -> list[CALLBACK_TYPE]:
        """The listeners a changed field wakes, and those that wait on none, in listen order.

        Of a wallbox's 25-40 entities, a reading wakes a handful.
        """
        told = set(self._told_always)
        woken_by = self._woken_by
        for name in changed:
            if (woken := woken_by.get(name)) is not None:
                told |= woken
        if self._wakes_at and data is not None:
            now = data.now
            told.update(cb for cb, at in self._wakes_at.items() if now >= at)
        return sorted(told, key=self._listen_order.__getitem__)

    @callback
    def async_add_listener(
        self, update_callback: CALLBACK_TYPE, context: Any = None
    ) -> Callable[[], None]:
        """Listen for snapshots: told of every one until it says what it waits on (wake_on)."""
        remove = super().async_add_listener(update_callback, context)
        self._listen_order[update_callback] = next(self._listen_count)
        self._told_always.add(update_callback)

        @callback
        def _remove() -> None:
            remove()
            self.wake_on(update_callback, None)
            self._told_always.discard(update_callback)
            self._listen_order.pop(update_callback, None)

        return _remove

    @callback
    def wake_on(
        self,
        update_callback: CALLBACK_TYPE,
        fields: frozenset[str] | None,
        at: datetime | None = None,
    ) -> None:
        """Tell a listener of a snapshot when one of ``fields`` changed (None: always).

        Or once the snapshot's time reaches ``at``; until the listener says otherwise. An entity
        that follows what it reads waits on the fields it read when last looked at. Anything may
        change when the world around the snapshot does (the wallbox lost or found again, the
        options, the currency, the time zone): then every listener is told, whatever it waits on.
        """
        wakes_at = self._wakes_at
        if at is None:
            wakes_at.pop(update_callback, None)
        elif update_callback in self._listen_order:
            wakes_at[update_callback] = at
        waits_on = self._waits_on
        before = waits_on.get(update_callback)
        if before is fields:
            return  # (None: told of every snapshot already, or not listening)
        if update_callback not in self._listen_order:
            return  # not listening (any more)
        if before is not None:
            del waits_on[update_callback]
            for name in before:
                woken = self._woken_by[name]
                woken.discard(update_callback)
                if not woken:
                    del self._woken_by[name]
        if fields is None:
            self._told_always.add(update_callback)
            return
        self._told_always.discard(update_callback)
        waits_on[update_callback] = fields
        for name in fields:
            self._woken_by.setdefault(name, set()).add(update_callback)

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
