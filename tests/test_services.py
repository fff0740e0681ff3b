"""The get_sessions and export_sessions actions."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from custom_components.ev_sessions.const import DOMAIN

from .conftest import setup_entry, wallbox_states
from .helpers import advance


async def _two_sessions(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Sessions on 1 Mar (5 kWh) and 2 Mar (7 kWh), and a third one in progress."""
    register = 100.0
    for day, kwh in ((1, 5.0), (2, 7.0)):
        freezer.move_to(datetime(2026, 3, day, 18, 0, tzinfo=UTC))
        wallbox_states(hass, plug="on", power="7000", energy=str(register))
        await hass.async_block_till_done()
        await advance(hass, freezer, 60, step_s=300)
        register += kwh
        wallbox_states(hass, plug="off", power="0", energy=str(register))
        await hass.async_block_till_done()
    freezer.move_to(datetime(2026, 3, 3, 18, 0, tzinfo=UTC))
    wallbox_states(hass, plug="on", power="7000", energy=str(register))
    await hass.async_block_till_done()


async def _get(hass: HomeAssistant, entry: MockConfigEntry, **filters: str) -> list[dict]:
    response = await hass.services.async_call(
        DOMAIN,
        "get_sessions",
        {"config_entry_id": entry.entry_id, **filters},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return response["sessions"]  # type: ignore[return-value]


async def test_get_sessions(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entities_entry: MockConfigEntry
) -> None:
    freezer.move_to(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    await setup_entry(hass, entities_entry)
    await _two_sessions(hass, freezer)
    sessions = await _get(hass, entities_entry)
    assert [s["energy_kwh"] for s in sessions] == [5.0, 7.0, 0.0]
    assert sessions[0]["start"] == "2026-03-01T18:00:00+00:00"
    assert sessions[0]["end"] == "2026-03-01T19:00:00+00:00"
    assert sessions[0]["currency"] == hass.config.currency
    assert sessions[0]["cost"] is None
    assert sessions[0]["estimated"] is False
    assert sessions[2]["end"] is None

    march_2 = await _get(
        hass, entities_entry, start="2026-03-02T00:00:00+00:00", end="2026-03-03T00:00:00+00:00"
    )
    assert [s["energy_kwh"] for s in march_2] == [7.0]
    assert await _get(hass, entities_entry, user="nobody") == []


async def test_get_sessions_naive_times_are_local(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entities_entry: MockConfigEntry
) -> None:
    await hass.config.async_update(time_zone="Europe/Stockholm")
    freezer.move_to(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    await setup_entry(hass, entities_entry)
    await _two_sessions(hass, freezer)
    # 2 March 19:30 local is 18:30 UTC: only the session of 2 March (and the one going on).
    sessions = await _get(hass, entities_entry, start="2026-03-02 19:30:00")
    assert [s["energy_kwh"] for s in sessions] == [7.0, 0.0]


async def test_export_sessions(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entities_entry: MockConfigEntry
) -> None:
    freezer.move_to(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    await setup_entry(hass, entities_entry)
    await _two_sessions(hass, freezer)
    response = await hass.services.async_call(
        DOMAIN,
        "export_sessions",
        {"config_entry_id": entities_entry.entry_id, "path": "ev/march.csv"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    target = Path(hass.config.path("ev/march.csv"))
    assert response == {"path": str(target), "sessions": 3}
    rows = list(csv.DictReader(target.read_text(encoding="utf-8").splitlines()))
    assert [row["energy_kwh"] for row in rows] == ["5.0", "7.0", "0.0"]
    assert rows[0]["currency"] == hass.config.currency
    assert rows[2]["end"] == ""
    target.unlink()


@pytest.mark.parametrize("path", ["../outside.csv", "/tmp/elsewhere.csv", "."])
async def test_export_outside_config_is_refused(
    hass: HomeAssistant, entities_entry: MockConfigEntry, path: str
) -> None:
    await setup_entry(hass, entities_entry)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "export_sessions",
            {"config_entry_id": entities_entry.entry_id, "path": path},
            blocking=True,
        )
    assert err.value.translation_key == "path_outside_config"


async def test_export_write_error(hass: HomeAssistant, entities_entry: MockConfigEntry) -> None:
    await setup_entry(hass, entities_entry)
    blocker = Path(hass.config.path("not_a_folder"))
    blocker.write_text("x", encoding="utf-8")
    try:
        with pytest.raises(HomeAssistantError) as err:
            await hass.services.async_call(
                DOMAIN,
                "export_sessions",
                {"config_entry_id": entities_entry.entry_id, "path": "not_a_folder/x.csv"},
                blocking=True,
            )
        assert err.value.translation_key == "export_failed"
    finally:
        blocker.unlink()


async def test_unknown_and_unloaded_entries(
    hass: HomeAssistant, entities_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, entities_entry)
    other = MockConfigEntry(domain="sun")
    other.add_to_hass(hass)
    for entry in (MockConfigEntry(domain=DOMAIN, entry_id="nope"), other):
        with pytest.raises(ServiceValidationError) as err:
            await _get(hass, entry)
        assert err.value.translation_key == "entry_not_found"
    assert await hass.config_entries.async_unload(entities_entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _get(hass, entities_entry)
    assert err.value.translation_key == "entry_not_loaded"


async def test_end_before_start_is_refused(
    hass: HomeAssistant, entities_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, entities_entry)
    with pytest.raises(ServiceValidationError) as err:
        await _get(
            hass,
            entities_entry,
            start="2026-03-02T00:00:00+00:00",
            end="2026-03-01T00:00:00+00:00",
        )
    assert err.value.translation_key == "end_before_start"
