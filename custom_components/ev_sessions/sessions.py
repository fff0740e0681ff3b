"""Sessions and history: the tracker, the finished sessions, their two stores, their events."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from datetime import datetime
import json
import logging
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.file import WriteError
from homeassistant.util.json import SerializationError

from .const import DOMAIN, ISSUE_STORAGE_DAMAGED, ISSUE_STORAGE_WRITE, STORAGE_VERSION
from .model.history import SessionHistory, session_summary
from .model.reading import Reading
from .model.session import Session, number_or_none
from .model.tracker import SessionTracker, TrackerConfig, TrackerEvent

_LOGGER = logging.getLogger(__name__)


def _write_json(path: str, data: Any) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, default=str, indent=1), encoding="utf-8")


RETRY_FIRST_S = 5.0
RETRY_MAX_S = 300.0

type WriteReport = Callable[[bool], None]


class CheckedStore(Store[dict[str, Any]]):
    """A Store that tells whether each write reached the disk.

    Home Assistant's Store logs a failed write and forgets it; EV Sessions retries until the
    disk takes it (see SessionKeeper), so a finished session is never lost to a full disk
    that recovers later.
    """

    def __init__(self, hass: HomeAssistant, key: str) -> None:
        """An atomic store of EV Sessions' storage version."""
        super().__init__(hass, STORAGE_VERSION, key, atomic_writes=True)
        self.report: WriteReport | None = None

    async def _async_write_data(self, *args: Any) -> None:
        try:
            await super()._async_write_data(*args)
        except (SerializationError, WriteError):
            if self.report is not None:
                self.report(False)
            raise
        if self.report is not None:
            self.report(True)


def session_stores(hass: HomeAssistant, entry_id: str) -> tuple[CheckedStore, CheckedStore]:
    """The tracker-state store (small, saved often) and the history store (on session end)."""
    return (
        CheckedStore(hass, f"{DOMAIN}.{entry_id}.state"),
        CheckedStore(hass, f"{DOMAIN}.{entry_id}.history"),
    )


class SessionKeeper:
    """The session in progress (the tracker) and the finished ones (the history), kept.

    The state store holds the tracker and, through ``state_parts``, what the other parts of
    the coordinator keep across restarts (the source, prices, the household meter, the guard).
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        config: TrackerConfig,
        state_parts: Callable[[], dict[str, Any]],
    ) -> None:
        """Start with no history; call async_load before the first reading."""
        self._hass = hass
        self._entry = entry
        self._config = config
        self._state_parts = state_parts
        self.tracker = SessionTracker(config)
        self.history = SessionHistory()
        self._state_store, self._history_store = session_stores(hass, entry.entry_id)
        self._state_delay: float | None = None  # of the write waiting
        self._failing: set[str] = set()  # the stores whose last write failed
        self._retry_s = RETRY_FIRST_S
        self._unsub_retry: CALLBACK_TYPE | None = None
        self._state_store.report = lambda ok: self._written("state", ok)
        self._history_store.report = lambda ok: self._written("history", ok)

    def reconfigure(self, config: TrackerConfig) -> None:
        """New detection settings for the tracker (and for one restored later)."""
        self._config = config
        self.tracker.reconfigure(config)

    async def async_load(self) -> dict[str, Any] | None:
        """Restore the history and the tracker; return the rest of the saved state.

        Damaged data never keeps the entry from setting up: what can be read is kept (field
        by field), what cannot is set aside in a ``.corrupt`` file beside the store, and a
        repair issue says what was lost.
        """
        history = await self._history_store.async_load()
        if history is not None:
            items = history.get("sessions") if isinstance(history, dict) else None
            # Ten years of sessions take a while to read: not on the event loop.
            self.history, lost = await self._hass.async_add_executor_job(
                _restore_history, items if isinstance(items, list) else []
            )
            if lost or not isinstance(items, list):
                await self.async_set_aside(self._history_store, history, len(lost))
        state = await self._state_store.async_load()
        if state is None:
            return None
        try:
            if not isinstance(state, dict):
                raise ValueError("the state is not an object")
            saved = state.get("tracker")
            self.tracker = SessionTracker.from_dict(self._config, saved)
            if (
                number_or_none(saved.get("energy_total_kwh") if isinstance(saved, dict) else None)
                is None
            ):
                # The lifetime total is damaged: what the sessions add up to, never less.
                active = self.tracker.active
                self.tracker.energy_total_kwh = sum(s.energy_kwh for s in self.history.sessions) + (
                    0.0 if active is None else active.energy_kwh
                )
        except ValueError:
            await self.async_set_aside(self._state_store, state, 0)
            self.tracker.energy_total_kwh = sum(s.energy_kwh for s in self.history.sessions)
            return None
        active = self.tracker.active
        if active is not None and active.id in {s.id for s in self.history.between(active.start)}:
            # Stopped between saving the ended session and the tracker: it did end.
            self.tracker.active = None
        return state

    async def async_set_aside(self, store: Store[Any], data: Any, lost: int) -> None:
        """Keep damaged data in a ``.corrupt`` file beside the store, and tell the user."""
        path = f"{store.path}.corrupt.{dt_util.utcnow():%Y%m%dT%H%M%S}"
        _LOGGER.error(
            "Stored data of %s is damaged (%s sessions unreadable); set aside in %s",
            self._entry.title,
            lost,
            path,
        )
        with contextlib.suppress(OSError, TypeError, ValueError):
            await self._hass.async_add_executor_job(_write_json, path, data)
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            f"{ISSUE_STORAGE_DAMAGED}_{self._entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_STORAGE_DAMAGED,
            translation_placeholders={
                "title": self._entry.title,
                "lost": str(lost),
                "path": path,
            },
        )

    def update(self, reading: Reading) -> list[TrackerEvent]:
        """Feed a reading to the tracker; a new session is written at once.

        What a restart needs to carry a session on (its start, its first register, its
        user) is written when it appears, not after the throttled save: a kill right after
        plug-in must not lose what the wallbox charges meanwhile.
        """
        before = self._essentials()
        events = self.tracker.update(reading)
        if self._essentials() != before:
            self.save_state_now()
        return events

    def _essentials(self) -> tuple[object, ...]:
        active = self.tracker.active
        if active is None:
            return (None,)
        return (active.id, active.user, self.tracker.has_register)

    def save_state_now(self) -> None:
        """Write the state in the background, now."""
        self._state_delay = None
        self._hass.async_create_task(
            self._state_store.async_save(self._state_data()), f"{DOMAIN} save state"
        )

    def finish(self, session: Session) -> None:
        """Keep a session that ended (or was corrected after its end)."""
        self.history.add(session)
        # Both stores soon, so a restart never sees the session as active and ended.
        self.save_history_soon()
        self.save_state_soon(1)

    def save_state_soon(self, delay: float) -> None:
        """Write the state within delay seconds.

        Store.async_delay_save debounces: every call pushes the write back. Readings come
        every few seconds, so asking on each one would postpone the write for as long as
        the car charges. Ask only when no write is due sooner: one asked for earlier, with
        no longer a delay, is (no clock is read: this is asked at every reading). A shorter
        delay than the one waiting asks again, and is kept.
        """
        pending = self._state_delay
        if pending is not None and pending <= delay:
            return
        self._state_delay = delay
        self._state_store.async_delay_save(self._state_data, delay)

    def save_history_soon(self) -> None:
        """Write the history within a second."""
        self._history_store.async_delay_save(self._history_data, 1)

    def _state_data(self) -> dict[str, Any]:
        self._state_delay = None
        return {"tracker": self.tracker.as_dict(), **self._state_parts()}

    def _history_data(self) -> dict[str, Any]:
        return {"sessions": self.history.as_list()}

    async def async_save_now(self) -> None:
        """Write everything at once (unload)."""
        self.stop_retrying()
        await self._history_store.async_save(self._history_data())
        await self._state_store.async_save(self._state_data())

    @callback
    def _written(self, store: str, ok: bool) -> None:
        """A write succeeded or failed: retry with back-off, and tell the user while failing."""
        issue_id = f"{ISSUE_STORAGE_WRITE}_{self._entry.entry_id}"
        if ok:
            self._failing.discard(store)
            if not self._failing:
                self._retry_s = RETRY_FIRST_S
                if self._unsub_retry is not None:
                    self._unsub_retry()
                    self._unsub_retry = None
                ir.async_delete_issue(self._hass, DOMAIN, issue_id)
            return
        if not self._failing:
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_STORAGE_WRITE,
                translation_placeholders={"title": self._entry.title},
            )
        self._failing.add(store)
        if self._unsub_retry is None:
            _LOGGER.warning(
                "Sessions of %s could not be written; trying again in %.0f s",
                self._entry.title,
                self._retry_s,
            )
            self._unsub_retry = async_call_later(self._hass, self._retry_s, self._retry)
            self._retry_s = min(self._retry_s * 2, RETRY_MAX_S)

    @callback
    def _retry(self, _now: datetime) -> None:
        self._unsub_retry = None
        if "history" in self._failing:
            self._history_store.async_delay_save(self._history_data, 0)
        if "state" in self._failing:
            self.save_state_now()

    def stop_retrying(self) -> None:
        """The entry unloads: no more retries (its final write is the last try)."""
        if self._unsub_retry is not None:
            self._unsub_retry()
            self._unsub_retry = None

    def fire(self, event_type: str, session: Session) -> None:
        """Tell the bus a session started or ended."""
        currency = self._hass.config.currency
        summary = session_summary(
            session, session.end or session.start, currency, dt_util.get_default_time_zone()
        )
        self._hass.bus.async_fire(
            event_type,
            {
                "entry_id": self._entry.entry_id,
                "session_id": session.id,
                "start": summary["start"],
                "end": summary["end"],
                "energy_kwh": summary["energy_kwh"],
                "cost": summary["cost"],
                "currency": currency,
                "user": session.user,
            },
        )


def _restore_history(items: list[Any]) -> tuple[SessionHistory, list[Any]]:
    """The stored sessions (field by field), and those without a readable start.

    Runs in the executor; the stored form of each session is made here too, so the first
    save after a start does not serialise the whole history on the event loop.
    """
    sessions, lost = [], []
    for item in items:
        try:
            sessions.append(Session.from_dict(item))
        except ValueError:
            lost.append(item)
    history = SessionHistory(sessions)
    history.as_list()
    return history, lost
