"""What kind of charging a session was: power class, planned or not, top-up or full."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .session import Session

ONE_PHASE_MAX_W = 7_400.0  # 1 x 32 A x 230 V
THREE_PHASE_MAX_W = 11_500.0  # 3 x 16 A x 230 V (+ a little)

POWER_CLASSES = ("one_phase", "three_phase", "above_11kw")
FILLS = ("top_up", "full")


def power_class(session: Session) -> str | None:
    """1-phase slow, 3-phase, or above 11 kW, from the phases used and the peak power."""
    if session.peak_power_w <= 0:
        return None
    if session.peak_power_w > THREE_PHASE_MAX_W:
        return "above_11kw"
    # Without phase data, up to 7.4 kW could be 1-phase 32 A or 3-phase at low current;
    # the power alone cannot tell, and 1-phase is the common case at home.
    if session.phases == 1 or (session.phases is None and session.peak_power_w <= ONE_PHASE_MAX_W):
        return "one_phase"
    return "three_phase"


def fill(session: Session) -> str | None:
    """Full when the battery ended at 95 % or more or the target was met; else a top-up."""
    if session.energy_kwh <= 0:
        return None
    if session.soc_end is not None:
        return "full" if session.soc_end >= 95 else "top_up"
    if session.target_energy_kwh:
        return "full" if session.energy_kwh >= 0.95 * session.target_energy_kwh else "top_up"
    return None


def most_common(values: Iterable[str | None]) -> str | None:
    """The most frequent known value (ties: the one seen first)."""
    counts = Counter(value for value in values if value is not None)
    return counts.most_common(1)[0][0] if counts else None
