"""Actions of EV Sessions: get and export sessions, plan, OCPP commands."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, cast

import voluptuous as vol

from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError, Unauthorized, UnknownUser
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .const import (
    ATTR_COMMAND,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_DEPARTURE,
    ATTR_END,
    ATTR_ENERGY_KWH,
    ATTR_ID_TAG,
    ATTR_MAX_POWER_KW,
    ATTR_PATH,
    ATTR_REPORT,
    ATTR_START,
    ATTR_USER,
    DOMAIN,
    REPORT_SESSIONS,
    REPORT_USER_MONTH,
    SERVICE_EXPORT_SESSIONS,
    SERVICE_GET_SESSIONS,
    SERVICE_OCPP_COMMAND,
    SERVICE_PLAN_CHARGING,
)
from .coordinator import EvSessionsConfigEntry, EvSessionsCoordinator
from .exports import exports
from .model.history import session_summary, sessions_csv, user_month_csv, user_month_rows
from .model.planner import plan_cheapest, plan_slots, plan_with_power_fee
from .model.session import Session
from .sources.base import Capability, ChargePointCommands, SourceError, command_failed
from .sources.ocpp.const import COMMANDS

SUMMARIES_ON_LOOP = 200  # more are described in the executor

_FILTERS = {
    vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
    vol.Optional(ATTR_START): cv.datetime,
    vol.Optional(ATTR_END): cv.datetime,
    vol.Optional(ATTR_USER): cv.string,
}
GET_SESSIONS_SCHEMA = vol.Schema(_FILTERS)
EXPORT_SESSIONS_SCHEMA = vol.Schema(
    {
        **_FILTERS,
        vol.Required(ATTR_PATH): cv.string,
        vol.Optional(ATTR_REPORT, default=REPORT_SESSIONS): vol.In(
            (REPORT_SESSIONS, REPORT_USER_MONTH)
        ),
    }
)
OCPP_COMMAND_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_COMMAND): vol.In(COMMANDS),
        vol.Optional(ATTR_ID_TAG): cv.string,
    }
)
PLAN_CHARGING_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_ENERGY_KWH): vol.All(vol.Coerce(float), vol.Range(min=0, max=500)),
        vol.Required(ATTR_DEPARTURE): cv.datetime,
        vol.Optional(ATTR_MAX_POWER_KW): vol.All(vol.Coerce(float), vol.Range(min=0.1, max=400)),
        vol.Optional(ATTR_START): cv.datetime,
    }
)


def _entry(hass: HomeAssistant, call: ServiceCall) -> EvSessionsConfigEntry:
    entry_id = call.data[ATTR_CONFIG_ENTRY_ID]
    entry: EvSessionsConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        # A time without offset is local time, as in the UI.
        value = value.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(value)


def _summaries(sessions: list[Session], currency: str) -> list[dict[str, Any]]:
    """Public descriptions in local time (run in the executor for a long history)."""
    now = dt_util.utcnow()
    zone = dt_util.get_default_time_zone()
    return [session_summary(s, now, currency, zone) for s in sessions]


async def _async_summaries(
    hass: HomeAssistant, coordinator: EvSessionsCoordinator, call: ServiceCall
) -> list[dict[str, Any]]:
    """The selected sessions' descriptions; many are built off the event loop."""
    sessions = _sessions(coordinator, call)
    if len(sessions) <= SUMMARIES_ON_LOOP:
        return _summaries(sessions, coordinator.currency)
    return await hass.async_add_executor_job(_summaries, sessions, coordinator.currency)


def _sessions(coordinator: EvSessionsCoordinator, call: ServiceCall) -> list[Session]:
    """The sessions the call's filters select (the one in progress included)."""
    start = _aware(call.data.get(ATTR_START))
    end = _aware(call.data.get(ATTR_END))
    if start is not None and end is not None and end <= start:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="end_before_start")
    user = call.data.get(ATTR_USER)
    sessions = coordinator.history.between(start, end, user)
    active = coordinator.tracker.active
    if (
        active is not None
        and (end is None or active.start < end)
        and (user is None or active.user == user)
    ):
        sessions.append(_priced_so_far(coordinator, active))
    return sessions


def _priced_so_far(coordinator: EvSessionsCoordinator, active: Session) -> Session:
    """The session in progress with its cost so far, as the cost sensors show it: estimated.

    A copy: the session itself is priced once, when it ends.
    """
    running = replace(active, periods=list(active.periods), intervals=dict(active.intervals))
    cost = coordinator.costs.session_cost(running, dt_util.utcnow())
    running.cost = None if cost is None else cost.total
    running.cost_breakdown = {} if cost is None else dict(cost.breakdown)
    running.cost_estimated = True
    running.power_fee_provisional = cost is not None and cost.power_fee_provisional
    running.power_fee_hours = [] if cost is None else list(cost.power_fee_hours)
    return running


async def _get_sessions(call: ServiceCall) -> ServiceResponse:
    coordinator = _entry(call.hass, call).runtime_data
    return cast(ServiceResponse, {"sessions": await _async_summaries(call.hass, coordinator, call)})


async def _require_admin(call: ServiceCall) -> None:
    """Only administrators (and automations, which run as no user) may write files."""
    if call.context.user_id is None:
        return
    user = await call.hass.auth.async_get_user(call.context.user_id)
    if user is None:
        raise UnknownUser(context=call.context, permission=POLICY_CONTROL)
    if not user.is_admin:
        raise Unauthorized(context=call.context)


async def _export_sessions(call: ServiceCall) -> ServiceResponse:
    await _require_admin(call)
    hass = call.hass
    coordinator = _entry(hass, call).runtime_data
    response: dict[str, Any] = {}
    if call.data.get(ATTR_REPORT) == REPORT_USER_MONTH:
        sessions = _sessions(coordinator, call)
        rows = await hass.async_add_executor_job(
            user_month_rows, sessions, dt_util.get_default_time_zone()
        )
        text = user_month_csv(rows, coordinator.currency)
        response |= {"sessions": len(sessions), "rows": len(rows)}
    else:
        summaries = await _async_summaries(hass, coordinator, call)
        text = await hass.async_add_executor_job(sessions_csv, summaries)
        response["sessions"] = len(summaries)
    target = await exports(hass).async_write(call.data[ATTR_PATH], text)
    return {"path": str(target), **response}


async def _ocpp_command(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass, call)
    source = entry.runtime_data.source
    if Capability.COMMANDS not in source.capabilities:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_ocpp")
    try:
        commands = cast(ChargePointCommands, source)
        status = await commands.async_command(call.data[ATTR_COMMAND], call.data.get(ATTR_ID_TAG))
    except SourceError as err:
        raise command_failed(err, entry.title) from err
    return {"status": status}


async def _plan_charging(call: ServiceCall) -> ServiceResponse:
    coordinator = _entry(call.hass, call).runtime_data
    now = dt_util.utcnow()
    start = _aware(call.data.get(ATTR_START)) or now
    departure = _aware(call.data[ATTR_DEPARTURE])
    assert departure is not None
    if departure <= start:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="departure_before_start"
        )
    power = coordinator.effective_power_kw(coordinator.tracker.active, now)
    if ATTR_MAX_POWER_KW in call.data:
        power = min(power, call.data[ATTR_MAX_POWER_KW])
    costs = coordinator.costs
    fee = costs.tariff.power_fee
    wanted = {
        "start": start,
        "departure": departure,
        "energy_kwh": call.data[ATTR_ENERGY_KWH],
        "power_kw": power,
        "price_at": coordinator.price_at,
    }
    if fee is None:
        plan = plan_cheapest(**wanted)
    else:
        # As the live plan: keep under the month's peak unless raising it pays.
        tracker = coordinator.tracker
        plan = plan_with_power_fee(
            **wanted,
            fee=fee,
            month_hours=costs.month_hours(tracker.active or Session(id="plan", start=start)),
            zone=dt_util.get_default_time_zone(),
            vat_rate=costs.tariff.vat_rate,
            base_load_kw=coordinator.power.base_load_kw(tracker),
        )
    return cast(
        ServiceResponse,
        {
            "slots": plan_slots(plan, dt_util.get_default_time_zone()),
            "energy_kwh": round(plan.energy_kwh, 4),
            "shortfall_kwh": round(plan.shortfall_kwh, 4),
            "cost": round(plan.cost, 4),
            "currency": coordinator.currency,
            "estimated": plan.estimated,
            "power_kw": round(plan.power_kw, 3),
        },
    )


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, for all entries)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_SESSIONS,
        _get_sessions,
        schema=GET_SESSIONS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_EXPORT_SESSIONS,
        _export_sessions,
        schema=EXPORT_SESSIONS_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_OCPP_COMMAND,
        _ocpp_command,
        schema=OCPP_COMMAND_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_PLAN_CHARGING,
        _plan_charging,
        schema=PLAN_CHARGING_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
