"""EV Sessions: charging sessions of an electric car, measured, kept and priced."""

from __future__ import annotations

from typing import cast

from homeassistant.const import CONF_HOST, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.typing import ConfigType

from .const import (
    CONF_POWER_ENTITY,
    CONF_SOURCE,
    DOMAIN,
    ISSUE_FUSE_INCONSISTENT,
    ISSUE_FUSE_MISSING,
    ISSUE_PRICE_SHAPE,
    ISSUE_STORAGE_DAMAGED,
    ISSUE_STORAGE_WRITE,
)
from .coordinator import EvSessionsConfigEntry, EvSessionsCoordinator
from .dashboard import async_setup_dashboard
from .services import async_setup_services
from .sessions import session_stores
from .sources.base import Capability, KnowsUsers, SourceError
from .sources.registry import create_source

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.DATETIME,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TIME,
]


CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, the dashboard card and its data."""
    async_setup_services(hass)
    await async_setup_dashboard(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: EvSessionsConfigEntry) -> bool:
    """1.1 → 1.2: drop unique ids made of a host address or an entity id (HA forbids them)."""
    if entry.version > 1:
        return False  # a downgrade: this version cannot read it
    if entry.minor_version < 2:
        source, data = entry.data.get(CONF_SOURCE), entry.data
        forbidden = {f"{source}_{data.get(CONF_HOST)}", f"{source}_{data.get(CONF_POWER_ENTITY)}"}
        unique_id = None if entry.unique_id in forbidden else entry.unique_id
        hass.config_entries.async_update_entry(entry, unique_id=unique_id, minor_version=2)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EvSessionsConfigEntry) -> bool:
    """Set up one wallbox."""
    # Sources see the entry's data and, below it, its options (OCPP users).
    source = create_source(hass, {**entry.options, **entry.data})
    coordinator = EvSessionsCoordinator(hass, entry, source)
    await coordinator.async_load()
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    try:
        await source.async_start(coordinator.handle_reading)
    except SourceError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key=f"source_{err.reason}",
            translation_placeholders=err.placeholders(entry.title),
        ) from err
    # Run in reverse order on unload: stop the source, then write everything.
    entry.async_on_unload(coordinator.async_save_now)
    entry.async_on_unload(source.async_stop)
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await coordinator.async_start_pricing()
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_entry_updated(hass: HomeAssistant, entry: EvSessionsConfigEntry) -> None:
    """Set the wallbox up again on new data; apply new options in place.

    New data (a new address, login or power sensor, from a reconfigure, a reauth or a
    discovery) sets the entry up again: the flows leave that to this listener (see
    ``FlowBase._update_and_abort``). New options never drop the wallbox (an OCPP box's
    connection).
    """
    coordinator = entry.runtime_data
    if entry.data != coordinator.applied_data:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    if entry.options == coordinator.applied_options:
        return
    entity_set = coordinator.optional_entities()
    if Capability.USERS in coordinator.source.capabilities:
        cast(KnowsUsers, coordinator.source).set_users(entry.options)
    await coordinator.async_apply_options()
    if coordinator.optional_entities() != entity_set:
        # The load guard's or the step tariff's entities come or go: the entities are set up
        # again, the source and the sessions stay as they are.
        await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)


async def async_unload_entry(hass: HomeAssistant, entry: EvSessionsConfigEntry) -> bool:
    """Unload one wallbox (its sessions are written by the on-unload callbacks)."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: EvSessionsConfigEntry) -> None:
    """Delete the stored sessions and the repair issues of a removed wallbox."""
    for store in session_stores(hass, entry.entry_id):
        await store.async_remove()
    for key in (
        ISSUE_PRICE_SHAPE,
        ISSUE_FUSE_MISSING,
        ISSUE_FUSE_INCONSISTENT,
        ISSUE_STORAGE_WRITE,
        ISSUE_STORAGE_DAMAGED,
    ):
        ir.async_delete_issue(hass, DOMAIN, f"{key}_{entry.entry_id}")
