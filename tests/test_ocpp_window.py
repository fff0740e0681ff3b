"""The OCPP reorder window: bounded in time and size, never blocked by one bad message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from homeassistant.core import HomeAssistant

from custom_components.ev_sessions.sources.ocpp.const import REORDER_WINDOW
from custom_components.ev_sessions.sources.ocpp.window import MAX_PENDING, ReorderWindow

T0 = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_messages_apply_in_their_own_order_when_the_window_closes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    window = ReorderWindow(hass)
    applied: list[int] = []
    window.open()
    for minute in (30, 10, 20):
        window.schedule(T0 + timedelta(minutes=minute), lambda m=minute: applied.append(m))
    assert applied == []
    await tick(hass, freezer, REORDER_WINDOW.total_seconds() + 1)
    assert applied == [10, 20, 30]
    window.schedule(T0, lambda: applied.append(0))  # closed: at once
    assert applied == [10, 20, 30, 0]


async def test_reconnects_never_push_the_deadline_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A box that reconnects every 5 s still gets its messages applied within 10 s."""
    window = ReorderWindow(hass)
    applied: list[int] = []
    window.open()
    window.schedule(T0, lambda: applied.append(1))
    await tick(hass, freezer, 5)
    window.open()  # it connected again
    window.schedule(T0, lambda: applied.append(2))
    await tick(hass, freezer, 6)
    assert applied == [1, 2]


async def test_one_bad_message_never_blocks_the_others(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    window = ReorderWindow(hass)
    applied: list[str] = []

    def bad() -> None:
        raise ValueError("a malformed number")

    window.open()
    window.schedule(T0, lambda: applied.append("meter values"))
    window.schedule(T0 + timedelta(minutes=1), bad)
    window.schedule(T0 + timedelta(minutes=2), lambda: applied.append("stop"))
    with caplog.at_level(logging.ERROR):
        await tick(hass, freezer, 11)
    assert applied == ["meter values", "stop"]
    assert "could not be applied" in caplog.text


async def test_the_window_holds_a_bounded_number_of_messages(hass: HomeAssistant) -> None:
    window = ReorderWindow(hass)
    applied: list[int] = []
    window.open()
    for n in range(MAX_PENDING + 10):
        window.schedule(T0 + timedelta(seconds=-n), lambda n=n: applied.append(n))
    # Full: the first MAX_PENDING were applied (oldest first), the window closed, and the
    # rest applied as they came.
    assert applied == [*reversed(range(MAX_PENDING)), *range(MAX_PENDING, MAX_PENDING + 10)]
    assert not window.holding


async def test_what_the_window_holds_is_applied_when_the_source_stops(
    hass: HomeAssistant,
) -> None:
    window = ReorderWindow(hass)
    applied: list[int] = []
    window.open()
    window.schedule(T0, lambda: applied.append(1))
    window.flush()
    assert applied == [1]
    assert not window.holding
