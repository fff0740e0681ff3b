"""State changes taken in bursts: one call after the last change of an event-loop turn.

A wallbox integration writes its entities one after the other (power, energy, status, SoC)
in one turn of the event loop. Home Assistant 2025.4 ran state-change listeners with
``loop.call_soon``, so a listener saw every entity already written; since 2026.x listeners run
at once inside ``hass.states.async_set``, and a listener that reads the other entities then
sees them half updated (the new plug state with the old SoC or the old register).

``async_track_state_bursts`` calls its action once, in a task that is not started eagerly,
after all the changes of the turn in which the first of them arrived, on every Home Assistant
version.
Nothing waits on a timer, and nothing is lost: a change in a later turn is a new call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event


@callback
def async_track_state_bursts(
    hass: HomeAssistant, entity_ids: Iterable[str], action: Callable[[], None]
) -> CALLBACK_TYPE:
    """Call action (a callback) once per burst of state changes; return the unsubscriber."""
    pending: asyncio.Task[None] | None = None
    removed = False

    async def _flush() -> None:
        nonlocal pending
        pending = None
        action()

    @callback
    def _changed(_event: Event[EventStateChangedData]) -> None:
        nonlocal pending
        # Home Assistant 2025.4 may still run a listener that was queued before the removal.
        if pending is None and not removed:
            # Not eager: the task's first step runs after everything already queued, that is
            # after the rest of the burst (a task, unlike a bare call_soon, is also what
            # hass.async_block_till_done waits for, on every version).
            pending = hass.async_create_task(_flush(), "ev_sessions state burst", eager_start=False)

    unsubscribe = async_track_state_change_event(hass, list(entity_ids), _changed)

    @callback
    def _remove() -> None:
        nonlocal pending, removed
        removed = True
        unsubscribe()
        if pending is not None:
            pending.cancel()
            pending = None

    return _remove
