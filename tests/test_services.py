"""The get_sessions and export_sessions actions."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
    UnknownUser,
)

from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.exports import EXPORTS

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
    # Local time with its offset (the test zone is US/Pacific): 18:00 UTC.
    assert sessions[0]["start"] == "2026-03-01T10:00:00-08:00"
    assert sessions[0]["end"] == "2026-03-01T11:00:00-08:00"
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


async def _export(
    hass: HomeAssistant, entry: MockConfigEntry, path: str, context: Context | None = None
) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "export_sessions",
        {"config_entry_id": entry.entry_id, "path": path},
        blocking=True,
        return_response=True,
        context=context,
    )
    assert response is not None
    return dict(response)


async def test_export_sessions(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entities_entry: MockConfigEntry,
    config_dir: Path,
) -> None:
    freezer.move_to(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    await setup_entry(hass, entities_entry)
    await _two_sessions(hass, freezer)
    response = await _export(hass, entities_entry, "2026/march.csv")
    target = config_dir / "ev_sessions" / "2026" / "march.csv"
    assert response == {"path": str(target), "sessions": 3}
    rows = list(csv.DictReader(target.read_text(encoding="utf-8").splitlines()))
    assert [row["energy_kwh"] for row in rows] == ["5.0", "7.0", "0.0"]
    assert rows[0]["currency"] == hass.config.currency
    assert rows[2]["end"] == ""
    assert rows[0]["start"].endswith("-08:00")  # local time (US/Pacific), with its offset
    # The same file again (EV Sessions wrote it), also named as before the export folder was
    # EV Sessions' own (relative to the configuration folder) or by its absolute path.
    for path in ("2026/march.csv", "ev_sessions/2026/march.csv", str(target)):
        assert (await _export(hass, entities_entry, path))["path"] == str(target)
    assert [p.name for p in target.parent.iterdir()] == ["march.csv"]  # no temporary left


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../configuration.yaml", "export_not_csv"),
        ("../secrets.yaml", "export_not_csv"),
        ("../.storage/core.config_entries", "export_not_csv"),
        ("../home-assistant_v2.db", "export_not_csv"),
        ("sessions.CSV.yaml", "export_not_csv"),
        (".", "export_not_csv"),
        ("../automations.csv", "export_outside_folder"),
        ("ev_sessions/../automations.csv", "export_outside_folder"),
        ("/tmp/elsewhere.csv", "export_outside_folder"),
        ("../../outside.csv", "export_outside_folder"),
    ],
)
async def test_export_never_touches_home_assistants_files(
    hass: HomeAssistant,
    entities_entry: MockConfigEntry,
    config_dir: Path,
    path: str,
    reason: str,
) -> None:
    originals = {
        name: f"{name} as the user wrote it\n"
        for name in (
            "configuration.yaml",
            "secrets.yaml",
            "home-assistant_v2.db",
            "automations.csv",
        )
    }
    for name, text in originals.items():
        (config_dir / name).write_text(text, encoding="utf-8")
    await setup_entry(hass, entities_entry)
    with pytest.raises(ServiceValidationError) as err:
        await _export(hass, entities_entry, path)
    assert err.value.translation_key == reason
    assert err.value.translation_placeholders == {
        "path": path,
        "folder": str(config_dir / "ev_sessions"),
    }
    for name, text in originals.items():
        assert (config_dir / name).read_text(encoding="utf-8") == text
    assert not Path("/tmp/elsewhere.csv").exists()


async def test_export_never_follows_a_link_out_of_its_folder(
    hass: HomeAssistant, entities_entry: MockConfigEntry, config_dir: Path
) -> None:
    await setup_entry(hass, entities_entry)
    folder = config_dir / "ev_sessions"
    folder.mkdir()
    outside = config_dir / "outside"
    outside.mkdir()
    secrets = config_dir / "secrets.csv"
    secrets.write_text("mine", encoding="utf-8")
    (folder / "link.csv").symlink_to(secrets)
    (folder / "out").symlink_to(outside)
    for path in ("link.csv", "out/sessions.csv"):
        with pytest.raises(ServiceValidationError) as err:
            await _export(hass, entities_entry, path)
        assert err.value.translation_key == "export_outside_folder"
    assert secrets.read_text(encoding="utf-8") == "mine"
    assert list(outside.iterdir()) == []

    # The export folder itself a link elsewhere: nothing is written through it.
    (folder / "link.csv").unlink()
    (folder / "out").unlink()
    folder.rmdir()
    folder.symlink_to(outside)
    with pytest.raises(ServiceValidationError) as err:
        await _export(hass, entities_entry, "sessions.csv")
    assert err.value.translation_key == "export_outside_folder"
    assert list(outside.iterdir()) == []


async def test_export_never_overwrites_a_file_it_did_not_write(
    hass: HomeAssistant,
    entities_entry: MockConfigEntry,
    config_dir: Path,
    hass_storage: dict[str, Any],
) -> None:
    await setup_entry(hass, entities_entry)
    folder = config_dir / "ev_sessions"
    folder.mkdir()
    (folder / "theirs.csv").write_text("someone else's", encoding="utf-8")
    (folder / "a_folder.csv").mkdir()
    for path in ("theirs.csv", "a_folder.csv"):
        with pytest.raises(ServiceValidationError) as err:
            await _export(hass, entities_entry, path)
        assert err.value.translation_key == "export_not_ours"
    assert (folder / "theirs.csv").read_text(encoding="utf-8") == "someone else's"

    # EV Sessions' own file may be written again, also after a restart (the list is stored) ...
    await _export(hass, entities_entry, "mine.csv")
    assert list(hass_storage["ev_sessions.exports"]["data"]["files"]) == ["mine.csv"]
    hass.data.pop(EXPORTS)
    await _export(hass, entities_entry, "mine.csv")
    # ... but not once someone changed it (their edits are kept).
    (folder / "mine.csv").write_text("edited by hand", encoding="utf-8")
    with pytest.raises(ServiceValidationError) as err:
        await _export(hass, entities_entry, "mine.csv")
    assert err.value.translation_key == "export_not_ours"
    assert (folder / "mine.csv").read_text(encoding="utf-8") == "edited by hand"


async def test_export_is_for_administrators(
    hass: HomeAssistant,
    entities_entry: MockConfigEntry,
    config_dir: Path,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
) -> None:
    await setup_entry(hass, entities_entry)
    with pytest.raises(Unauthorized):
        await _export(hass, entities_entry, "a.csv", Context(user_id=hass_read_only_user.id))
    with pytest.raises(UnknownUser):
        await _export(hass, entities_entry, "a.csv", Context(user_id="no-such-user"))
    assert not (config_dir / "ev_sessions" / "a.csv").exists()
    await _export(hass, entities_entry, "a.csv", Context(user_id=hass_admin_user.id))
    await _export(hass, entities_entry, "b.csv")  # an automation: no user
    assert sorted(p.name for p in (config_dir / "ev_sessions").iterdir()) == ["a.csv", "b.csv"]


async def test_export_write_error(
    hass: HomeAssistant, entities_entry: MockConfigEntry, config_dir: Path
) -> None:
    await setup_entry(hass, entities_entry)
    (config_dir / "ev_sessions").mkdir()
    (config_dir / "ev_sessions" / "not_a_folder").write_text("x", encoding="utf-8")
    with pytest.raises(HomeAssistantError) as err:
        await _export(hass, entities_entry, "not_a_folder/x.csv")
    assert err.value.translation_key == "export_failed"
    assert err.value.translation_placeholders["path"] == "not_a_folder/x.csv"


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
