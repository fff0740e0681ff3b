"""Prepare config/.storage for the demo: no onboarding, a demo owner, two wallboxes, a dashboard.

The wallboxes are a simulated one and an OCPP charge point (played by scripts/ocpp_charger.py).

Only files that do not exist yet are written, so a demo that was changed in the UI stays
as it is. Delete config/ to start over.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
import math
from pathlib import Path
import sys
from typing import Any
import uuid
from zoneinfo import ZoneInfo


def _write(storage: Path, key: str, data: dict[str, Any], version: int, minor: int = 1) -> None:
    path = storage / key
    if path.exists():
        return
    document = {"version": version, "minor_version": minor, "key": key, "data": data}
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def _http(config_dir: Path, storage: Path, now: str, port: int) -> None:
    """Listen on 127.0.0.1:<port> only, where this Home Assistant keeps that setting."""
    try:
        from homeassistant.components.http import config as http_config  # noqa: PLC0415
    except ImportError:  # Home Assistant before 2026.10: the YAML http section
        yaml = config_dir / "configuration.yaml"
        if "\nhttp:" in yaml.read_text(encoding="utf-8"):
            return  # written at an earlier start
        with yaml.open("a", encoding="utf-8") as file:
            file.write(f"\nhttp:\n  server_host: 127.0.0.1\n  server_port: {port}\n")
        return
    stable = {
        "server_host": ["127.0.0.1"],
        "server_port": port,
        "cors_allowed_origins": ["https://cast.home-assistant.io"],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": True,
        "ssl_profile": "modern",
        "use_x_frame_options": True,
        "created_at": now,
        "error": None,
        "error_message": None,
    }
    # Written in the format of Home Assistant 2026.10 (version 2.2), which later versions
    # migrate: 2026.11 names the TLS profiles by guideline version ("modern_v4"), and refuses
    # "modern" in a file that says it is of its own version.
    _write(
        storage,
        http_config.STORAGE_KEY,
        {"stable": stable, "pending": None, "yaml_migration_done": True},
        version=2,
        minor=2,
    )


def main(config_dir: str, http_port: int = 8123, ocpp_port: int = 9000) -> None:
    """Write the seed files under config_dir/.storage (the browser tests pick other ports)."""
    storage = Path(config_dir) / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).isoformat()
    _http(Path(config_dir), storage, now, http_port)
    _write(
        storage,
        "onboarding",
        {"done": ["user", "core_config", "analytics", "integration"]},
        version=4,
    )
    user_id = uuid.uuid4().hex
    _write(
        storage,
        "auth",
        {
            "users": [
                {
                    "id": user_id,
                    "group_ids": ["system-admin"],
                    "is_owner": True,
                    "is_active": True,
                    "name": "Demo",
                    "system_generated": False,
                    "local_only": False,
                }
            ],
            "groups": [
                {"id": "system-admin", "name": "Administrators"},
                {"id": "system-users", "name": "Users"},
                {"id": "system-read-only", "name": "Read Only"},
            ],
            "credentials": [],
            "refresh_tokens": [],
        },
        version=1,
    )
    _write(
        storage,
        "person",
        {"items": [{"id": "demo", "name": "Demo", "user_id": user_id, "device_trackers": []}]},
        version=2,
    )
    entry = {
        "entry_id": uuid.uuid4().hex[:26].upper(),
        "version": 1,
        "minor_version": 1,
        "domain": "ev_sessions",
        "title": "Simulated wallbox",
        "data": {
            "source": "simulator",
            "max_power_kw": 11.0,
            "phases": 3,
            "battery_capacity_kwh": 60.0,
        },
        "options": {
            # A Swedish household on a spot-price contract (2026 energy tax, 25 % VAT).
            "price_entity": "sensor.demo_spot_price",
            "fixed_price": 1.0,
            "markup": 0.05,
            "grid_fee": 0.244,
            "energy_tax": 0.36,
            "vat_percent": 25,
            # Charge in the cheapest quarters before departure (the card shows the plan).
            "charging_mode": "cheapest",
        },
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "unique_id": "simulator",
        "disabled_by": None,
        "discovery_keys": {},
        "subentries": [],
        "created_at": now,
        "modified_at": now,
    }
    garage = {
        **entry,
        "entry_id": uuid.uuid4().hex[:26].upper(),
        "title": "Demo garage",
        # scripts/ocpp_charger.py connects as this charge point.
        "data": {"source": "ocpp", "charge_point_id": "demo-garage", "port": ocpp_port},
        "options": {
            **entry["options"],
            "charging_mode": "immediate",  # a shared garage charges at once
            "id_tags": {"04A1B2C3": "Anna", "04D5E6F7": "Bo"},
            "accept_unknown_tags": True,
        },
        "unique_id": "ocpp_demo-garage",
    }
    _write(storage, "core.config_entries", {"entries": [entry, garage]}, version=1, minor=5)
    # A week of past sessions, so that the cards have a history to show from the start.
    for seeded, users in ((entry, None), (garage, ("Anna", "Bo"))):
        key = f"ev_sessions.{seeded['entry_id']}.history"
        _write(storage, key, {"sessions": past_sessions(users)}, version=1)
    # The overview opens on the EV Sessions card of each wallbox.
    _write(storage, "lovelace", {"config": dashboard([entry, garage])}, version=1)


STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def demo_price(local: datetime) -> float:
    """The demo's all-in price (SEK/kWh) at a local moment.

    Its spot curve (demo/configuration.yaml) with the demo tariff's markup, grid fee, energy
    tax and 25 % VAT.
    """
    hour = local.hour + local.minute / 60
    spot = 0.45 - 0.35 * math.cos((hour - 4) / 24 * 2 * math.pi) + (0.6 if 17 <= hour < 20 else 0)
    return (round(spot, 3) + 0.05 + 0.244 + 0.36) * 1.25


def past_sessions(users: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """Made-up sessions of the last seven evenings, priced under the demo's tariff and prices.

    Plugged in at about 18:00, unplugged at 07:00; a home charges at night (planned), a shared
    garage at once, for each user in turn.
    """
    today = datetime.now(STOCKHOLM).replace(hour=0, minute=0, second=0, microsecond=0)
    sessions = []
    for day in range(7, 0, -1):
        evening = today - timedelta(days=day)
        plug_in = evening.replace(hour=17, minute=40 + 5 * (day % 4))
        unplug = (evening + timedelta(days=1, hours=7)).replace(hour=7, minute=10)
        energy = 8.0 + 3.5 * (day % 4)
        quarters = math.ceil(energy / 2.75)  # 11 kW
        first = (
            plug_in.replace(minute=45)
            if users
            else (evening + timedelta(days=1)).replace(hour=2, minute=0)
        )
        intervals, cost, left = [], 0.0, energy
        for n in range(quarters):
            start = first + timedelta(minutes=15 * n)
            kwh = min(2.75, left)
            left -= kwh
            intervals.append([int(start.timestamp()), round(kwh, 3)])
            cost += kwh * demo_price(start)
        charged_until = first + timedelta(hours=energy / 11)
        sessions.append(
            {
                "id": f"demo-{plug_in:%Y%m%d}-{'garage' if users else 'home'}",
                "start": _utc(plug_in),
                "end": _utc(unplug),
                "user": users[day % len(users)] if users else None,
                "energy_kwh": energy,
                "peak_power_w": 11000.0,
                "phases": 3,
                "soc_start": None if users else 70 - 5 * (day % 4),
                "soc_end": None if users else 95,
                "energy_method": "register",
                "periods": [
                    [
                        first.astimezone(UTC).isoformat(),
                        charged_until.astimezone(UTC).isoformat(),
                        energy,
                    ]
                ],
                "intervals": intervals,
                "target_energy_kwh": None if users else 20.0,
                "departure": None if users else _utc(unplug),
                "charging_mode": "immediate" if users else "cheapest",
                "cost": round(cost, 4),
                "cost_breakdown": {},
                "cost_estimated": False,
            }
        )
    return sessions


def dashboard(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A dashboard with an EV Sessions card for each wallbox (entry)."""
    return {
        "title": "EV Sessions",
        "views": [
            {
                "title": "Charging",
                "path": "charging",
                "icon": "mdi:ev-station",
                "cards": [
                    {"type": "custom:ev-sessions-card", "entry_id": entry["entry_id"]}
                    for entry in entries
                ],
            }
        ],
    }


if __name__ == "__main__":
    main(sys.argv[1], *(int(port) for port in sys.argv[2:4]))
