"""Property: one transaction's energy is meterStop - meterStart, whatever the timing.

The charge point's messages come in its own order (start, meter values, stop), with status
notifications anywhere between them, stamped by a clock that may run ahead or behind, and
arriving in bursts or minutes apart. The session gets exactly the transaction's energy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import MagicMock

from hypothesis import given, settings, strategies as st

from custom_components.ev_sessions.model.ocpp_meter import MeterSample
from custom_components.ev_sessions.model.reading import Reading
from custom_components.ev_sessions.model.tracker import SessionTracker, TrackerConfig
from custom_components.ev_sessions.sources.ocpp.charge_point import ChargePoint

T0 = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)
OCPP = TrackerConfig(uses_connection=True, has_register=True, plausible_power_w=50_000.0)


@settings(max_examples=300, deadline=None)
@given(
    meter_start_wh=st.integers(0, 10_000_000),
    steps_wh=st.lists(st.integers(0, 20_000), min_size=1, max_size=8),
    tail_wh=st.integers(0, 5_000),
    gaps_s=st.lists(st.floats(0, 1_800), min_size=12, max_size=12),
    skew_s=st.floats(-7_200, 7_200),
    statuses=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_a_transaction_s_energy_whatever_the_timing(
    meter_start_wh: int,
    steps_wh: list[int],
    tail_wh: int,
    gaps_s: list[float],
    skew_s: float,
    statuses: list[bool],
) -> None:
    tracker = SessionTracker(OCPP)
    charge_point = ChargePoint(MagicMock(), "cp")

    def push(reading: Reading) -> None:
        tracker.update(reading)

    charge_point.push = push
    arrival = T0
    box_time = T0 + timedelta(seconds=skew_s)
    gap = iter(gaps_s)

    def next_times() -> datetime:
        """When the next message arrives, and the time it carries (clamped as parse_time does)."""
        nonlocal arrival, box_time
        step = timedelta(seconds=next(gap))
        arrival += step
        box_time += step
        return min(box_time, arrival)

    def maybe_status(index: int, status: str) -> None:
        if statuses[index]:
            charge_point.on_status(1, status, None, min(box_time, arrival))

    maybe_status(0, "Preparing")
    charge_point.follows(1, transaction=True)
    transaction = charge_point.start_transaction("1", 1, "TAG", next_times())
    charge_point.apply_start(transaction, meter_start_wh / 1000)
    maybe_status(1, "Charging")
    register = meter_start_wh
    for index, step in enumerate(steps_wh):
        register += step
        charge_point.apply_samples(
            [MeterSample(time=next_times(), register_kwh=register / 1000, power_w=7_000.0)], "1"
        )
        maybe_status(2 + index, "Charging")
    meter_stop_wh = register + tail_wh
    charge_point.apply_stop("1", next_times(), meter_stop_wh / 1000, [], "EVDisconnected")
    maybe_status(11, "Available")
    tracker.update(Reading(time=max(arrival, box_time) + timedelta(minutes=5), connected=False))
    ended = tracker.last_ended
    assert ended is not None
    assert tracker.active is None
    expected = (meter_stop_wh - meter_start_wh) / 1000
    assert abs(ended.energy_kwh - expected) <= 0.011  # register noise below 10 Wh is ignored
