"""Load guard, delivery monitor and charging types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ev_sessions.model.classify import fill, most_common, power_class
from custom_components.ev_sessions.model.load_guard import (
    CarDraw,
    DeliveryMonitor,
    GuardConfig,
    LoadGuard,
    phase_loads,
)
from custom_components.ev_sessions.model.session import Session

T0 = datetime(2026, 1, 20, 17, 0, tzinfo=UTC)
FUSE_20 = GuardConfig(fuse_a=20, margin_a=1, max_current_a=16)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_rising_load_lowers_the_limit_within_one_update() -> None:
    guard = LoadGuard(FUSE_20)
    # Charger at 16 A, others 2 A on each phase: 18 A, room for 17 -> the 16 A max stays.
    decision = guard.update(at(0), [18, 18, 18], 16)
    assert decision.limit_a == 16
    assert not decision.changed
    # The oven comes on L2: 16 + 10 = 26 A there. Others 10 A -> room 20 - 1 - 10 = 9 A.
    decision = guard.update(at(1), [18, 26, 18], 16)
    assert decision.limit_a == 9
    assert decision.changed
    assert decision.overload  # 26 A > 20 A right now
    assert decision.available_w == pytest.approx(9 * 230 * 3)


def test_hysteresis_raises_slowly_and_in_steps() -> None:
    guard = LoadGuard(FUSE_20)
    guard.update(at(0), [18, 26, 18], 16)
    assert guard.limit_a == 9
    # The oven goes off: room for 16 again, but the guard waits a minute, then steps by 2 A.
    assert guard.update(at(10), [11, 11, 11], 9).limit_a == 9
    assert guard.update(at(69), [11, 11, 11], 9).limit_a == 9
    decision = guard.update(at(70), [11, 11, 11], 9)
    assert (decision.limit_a, decision.changed) == (11, True)
    assert guard.update(at(100), [13, 13, 13], 11).limit_a == 11
    assert guard.update(at(131), [13, 13, 13], 11).limit_a == 13
    # A brief spike in between restarts the wait.
    guard.update(at(150), [15, 15, 15], 13)
    guard.update(at(160), [15, 18.5, 15], 13)  # others 5.5 A on L2: room 13.5
    assert guard.update(at(200), [15, 15, 15], 13).limit_a == 13
    assert guard.update(at(261), [15, 15, 15], 13).limit_a == 15


def test_pause_below_six_amps_and_resume() -> None:
    guard = LoadGuard(FUSE_20)
    # Others draw 15 A on L1: room 4 A, below the car's minimum: pause.
    decision = guard.update(at(0), [31, 16, 16], 16)
    assert decision.limit_a == 0
    assert decision.available_w == 0
    # Load falls to 12 A: room 7 A; after a minute charging resumes at 6 A.
    assert guard.update(at(10), [12, 0, 0], 0).limit_a == 0
    assert guard.update(at(71), [12, 0, 0], 0).limit_a == 6
    assert guard.update(at(140), [18, 6, 6], 6).limit_a == 6  # room 7: not enough for 8


def test_single_phase_charger_only_watches_its_phase() -> None:
    guard = LoadGuard(GuardConfig(fuse_a=16, charger_phases=1, margin_a=0, max_current_a=16))
    # L1 carries the charger's 10 A and 6 A of other load: room for 10 A. L2 and L3 at
    # 15 A do not matter to a charger on L1 alone.
    decision = guard.update(at(0), [16, 15, 15], 10)
    assert decision.limit_a == 10
    assert decision.available_w == pytest.approx(10 * 230)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.floats(min_value=0, max_value=40), min_size=3, max_size=3),
            st.integers(min_value=1, max_value=120),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_limit_never_exceeds_fuse_minus_margin_on_any_phase(
    steps: list[tuple[list[float], int]],
) -> None:
    config = GuardConfig(fuse_a=25, margin_a=2, max_current_a=32)
    guard = LoadGuard(config)
    time = T0
    charger = guard.limit_a
    for others, seconds in steps:
        time += timedelta(seconds=seconds)
        house = [other + charger for other in others]
        limit = guard.update(time, house, charger).limit_a
        assert limit == 0 or limit >= 6
        for other in others:
            assert other + limit <= config.fuse_a - config.margin_a + 1e-9 or limit == 0
        charger = limit


def test_phase_loads_from_currents_or_power() -> None:
    assert phase_loads([5.0, 6.0, 7.0], None, 3) == [5.0, 6.0, 7.0]
    assert phase_loads([5.0, None, 7.0], 6900, 3) == pytest.approx([10.0, 10.0, 10.0])
    assert phase_loads(None, None, 3) is None


def test_guard_state_survives_a_restart() -> None:
    guard = LoadGuard(FUSE_20)
    guard.update(at(0), [18, 26, 18], 16)
    again = LoadGuard(FUSE_20)
    again.restore(guard.as_dict())
    assert again.limit_a == 9


def test_under_delivery_needs_minutes_and_names_a_reason() -> None:
    monitor = DeliveryMonitor()
    kwargs = {"charging": True, "expected_w": 11040.0, "charger_phases": 3}
    assert not monitor.update(at(0), power_w=3680, phases_used=1, soc=40, **kwargs).under_delivering
    check = monitor.update(at(301), power_w=3680, phases_used=1, soc=40, **kwargs)
    assert (check.under_delivering, check.reason) == (True, "fewer_phases")
    check = monitor.update(at(302), power_w=5000, phases_used=3, soc=85, **kwargs)
    assert check.reason == "battery_nearly_full"
    check = monitor.update(at(303), power_w=5000, phases_used=3, soc=50, **kwargs)
    assert check.reason == "car_or_cable_limit"
    # Back to full power clears it at once.
    assert not monitor.update(
        at(304), power_w=11000, phases_used=3, soc=50, **kwargs
    ).under_delivering
    assert not monitor.update(
        at(305), power_w=None, phases_used=3, soc=50, **kwargs
    ).under_delivering


def _session(peak: float, phases: int | None, kwh: float, soc_end: float | None = None) -> Session:
    session = Session(
        id="s", start=T0, end=at(3600), peak_power_w=peak, phases=phases, soc_end=soc_end
    )
    session.energy_kwh = kwh
    return session


def test_charging_types() -> None:
    assert power_class(_session(3680, 1, 5)) == "one_phase"
    assert power_class(_session(7000, None, 5)) == "one_phase"
    assert power_class(_session(11000, 3, 5)) == "three_phase"
    assert power_class(_session(22000, 3, 5)) == "above_11kw"
    assert power_class(_session(0, None, 0)) is None
    assert fill(_session(11000, 3, 30, soc_end=100)) == "full"
    assert fill(_session(11000, 3, 5, soc_end=60)) == "top_up"
    target = _session(11000, 3, 19.5)
    target.target_energy_kwh = 20
    assert fill(target) == "full"
    assert fill(_session(11000, 3, 5)) is None
    assert fill(_session(0, None, 0)) is None
    assert most_common(["three_phase", None, "one_phase", "three_phase"]) == "three_phase"
    assert most_common([None]) is None


FUSE_20_32 = GuardConfig(fuse_a=20, margin_a=1, max_current_a=32)


def test_a_one_phase_car_measured_per_phase_is_not_spread_over_three() -> None:
    """go-e reports the car's current per phase: 16 A on L1, the house 3 A more there."""
    guard = LoadGuard(FUSE_20_32)
    car = CarDraw(per_phase_a=(16.0, 0.0, 0.0))
    assert guard.room_a([19, 2, 2], car) == pytest.approx(16)  # 20 - 1 - 3
    # Spread over three phases (what the guard did) the room was 19 - 13.67 = 5.33: a pause.
    assert guard.room_a([19, 2, 2], CarDraw(per_phase_a=(16 / 3,) * 3)) < 6


def test_a_one_phase_car_at_fuse_minus_margin_keeps_charging_without_phase_data() -> None:
    """The entities source: only the car's power is known; 16 A on one phase fits."""
    guard = LoadGuard(FUSE_20)
    guard.limit_a = 16
    decision = guard.update_car(at(0), [19, 3, 3], CarDraw(total_a=16.0))
    assert decision.limit_a == 16
    assert not decision.changed
    # Known to charge on one phase: the same.
    assert guard.room_a([19, 3, 3], CarDraw(total_a=16.0, phases=1)) == pytest.approx(16)


def test_an_ambiguous_draw_is_judged_by_the_worst_plausible_case() -> None:
    """20/10/10 A with the car at 16 A: on L1 alone (room 15) or on all three (room 4.3)."""
    guard = LoadGuard(FUSE_20_32)
    assert guard.room_a([20, 10, 10], CarDraw(total_a=16.0)) == pytest.approx(19 - (20 - 16 / 3))
    # Meters out of step with the car (no phase carries it): the car counts as other load.
    assert guard.room_a([4, 4, 4], CarDraw(total_a=16.0, phases=1)) == pytest.approx(15)


@settings(max_examples=400, deadline=None)
@given(
    other=st.lists(st.floats(0, 25), min_size=3, max_size=3),
    current=st.floats(0, 32),
    phase=st.integers(0, 2),
    three=st.booleans(),
    known=st.booleans(),
)
def test_the_room_never_lets_a_phase_exceed_fuse_minus_margin(
    other: list[float], current: float, phase: int, three: bool, known: bool
) -> None:
    """Whatever the car really does, drawing the room on its phases stays under the cap."""
    guard = LoadGuard(FUSE_20_32)
    used = [0, 1, 2] if three else [phase]
    house = [other[i] + (current if i in used else 0.0) for i in range(3)]
    car = CarDraw(total_a=current * len(used), phases=len(used) if known else None)
    room = guard.room_a(house, car)
    for i in used:
        assert other[i] + room <= 19 + 1e-9
