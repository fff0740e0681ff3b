"""Base entity of EV Sessions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from homeassistant.core import callback
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import EvSessionsCoordinator, EvSessionsData

# How often a running total is written while a session charges (each write is a state row).
SETTLE = timedelta(minutes=1)
SETTLE_VALUE = "value"
SETTLE_ATTRIBUTES = "attributes"
# What ends the wait of a running total held back while a session charges (see _settling),
# besides a change to what its attributes read and the minute passing: a snapshot not made
# for a reading, the charging's end, another session.
HOLD_ENDS = frozenset({"reading", "charging", "session_id"})
# Long attributes that change with the plan or the session: shown, never recorded.
UNRECORDED = frozenset({"slots", "breakdown", "cost_breakdown"})


class _Reads:
    """A snapshot that notes which of its fields are read (after the value: ``rest``)."""

    __slots__ = ("data", "names", "rest")

    def __init__(self, data: EvSessionsData) -> None:
        self.data = data
        self.names: set[str] = set()
        self.rest: set[str] | None = None

    def __getattr__(self, name: str) -> Any:
        self.names.add(name)
        if self.rest is not None:
            self.rest.add(name)
        return getattr(self.data, name)

    def value_read(self) -> None:
        """The value is worked out: what is read from now on is for the rest."""
        self.rest = set()


def _without(part: Any, keys: frozenset[str]) -> Any:
    """Attributes without some of their keys (anything else as it is)."""
    if isinstance(part, dict):
        return {key: value for key, value in part.items() if key not in keys}
    return part


def unnoted(data: EvSessionsData) -> EvSessionsData:
    """The snapshot with its reads not noted: for an attribute that moves with the value.

    A running total's moving attributes (``_moving``) wait with its value, so what they
    read must not wake it while it is held; the value reads it anyway.
    """
    given: object = data  # (while the reads are noted, a _Reads in the snapshot's place)
    return given.data if isinstance(given, _Reads) else data


def value_read(data: object) -> None:
    """Tell a snapshot that notes its reads that the entity's value is worked out."""
    if isinstance(data, _Reads):
        data.value_read()


class EvSessionsEntity(CoordinatorEntity[EvSessionsCoordinator]):
    """An entity of one wallbox's device, with unique id ``{entry_id}_{key}``.

    A snapshot that leaves what the entity shows (availability, state, attributes, unit)
    unchanged writes nothing: most readings change a handful of a wallbox's entities.

    An entity whose state comes from the snapshot, the options and Home Assistant's
    settings alone (``_follows_reads``) notes which fields of the snapshot it read, and is
    not even looked at when a snapshot changes none of them (a reading changes the power,
    the session and its cost, and leaves most of the 25-40 entities alone).
    """

    _attr_has_entity_name = True
    _unrecorded_attributes = UNRECORDED
    _follows_reads = False
    _reads: frozenset[str] | None = None  # the snapshot's fields it read when last looked at
    # Of those, what the rest (attributes, last reset, unit) read (None: not told apart).
    _rest_reads: frozenset[str] | None = None
    _held = False  # a change waits to be written (see _settling): look again at each snapshot
    _shown: tuple[Any, ...] | None = None
    _attributes_of: tuple[object, Any] | None = None  # (snapshot, its attributes)
    # While a session charges, written at most once per SETTLE, not at every reading: a running
    # total (SETTLE_VALUE: the session's and the month's energy and cost, the average price),
    # or the attributes of a yes/no sensor whose state is written at once (SETTLE_ATTRIBUTES:
    # the plan's slots).
    _settles: str | None = None
    # Of a running total's attributes, those that move on with its value (and wait with it).
    _moving: frozenset[str] = frozenset()
    # (session id, snapshot time) when what is shown was last found current (written or not)
    _current_at: tuple[str | None, datetime] | None = None
    # (the rest's reads, what a held running total waits on: those and HOLD_ENDS)
    _hold_wakes: tuple[frozenset[str], frozenset[str]] | None = None

    def __init__(self, coordinator: EvSessionsCoordinator, description: EntityDescription) -> None:
        """Attach to the wallbox's device; the key names and translates the entity."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.config_entry.entry_id}_{description.key}"
        self._attr_translation_key = description.key
        self._attr_device_info = coordinator.device_info

    def _once_per_snapshot(self, compute: Callable[[], Any]) -> Any:
        """Attributes worked out once per snapshot (the comparison and the write share them)."""
        given: object = self.coordinator.data
        data = given.data if isinstance(given, _Reads) else given
        known = self._attributes_of
        # While the reads are noted, worked out again: the reads are part of what is noted.
        if known is not None and known[0] is data and given is data:
            return known[1]
        value = compute()
        self._attributes_of = (data, value)
        return value

    def _showing(self) -> tuple[Any, ...]:
        """What a write would show."""
        if not self.available:
            return (False,)
        return (
            True,
            self.state,
            self.state_attributes,
            self.extra_state_attributes,
            self.unit_of_measurement,
        )

    def _settling(self) -> bool:
        """Whether a write may wait.

        It may when found current (written, or looked at and unchanged) less than SETTLE
        ago, while the same session charges, and this snapshot was made for a reading. A
        later snapshot writes it (one comes at least every 30 s); new prices, options, a
        pause or the session's end write it at once.
        """
        shown, current = self._shown, self._current_at
        if not self._settles or not shown or not shown[0] or current is None:
            return False
        data = self.coordinator.data
        session = data.session
        return (
            data.reading
            and data.charging
            and session is not None
            and current[0] == session.id
            and data.now - current[1] < SETTLE
        )

    def _state_now(self) -> Any:
        """The state a write would show (without its attributes)."""
        return self.state

    def _showing_noted(self) -> tuple[Any, ...]:
        """What a write would show; noting the fields read, for an entity that follows them."""
        coordinator = self.coordinator
        data = coordinator.data
        if not self._follows_reads or data is None:
            return self._showing()
        reads = _Reads(data)
        coordinator.data = cast(EvSessionsData, reads)
        try:
            showing = self._showing()
        finally:
            coordinator.data = data
        names = frozenset(reads.names)
        if names != self._reads:  # the same object while unchanged (see _tell_wakes)
            self._reads = names
        rest = None if reads.rest is None else frozenset(reads.rest)
        if rest != self._rest_reads:
            self._rest_reads = rest
        return showing

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when what it shows changed (see _settling for the waits).

        Then tell the coordinator which fields of the next snapshot wake it.
        """
        self._update()
        self._tell_wakes()

    def _tell_wakes(self) -> None:
        """Wait on the fields read when last looked at (not noted: on every snapshot).

        A running total held back waits on what ends its wait (see _settling): a change to
        what the rest of it reads, HOLD_ENDS, or its minute passing. Anything else held back
        is looked at again at every snapshot.
        """
        update = self._handle_coordinator_update
        rest, current, shown = self._rest_reads, self._current_at, self._shown
        if (
            not self._held
            and self._settles == SETTLE_VALUE
            and current is not None
            and rest is not None
            and self._settling()  # shown and available
            and isinstance(cast("tuple[Any, ...]", shown)[1], float)
        ):
            # Current now, as the charging goes on: the next reading that only moves it on
            # would hold it back; it waits as if already held.
            self._held = True
        if not self._held:
            self.coordinator.wake_on(update, self._reads)
            return
        if self._settles == SETTLE_VALUE and rest is not None and current is not None:
            known = self._hold_wakes
            if known is None or known[0] is not rest:
                known = self._hold_wakes = (rest, rest | HOLD_ENDS)
            self.coordinator.wake_on(update, known[1], current[1] + SETTLE)
            return
        self.coordinator.wake_on(update, None)

    def _update(self) -> None:
        # Told only when a field it read changed, or anything may have (see _tell_wakes).
        settling = self._settles is not None and self._settling()
        shown = self._shown
        if (
            settling
            and self._settles == SETTLE_ATTRIBUTES
            and shown is not None
            and self.available
            and self._state_now() == shown[1]
        ):
            self._held = True
            return  # only the attributes can have changed: they wait, not even worked out
        if (
            settling
            and self._settles == SETTLE_VALUE
            and shown is not None
            and isinstance(shown[1], float)
            and (rest := self._rest_reads) is not None
            and (changed := self.coordinator.changed) is not None
            and rest.isdisjoint(changed)
            and self.available
        ):
            self._held = True
            return  # only the running total can have moved on: it waits, not even worked out
        showing = self._showing_noted()
        if showing == shown:
            self._held = False
            self._current()
            return
        if (
            settling
            and self._settles == SETTLE_VALUE
            and shown is not None
            and showing[0]
            and isinstance(showing[1], float)
            and isinstance(shown[1], float)
            and self._moved_on_alike(showing, shown)
        ):
            self._held = True
            return  # a running total that only moved on
        super().async_write_ha_state()
        self._shown = showing
        self._held = False
        self._current()

    def _moved_on_alike(self, showing: tuple[Any, ...], shown: tuple[Any, ...]) -> bool:
        """Whether two showings differ in the value alone, and the attributes moving with it.

        That is what a running total may hold back while a session charges (``_moving``: the
        session cost's breakdown, say).
        """
        if showing[2:] == shown[2:]:
            return True
        moving = self._moving
        return bool(moving) and [_without(part, moving) for part in showing[2:]] == [
            _without(part, moving) for part in shown[2:]
        ]

    def _current(self) -> None:
        """What is shown is what the snapshot gives: a total may wait a minute from here."""
        if self._settles:
            data = self.coordinator.data
            self._current_at = (None if data.session is None else data.session.id, data.now)

    @callback
    def async_write_ha_state(self) -> None:
        """Write (after a command, say): the next snapshot is compared afresh."""
        self._shown = self._reads = None
        super().async_write_ha_state()
        self._tell_wakes()
