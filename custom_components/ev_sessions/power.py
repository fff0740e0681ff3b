"""The load guard: the household's load per phase, the charger's current, fuse repairs.

Also watches delivery: whether the car gets the power the wallbox offers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import (
    CONF_HOUSE_CURRENT_ENTITIES,
    CONF_HOUSE_POWER_ENTITY,
    CONF_MAIN_FUSE_A,
    CONF_PHASES,
    CONF_SAFETY_MARGIN_A,
    DEFAULT_SAFETY_MARGIN_A,
    DOMAIN,
    ISSUE_FUSE_INCONSISTENT,
    ISSUE_FUSE_MISSING,
)
from .model.load_guard import (
    MIN_CURRENT_A,
    VOLTAGE,
    CarDraw,
    DeliveryCheck,
    DeliveryMonitor,
    GuardConfig,
    GuardDecision,
    LoadGuard,
    phase_loads,
)
from .model.reading import Reading
from .model.tracker import SessionTracker
from .model.units import parse_number, power_to_w
from .sources.base import Capability, Source

MAX_CURRENT_A = 32.0

type Send = Callable[[str, Coroutine[Any, Any, None]], None]


class PowerGuard:
    """Keeps the house connection under its fuse by setting the charger's current."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry[Any], source: Source, send: Send
    ) -> None:
        """A guard when the main fuse is set; the delivery monitor always."""
        self._hass = hass
        self._entry = entry
        self._source = source
        self._send = send
        self.guard = self._make_guard()
        self.monitor = DeliveryMonitor()
        self.decision: GuardDecision | None = None
        self.delivery = DeliveryCheck(False, None, 0.0)
        self._last_reading: Reading | None = None

    def restore(self, state: dict[str, Any]) -> None:
        """Take back the guard's saved limit."""
        if self.guard is not None:
            self.guard.restore(state.get("guard", {}))

    def state(self) -> dict[str, Any]:
        """What to keep across restarts."""
        return {"guard": {} if self.guard is None else self.guard.as_dict()}

    @property
    def charger_phases(self) -> int:
        """Phases the wallbox charges on: the source's, else the household's."""
        return self._source.charger_phases or int(self._entry.options.get(CONF_PHASES, 3))

    @property
    def paused(self) -> bool:
        """Whether the guard wants charging paused (no room for the minimum current)."""
        return (
            self.guard is not None
            and self.decision is not None
            and self.guard.limit_a < MIN_CURRENT_A
        )

    @property
    def resume_limit_a(self) -> float:
        """The current to resume charging with."""
        return self.guard.limit_a if self.guard is not None else MAX_CURRENT_A

    def apply_options(self) -> None:
        """New house-connection settings: a new guard that keeps the limit it had set."""
        old = self.guard
        self.guard = self._make_guard()
        if old is not None and self.guard is not None:
            self.guard.restore(old.as_dict())
        if self.guard is None:
            self.decision = None
        self.check_power_settings()

    def _make_guard(self) -> LoadGuard | None:
        options = self._entry.options
        if not options.get(CONF_MAIN_FUSE_A):
            return None
        house_phases = int(options.get(CONF_PHASES, 3))
        return LoadGuard(
            GuardConfig(
                fuse_a=float(options[CONF_MAIN_FUSE_A]),
                house_phases=house_phases,
                charger_phases=min(self.charger_phases, house_phases),
                margin_a=float(options.get(CONF_SAFETY_MARGIN_A, DEFAULT_SAFETY_MARGIN_A)),
                max_current_a=self._max_current_a(min(self.charger_phases, house_phases)),
            )
        )

    def _max_current_a(self, charger_phases: int) -> float:
        """The charger's maximum current per phase (32 A until the charger tells)."""
        if self._source.max_power_w:
            return min(MAX_CURRENT_A, self._source.max_power_w / VOLTAGE / charger_phases)
        return MAX_CURRENT_A

    def house_power_w(self) -> float | None:
        """The household power sensor's value in W (None: none, unknown or nonsense)."""
        entity_id = self._entry.options.get(CONF_HOUSE_POWER_ENTITY)
        state = self._hass.states.get(entity_id) if entity_id else None
        if state is None:
            return None
        return power_to_w(state.state, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))

    def base_load_kw(self, tracker: SessionTracker) -> float:
        """The household's own load now, without the car (0 without a household meter)."""
        house = self.house_power_w()
        if house is None:
            return 0.0
        car = (tracker.power_w or 0.0) if tracker.charging else 0.0
        return max(0.0, house - car) / 1000

    def _house_loads(self) -> list[float] | None:
        options = self._entry.options
        currents: list[float | None] = []
        for entity_id in options.get(CONF_HOUSE_CURRENT_ENTITIES) or []:
            state = self._hass.states.get(entity_id)
            currents.append(None if state is None else parse_number(state.state))
        return phase_loads(currents or None, self.house_power_w(), int(options.get(CONF_PHASES, 3)))

    def _car_draw(self, tracker: SessionTracker) -> CarDraw:
        """How the car draws now: measured per phase, else its power and phase count."""
        if not tracker.charging:
            return CarDraw(per_phase_a=())
        total = (tracker.power_w or 0.0) / VOLTAGE
        reading = self._last_reading
        if reading is not None and reading.currents_a is not None:
            return CarDraw(per_phase_a=reading.currents_a)
        if self.guard is not None and self.guard.config.charger_phases == 1:
            return CarDraw(per_phase_a=(total,))  # a one-phase charger is on L1
        active = tracker.active
        phases = (reading.phases if reading is not None else None) or (
            active.phases if active is not None else None
        )
        return CarDraw(total_a=total, phases=phases)

    def step(self, now: datetime, tracker: SessionTracker, reading: Reading | None = None) -> None:
        """Let the guard decide the charger current from the household's load."""
        if reading is not None:
            self._last_reading = reading
        if self.guard is None or (loads := self._house_loads()) is None:
            return
        # Polled chargers tell their maximum only once read: follow it.
        max_current = self._max_current_a(self.guard.config.charger_phases)
        if max_current != self.guard.config.max_current_a:
            self.guard.config = replace(self.guard.config, max_current_a=max_current)
            self.guard.limit_a = min(self.guard.limit_a, max_current)
        decision = self.guard.update_car(now, loads, self._car_draw(tracker))
        self.decision = decision
        if (
            decision.changed
            and decision.limit_a >= MIN_CURRENT_A
            and Capability.CURRENT_LIMIT in self._source.capabilities
        ):
            # Pausing and resuming is up to the charging control.
            self._send(
                "set the current limit", self._source.async_set_current_limit(decision.limit_a)
            )
        if any(load > 1.5 * self.guard.config.fuse_a for load in loads):
            self._fuse_issue(
                ISSUE_FUSE_INCONSISTENT,
                {"measured": f"{max(loads):.0f}", "fuse": f"{self.guard.config.fuse_a:.0f}"},
            )

    def check_delivery(self, reading: Reading, tracker: SessionTracker) -> None:
        """Whether the car takes what the wallbox offers."""
        limit = self.guard.limit_a if self.guard is not None else self._source.offered_current_a()
        expected = 0.0 if limit is None else limit * VOLTAGE * self.charger_phases
        if self._source.max_power_w:
            expected = min(expected, self._source.max_power_w)
        self.delivery = self.monitor.update(
            reading.time,
            charging=tracker.charging,
            power_w=tracker.power_w,
            expected_w=expected,
            phases_used=reading.phases,
            charger_phases=self.charger_phases,
            soc=tracker.soc,
        )

    def _fuse_issue(self, key: str, placeholders: dict[str, str]) -> None:
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            f"{key}_{self._entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=key,
            translation_placeholders={"title": self._entry.title, **placeholders},
        )

    def check_power_settings(self) -> None:
        """Raise or clear repair issues for missing or inconsistent fuse settings."""
        options = self._entry.options
        for key in (ISSUE_FUSE_MISSING, ISSUE_FUSE_INCONSISTENT):
            ir.async_delete_issue(self._hass, DOMAIN, f"{key}_{self._entry.entry_id}")
        currents = options.get(CONF_HOUSE_CURRENT_ENTITIES) or []
        if currents and not options.get(CONF_MAIN_FUSE_A):
            self._fuse_issue(ISSUE_FUSE_MISSING, {})
