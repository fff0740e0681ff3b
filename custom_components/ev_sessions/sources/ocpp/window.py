"""The reorder window: for a moment after each connect, messages apply in timestamp order.

Messages a charge point queued while offline arrive after a reconnect with old timestamps,
behind the live status it sends first. While the window is open, what each message says is
held and then applied sorted by the charge point's time (arrival order breaks ties).

The window is bounded: a reconnect while it is open does not push its deadline back (a box
that reconnects every few seconds still gets its messages applied), it holds at most
MAX_PENDING messages (more: they are applied at once), it is applied, not dropped, when the
source stops, and a message that fails to apply never keeps the others from applying.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import logging

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .const import REORDER_WINDOW

_LOGGER = logging.getLogger(__name__)

MAX_PENDING = 500


@dataclass(slots=True)
class _Pending:
    time: datetime
    order: int
    apply: Callable[[], None]


class ReorderWindow:
    """Holds what messages say while open; applies it in timestamp order when it closes."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Closed: everything applies at once."""
        self._hass = hass
        self._pending: list[_Pending] = []
        # The frames behind what is held (protocol, raw text), saved with the state so that
        # a crash while the window is open loses nothing: they are replayed at the next start.
        self.frames: list[tuple[str, str]] = []
        self.on_hold: Callable[[], None] | None = None  # a frame was held: save soon
        self._order = 0
        self._unsub: CALLBACK_TYPE | None = None

    @property
    def holding(self) -> bool:
        """Whether the window is open: what the box queued may still come, with older times.

        Until it closes, nothing may run ahead of the last time applied (a poll in the gap
        between the connect and the first queued message would push the clock past them).
        """
        return self._unsub is not None or bool(self._pending)

    def open(self) -> None:
        """Open for REORDER_WINDOW from now; already open, it keeps its first deadline."""
        if self._unsub is None:
            self._unsub = async_call_later(self._hass, REORDER_WINDOW, self._flush)

    def cancel(self) -> None:
        """Stop the timer (the source stops)."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    def schedule(self, time: datetime, apply: Callable[[], None]) -> None:
        """Apply now, or, while the window is open, when it closes."""
        if self._unsub is None:
            apply()
            return
        self._order += 1
        self._pending.append(_Pending(time, self._order, apply))
        if len(self._pending) >= MAX_PENDING:
            self.flush()

    def flush(self) -> None:
        """Close the window and apply what it holds, in timestamp order."""
        self.cancel()
        self._flush()

    @callback
    def _flush(self, _now: datetime | None = None) -> None:
        self._unsub = None
        pending, self._pending = self._pending, []
        self.frames = []
        for item in sorted(pending, key=lambda p: (p.time, p.order)):
            try:
                item.apply()
            except Exception:  # one bad message must not cost the others
                _LOGGER.exception("A queued OCPP message of %s could not be applied", item.time)
