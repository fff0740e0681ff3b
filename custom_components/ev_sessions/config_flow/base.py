"""What every step of the config flow shares: claiming the unique id, finishing, confirming."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.data_entry_flow import AbortFlow


class FlowBase(ConfigFlow):
    """The config flow's shared state and helpers (the steps are mixed in by source kind)."""

    def __init__(self) -> None:
        """Start empty."""
        self._data: dict[str, Any] = {}
        self._title = ""

    def _current(self) -> Mapping[str, Any]:
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_entry().data
        return self._data  # what discovery found, or nothing

    async def _claim(self, unique_id: str | None, match: Mapping[str, Any] | None = None) -> None:
        """Take the unique id; abort if another entry has it.

        Without one (the wallbox tells nothing that identifies it; Home Assistant forbids
        addresses and entity ids as unique ids) the entry has none, and ``match`` (its host
        or power sensor) keeps it from being added twice.
        """
        if unique_id is None:
            reconfigured = (
                self._get_reconfigure_entry().entry_id
                if self.source == SOURCE_RECONFIGURE
                else None
            )
            for entry in self._async_current_entries(include_ignore=False):
                if entry.entry_id != reconfigured and all(
                    entry.data.get(key) == value for key, value in (match or {}).items()
                ):
                    raise AbortFlow("already_configured")
            return
        existing = await self.async_set_unique_id(unique_id)
        if existing is not None and (
            self.source != SOURCE_RECONFIGURE
            or existing.entry_id != self._get_reconfigure_entry().entry_id
        ):
            raise AbortFlow("already_configured")

    def _finish(
        self, description: str | None = None, placeholders: dict[str, str] | None = None
    ) -> ConfigFlowResult:
        if self.source == SOURCE_RECONFIGURE:
            return self._update_and_abort(
                self._get_reconfigure_entry(),
                "reconfigure_successful",
                unique_id=self.unique_id,
                data=self._data,
            )
        return self.async_create_entry(
            title=self._title,
            data=self._data,
            description=description,
            description_placeholders=placeholders,
        )

    def _update_and_abort(
        self, entry: ConfigEntry, reason: str, **changes: Any
    ) -> ConfigFlowResult:
        """Store an entry's new data; the wallbox is then set up again with it.

        A loaded entry has an update listener, which sets it up again when its data changed
        (and applies new options in place): Home Assistant refuses, from 2026.12, a flow's own
        reload of such an entry (it would be set up twice). An entry whose set-up failed has
        no listener: the flow reloads it.
        """
        if entry.update_listeners:
            self.hass.config_entries.async_update_entry(entry, **changes)
            return self.async_abort(reason=reason)
        return self.async_update_reload_and_abort(entry, reason=reason, **changes)

    def _confirm(
        self, step_id: str, user_input: dict[str, Any] | None, **placeholders: str
    ) -> ConfigFlowResult:
        """Create the discovered entry once the user confirms it."""
        if user_input is not None:
            return self._finish()
        self._set_confirm_only()
        return self.async_show_form(
            step_id=step_id, description_placeholders={"name": self._title, **placeholders}
        )
