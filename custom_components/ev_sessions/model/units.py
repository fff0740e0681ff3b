"""Unit conversion for power and energy readings."""

from __future__ import annotations

import math

_POWER_TO_W: dict[str, float] = {"W": 1.0, "kW": 1_000.0, "MW": 1_000_000.0}
_ENERGY_TO_KWH: dict[str, float] = {"Wh": 0.001, "kWh": 1.0, "MWh": 1_000.0}

POWER_UNITS = frozenset(_POWER_TO_W)
ENERGY_UNITS = frozenset(_ENERGY_TO_KWH)


def parse_number(value: object) -> float | None:
    """Return a finite float from a state value, or None when it is no number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def power_to_w(value: object, unit: str | None) -> float | None:
    """Convert a power value in W, kW or MW to W; None for unknown units or values."""
    number = parse_number(value)
    factor = _POWER_TO_W.get(unit or "")
    if number is None or factor is None:
        return None
    return number * factor


def energy_to_kwh(value: object, unit: str | None) -> float | None:
    """Convert an energy value in Wh, kWh or MWh to kWh; None for unknown units or values."""
    number = parse_number(value)
    factor = _ENERGY_TO_KWH.get(unit or "")
    if number is None or factor is None:
        return None
    return number * factor
