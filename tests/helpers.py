"""Helpers for driving Home Assistant through time in tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
import copy
from datetime import timedelta
import logging
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from hypothesis import strategies as st
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component

from custom_components import ev_sessions
from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.entity import EvSessionsEntity


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float, step_s: float = 30
) -> None:
    """Let minutes pass in steps, firing the time listeners at each step."""
    remaining = minutes * 60
    while remaining > 0:
        step = min(step_s, remaining)
        freezer.tick(timedelta(seconds=step))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        remaining -= step


def state_value(hass: HomeAssistant, entity_id: str) -> str:
    """The state string of an entity (fails clearly when it does not exist)."""
    state = hass.states.get(entity_id)
    assert state is not None, f"{entity_id} does not exist"
    return state.state


def number(hass: HomeAssistant, entity_id: str) -> float:
    """The state of an entity as a number."""
    return float(state_value(hass, entity_id))


async def number_now(hass: HomeAssistant, entity_id: str) -> float:
    """The state of an entity as a number after ``homeassistant.update_entity``.

    A running total (the session's energy and cost too) is written at most once a minute
    while a session charges; asked for, it shows the latest figure at once.
    """
    if "homeassistant" not in hass.config.components:
        assert await async_setup_component(hass, "homeassistant", {})
    await hass.services.async_call(
        "homeassistant", "update_entity", {"entity_id": entity_id}, blocking=True
    )
    return number(hass, entity_id)


async def restart(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    *,
    downtime: timedelta = timedelta(0),
    freezer: FrozenDateTimeFactory | None = None,
) -> None:
    """Stop the entry as Home Assistant's shutdown does, then start it from storage.

    Only what the final write of a shutdown saved survives: the unload's own save is
    thrown away, so a test passes only if the shutdown path alone keeps the session.
    """
    await _stop_and_start(hass, entry, hass_storage, downtime=downtime, freezer=freezer, clean=True)


async def crash(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    *,
    downtime: timedelta = timedelta(0),
    freezer: FrozenDateTimeFactory | None = None,
    while_down: Callable[[], None] | None = None,
) -> None:
    """Kill -9, then start the entry from storage: only what was already written survives.

    ``while_down`` changes the world while Home Assistant is down (the wallbox charges on).
    """
    await _stop_and_start(
        hass,
        entry,
        hass_storage,
        downtime=downtime,
        freezer=freezer,
        clean=False,
        while_down=while_down,
    )


async def _stop_and_start(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    *,
    downtime: timedelta,
    freezer: FrozenDateTimeFactory | None,
    clean: bool,
    while_down: Callable[[], None] | None = None,
) -> None:
    if clean:
        hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    saved = copy.deepcopy(hass_storage)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    hass_storage.clear()
    hass_storage.update(saved)
    if freezer is not None:
        freezer.tick(downtime)
    if while_down is not None:
        while_down()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def logged(caplog: pytest.LogCaptureFixture, text: str, level: int = logging.INFO) -> int:
    """How many log records at level or above say text.

    Counted by record, not in caplog.text: newer test harnesses capture DEBUG, where the
    coordinator's "Full error" traceback repeats the message of the error it just logged.
    """
    return sum(
        1 for record in caplog.records if record.levelno >= level and text in record.getMessage()
    )


def device_of(hass: HomeAssistant, entry: MockConfigEntry) -> dr.DeviceEntry:
    """The wallbox's device (found by config entry: async_get_device is deprecated)."""
    (device,) = [
        device
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        if (DOMAIN, entry.entry_id) in device.identifiers
    ]
    return device


@contextmanager
def entities_looked_at() -> Iterator[Counter[str]]:
    """How often each entity is looked at (what it shows worked out) after a snapshot."""
    looked_at: Counter[str] = Counter()
    original = EvSessionsEntity._showing_noted

    def _counted(entity: EvSessionsEntity) -> tuple[object, ...]:
        looked_at[entity.entity_id or ""] += 1
        return original(entity)

    with patch.object(EvSessionsEntity, "_showing_noted", _counted):
        yield looked_at


@contextmanager
def setups_counted() -> Iterator[list[str]]:
    """The entries set up (the id of each, at each set-up) while it lasts."""
    set_up: list[str] = []
    original = ev_sessions.async_setup_entry

    async def _counted(hass: HomeAssistant, entry: Any) -> bool:
        set_up.append(entry.entry_id)
        return await original(hass, entry)

    with patch.object(ev_sessions, "async_setup_entry", _counted):
        yield set_up


@contextmanager
def entities_told() -> Iterator[Counter[str]]:
    """How often each entity is told of a snapshot at all (looked at or not)."""
    told: Counter[str] = Counter()
    original = EvSessionsEntity._update

    def _counted(entity: EvSessionsEntity) -> None:
        told[entity.entity_id or ""] += 1
        original(entity)

    with patch.object(EvSessionsEntity, "_update", _counted):
        yield told


def step_lists(
    kinds: list[str], most_kwh: float, least_kwh: float = 0.01
) -> st.SearchStrategy[list[tuple[str, int, float]]]:
    """Steps of a property test: what happens (one of ``kinds``), a number to pick a place
    with, and an energy; 1 to 40 of them."""
    return st.lists(
        st.tuples(st.sampled_from(kinds), st.integers(0, 10_000), st.floats(least_kwh, most_kwh)),
        min_size=1,
        max_size=40,
    )
