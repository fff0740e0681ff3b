"""The coordinator: feeds readings to the tracker, keeps history, tells entities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    CONF_DEPARTURE_TIME,
    CONF_GRACE_PERIOD_MIN,
    CONF_POWER_THRESHOLD_W,
    CONF_TARGET_ENERGY_KWH,
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
    STORAGE_VERSION,
    TICK_INTERVAL,
)
from .model.history import SessionHistory, session_summary
from .model.reading import Reading
from .model.session import Session
from .model.tracker import (
    SessionEnded,
    SessionStarted,
    SessionTracker,
    TrackerConfig,
    TrackerEvent,
)
from .sources import Source, SourceError

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


def month_start(now: datetime) -> datetime:
    """Start of the local calendar month holding now, as an aware datetime."""
    local = dt_util.as_local(now)
    return dt_util.start_of_local_day(local.date().replace(day=1))


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
        self.applied_options: dict[str, Any] = dict(entry.options)

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
        state = await self._state_store.async_load()
        if state is None:
            return
        self.tracker = SessionTracker.from_dict(self._tracker_config(), state["tracker"])
        self.source.restore(state.get("source", {}))
        active = self.tracker.active
        if active is not None and active.id in {s.id for s in self.history.between(active.start)}:
            # Stopped between saving the ended session and the tracker: it did end.
            self.tracker.active = None

    def _state_data(self) -> dict[str, Any]:
        return {"tracker": self.tracker.as_dict(), "source": self.source.as_dict()}

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
        except SourceError as err:
            # The base class logs the first failure and the recovery, once each.
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="source_unavailable",
                translation_placeholders={"error": str(err)},
            ) from err
        self._process(reading)
        return self._snapshot(now)

    @callback
    def handle_reading(self, reading: Reading) -> None:
        """Take a reading the source pushed."""
        self._process(reading)
        self.async_set_updated_data(self._snapshot(reading.time))

    def _process(self, reading: Reading) -> None:
        events = self.tracker.update(reading)
        for event in events:
            self._handle_event(event)
        self._state_store.async_delay_save(self._state_data, STATE_SAVE_DELAY)

    def _handle_event(self, event: TrackerEvent) -> None:
        session = event.session
        if isinstance(event, SessionStarted):
            options = self.config_entry.options
            session.target_energy_kwh = options.get(CONF_TARGET_ENERGY_KWH)
            session.departure = next_departure(session.start, options.get(CONF_DEPARTURE_TIME))
            self._fire(EVENT_SESSION_STARTED, session)
            return
        self.history.add(session)
        # Both stores soon, so a restart never sees the session as active and ended.
        self._history_store.async_delay_save(self._history_data, 1)
        self._state_store.async_delay_save(self._state_data, 1)
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
        )

    @callback
    def refresh_from_options(self) -> None:
        """Preferences changed: tell the entities."""
        self.async_update_listeners()

    @callback
    def set_preference(self, key: str, value: Any) -> None:
        """Store one preference in the entry's options (entities write through here)."""
        self.hass.config_entries.async_update_entry(
            self.config_entry, options={**self.config_entry.options, key: value}
        )
