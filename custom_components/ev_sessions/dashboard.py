"""The dashboard card: its file, served by Home Assistant, and the data it shows.

``ev-sessions-card`` ships in ``frontend/`` and is loaded on every dashboard page
(``add_extra_js_url``), so a HACS install brings it with no resource to add. The card
subscribes to ``ev_sessions/dashboard`` for one wallbox and is sent what it shows: the
session in progress, the plan with the all-in price of each interval today and tomorrow,
the last sessions and, in a shared garage, this month per user.
"""

from __future__ import annotations

import bisect
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import hashlib
import json
from pathlib import Path
from typing import Any, Final

import voluptuous as vol

from homeassistant.components import websocket_api
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .coordinator import EvSessionsConfigEntry, EvSessionsCoordinator
from .model.history import session_summary, user_month_rows
from .model.planner import plan_slots
from .time_util import month_start

CARD_FILE: Final = Path(__file__).parent / "frontend" / "ev-sessions-card.js"
CARD_URL: Final = f"/{DOMAIN}/ev-sessions-card.js"
# At most one update a wallbox's card is sent in this many seconds (readings come each second).
PUSH_INTERVAL: Final = 5.0
LAST_SESSIONS: Final = 5
MAX_SESSIONS: Final = 50

# Entities the card opens on a tap, by key (unique id ``{entry_id}_{key}``).
LINKED: Final = {
    "status": "sensor",
    "power": "sensor",
    "soc": "sensor",
    "session_energy": "sensor",
    "session_cost": "sensor",
    "price": "sensor",
    "plan_start": "sensor",
    "estimated_completion": "sensor",
    "month_cost": "sensor",
    "last_session_energy": "sensor",
    "charge_now": "binary_sensor",
    "target_at_risk": "binary_sensor",
    "target_energy": "number",
    "departure": "time",
    "charging_mode": "select",
}


def card_version() -> str:
    """A digest of the card's file: a new release is fetched at once, not from a cache."""
    return hashlib.sha256(CARD_FILE.read_bytes()).hexdigest()[:12]


async def async_register_card(hass: HomeAssistant) -> None:
    """Serve the card and load it on every dashboard page (when Home Assistant has a UI)."""
    if hass.http is None or "frontend" not in hass.config.components:
        return
    # Imported here: tests and headless installations run without the frontend.
    from homeassistant.components.frontend import add_extra_js_url  # noqa: PLC0415
    from homeassistant.components.http import StaticPathConfig  # noqa: PLC0415

    version = await hass.async_add_executor_job(card_version)
    await hass.http.async_register_static_paths([StaticPathConfig(CARD_URL, str(CARD_FILE), True)])
    add_extra_js_url(hass, f"{CARD_URL}?v={version}")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else dt_util.as_local(moment).isoformat()


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def price_intervals(
    coordinator: EvSessionsCoordinator,
    start: datetime,
    end: datetime,
    estimates_until: datetime | None = None,
) -> list[dict[str, Any]]:
    """The all-in price of each interval in [start, end).

    The price entity's intervals where it has them, clock hours elsewhere. Estimated prices
    (tomorrow's before they are published) are given, marked, only before
    ``estimates_until`` (the departure the plan works to); unknown ones are left out.
    """
    bounds = sorted(
        {
            moment
            for interval in coordinator.costs.prices
            if interval.end > start and interval.start < end
            for moment in (interval.start, interval.end)
        }
    )
    intervals: list[dict[str, Any]] = []
    cursor = start.astimezone(UTC)  # in UTC, an hour is an hour on the days clocks change
    while cursor < end:
        hour = cursor.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        index = bisect.bisect_right(bounds, cursor)
        following = min(hour, end, bounds[index]) if index < len(bounds) else min(hour, end)
        price, estimated = coordinator.price_at(cursor)
        if price is not None and (
            not estimated or (estimates_until is not None and cursor < estimates_until)
        ):
            intervals.append(
                {
                    "start": _iso(cursor),
                    "end": _iso(following),
                    "price": round(price, 5),
                    "estimated": estimated,
                }
            )
        cursor = following
    return intervals


def _session(coordinator: EvSessionsCoordinator) -> dict[str, Any] | None:
    data = coordinator.data
    session = data.session
    if session is None:
        return None
    cost = data.session_cost
    return {
        "start": _iso(session.start),
        "energy_kwh": round(session.energy_kwh, 3),
        "target_kwh": round(data.target_kwh, 2),
        "target_source": data.target_source,
        "power_kw": None if data.power_w is None else round(data.power_w / 1000, 2),
        "soc": data.soc,
        "cost": None if cost is None else round(cost.total, 2),
        "cost_estimated": None if cost is None else cost.estimated,
        "user": session.user,
        "estimated_completion": _iso(data.completion),
        "departure": _iso(data.departure),
        "departure_source": data.departure_source,
    }


def _risks(coordinator: EvSessionsCoordinator) -> list[dict[str, Any]]:
    """What stands between the car and its target (the at-risk warning's reasons)."""
    data = coordinator.data
    risks: list[dict[str, Any]] = []
    if data.session is None:
        return risks
    if data.plan and data.plan.falls_short:
        risks.append({"kind": "shortfall", "shortfall_kwh": round(data.plan.shortfall_kwh, 2)})
    if data.delivery.under_delivering:
        risks.append({"kind": "under_delivering", "reason": data.delivery.reason})
    if data.guard and data.guard.overload:
        risks.append({"kind": "overload"})
    return risks


def dashboard_data(coordinator: EvSessionsCoordinator, sessions: int) -> dict[str, Any]:
    """Everything the card shows for one wallbox, times local with their offset."""
    data = coordinator.data
    entry = coordinator.config_entry
    now = data.now
    zone = dt_util.get_default_time_zone()
    today = dt_util.start_of_local_day(now)
    day_after = dt_util.start_of_local_day(today + timedelta(days=2, hours=2))
    plan = data.plan
    history = coordinator.history
    currency = coordinator.currency
    month = month_start(now)
    in_month = history.between(month, now + timedelta(days=1))
    if data.session is not None:
        live = data.session_cost
        # The session in progress counts with its cost so far (an estimate).
        running = replace(
            data.session, cost=None if live is None else live.total, cost_estimated=True
        )
        in_month = [*in_month, running]
    users = [
        {key: row[key] for key in ("user", "sessions", "energy_kwh", "cost", "estimated")}
        for row in user_month_rows(in_month, zone)
        if row["month"] == dt_util.as_local(now).strftime("%Y-%m")
    ]
    registry = er.async_get(coordinator.hass)
    entities = {
        key: entity_id
        for key, platform in LINKED.items()
        if (entity_id := registry.async_get_entity_id(platform, DOMAIN, f"{entry.entry_id}_{key}"))
    }
    return {
        "title": entry.title,
        "currency": currency,
        "status": data.status,
        "plugged_in": data.plugged_in,
        "charging": data.charging,
        "price": _round(data.price, 4),
        "session": _session(coordinator),
        "risks": _risks(coordinator),
        "plan": None
        if plan is None
        else {
            "slots": plan_slots(plan, zone),
            "energy_kwh": round(plan.energy_kwh, 3),
            "shortfall_kwh": round(plan.shortfall_kwh, 3),
            "cost": round(plan.cost, 2),
            "estimated": plan.estimated,
            "power_kw": round(plan.power_kw, 2),
        },
        "departure": _iso(data.departure),
        "prices": price_intervals(
            coordinator, today, day_after, data.departure if data.session else None
        ),
        "sessions": [
            {
                key: summary[key]
                for key in ("id", "start", "end", "user", "energy_kwh", "duration_h", "cost")
            }
            | {"estimated": summary["estimated"]}
            for summary in (
                session_summary(session, now, currency, zone)
                for session in reversed(history.recent(sessions))
            )
        ],
        "month": {
            "energy_kwh": round(data.month_energy_kwh, 3),
            "cost": _round(data.month_cost, 2),
            "users": users,
        },
        "entities": entities,
    }


def _coordinator(hass: HomeAssistant, entry_id: str) -> EvSessionsCoordinator | None:
    entry: EvSessionsConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        return None
    return entry.runtime_data


@websocket_command(
    {
        vol.Required("type"): f"{DOMAIN}/dashboard",
        vol.Required("entry_id"): str,
        vol.Optional("sessions", default=LAST_SESSIONS): vol.All(
            int, vol.Range(min=0, max=MAX_SESSIONS)
        ),
    }
)
@callback
def ws_subscribe_dashboard(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Send a wallbox's dashboard now and again when it changes (at most every 5 s)."""
    coordinator = _coordinator(hass, msg["entry_id"])
    if coordinator is None:
        connection.send_error(msg["id"], "not_found", "No loaded EV Sessions entry with this id")
        return
    count: int = msg["sessions"]
    last: list[str] = []
    pending: list[CALLBACK_TYPE] = []

    @callback
    def _send(_now: datetime | None = None) -> None:
        pending.clear()
        payload = dashboard_data(coordinator, count)
        text = json.dumps(payload, sort_keys=True)
        if last and last[0] == text:
            return
        last[:] = [text]
        connection.send_message(event_message(msg["id"], payload))

    @callback
    def _changed() -> None:
        if not pending:
            pending.append(async_call_later(hass, PUSH_INTERVAL, _send))

    remove_listener = coordinator.async_add_listener(_changed)

    @callback
    def _unsubscribe() -> None:
        remove_listener()
        for cancel in pending:
            cancel()

    @callback
    def _gone() -> None:
        # The entry unloads (a reload, an update): the card subscribes again.
        if msg["id"] in connection.subscriptions:
            _unsubscribe()
            del connection.subscriptions[msg["id"]]
            connection.send_message(event_message(msg["id"], {"gone": True}))

    connection.subscriptions[msg["id"]] = _unsubscribe
    coordinator.config_entry.async_on_unload(_gone)
    connection.send_result(msg["id"])
    _send()


async def async_setup_dashboard(hass: HomeAssistant) -> None:
    """Register the card's websocket command; serve the card."""
    websocket_api.async_register_command(hass, ws_subscribe_dashboard)
    await async_register_card(hass)
