"""Property tests: what must hold for any stream of readings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import itertools

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ev_sessions.model.reading import Reading
from custom_components.ev_sessions.model.session import Session
from custom_components.ev_sessions.model.tracker import (
    SessionCorrected,
    SessionEnded,
    SessionTracker,
    TrackerConfig,
)

T0 = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)
MAX_POWER_W = 22_000.0
MAX_STEP_S = 900
MAX_STEP_KWH = MAX_POWER_W / 1000 * MAX_STEP_S / 3600


@dataclass(frozen=True)
class Step:
    """One reading of a generated physical process."""

    seconds: int
    power_w: float
    connected: bool
    unavailable: bool
    glitch: bool
    reset: bool


steps = st.lists(
    st.builds(
        Step,
        seconds=st.integers(min_value=1, max_value=MAX_STEP_S),
        power_w=st.one_of(st.just(0.0), st.floats(min_value=0, max_value=MAX_POWER_W)),
        connected=st.booleans(),
        unavailable=st.booleans(),
        glitch=st.booleans(),
        reset=st.booleans(),
    ),
    min_size=1,
    max_size=60,
)


def make_readings(
    plan: list[Step], *, with_glitches: bool, with_resets: bool, start_register: float = 500.0
) -> tuple[list[Reading], float]:
    """Readings from a car drawing each step's power until the next step.

    Returns the readings and the true energy delivered while plugged in.
    """
    readings: list[Reading] = []
    time = T0
    energy = start_register
    offset = 0.0
    power = 0.0
    connected = False
    true_kwh = 0.0
    for step in plan:
        if with_resets and step.reset and energy - offset > MAX_STEP_KWH:
            # The charger reboots just after its last report; its register restarts at 0.
            # (Only a register that falls can show a reset: one that has counted less
            # than a step can add would look like ordinary progress to anyone.)
            offset = energy
        kwh = power / 1000 * step.seconds / 3600
        energy += kwh
        if connected:
            true_kwh += kwh
        time += timedelta(seconds=step.seconds)
        power = step.power_w if step.connected else 0.0
        connected = step.connected
        register = energy - offset
        # A zero glitch as the very first reading cannot be told from a real zero:
        # glitches are injected once the tracker has seen the register.
        if with_glitches and step.glitch and readings:
            readings.append(Reading(time=time, power_w=power, energy_kwh=0.0, connected=connected))
            time += timedelta(seconds=1)
        if with_glitches and step.unavailable:
            readings.append(Reading(time=time, power_w=None, energy_kwh=None, connected=None))
            time += timedelta(seconds=1)
        readings.append(
            Reading(time=time, power_w=power, energy_kwh=round(register, 6), connected=connected)
        )
    return readings, true_kwh


def run(config: TrackerConfig, readings: list[Reading]) -> tuple[SessionTracker, list[float]]:
    """Feed all readings; return the tracker and the final energy of each ended session."""
    tracker = SessionTracker(config)
    ended: list[Session] = []
    for reading in readings:
        for event in tracker.update(reading):
            if isinstance(event, SessionEnded):
                ended.append(event.session)
    return tracker, [session.energy_kwh for session in ended]


def total(tracker: SessionTracker, energies: list[float]) -> float:
    return sum(energies) + (tracker.active.energy_kwh if tracker.active else 0.0)


REGISTER = TrackerConfig(uses_connection=True, has_register=True, plausible_power_w=MAX_POWER_W)
POWER = TrackerConfig(uses_connection=False, has_register=False, max_hold=timedelta(hours=1))


@settings(max_examples=150, deadline=None)
@given(steps)
def test_energy_is_never_negative_nor_more_than_max_power_times_time(plan: list[Step]) -> None:
    for config in (REGISTER, POWER):
        readings, _ = make_readings(plan, with_glitches=True, with_resets=True)
        tracker, energies = run(config, readings)
        assert all(e >= 0 for e in energies)
        elapsed_h = (readings[-1].time - readings[0].time).total_seconds() / 3600
        assert total(tracker, energies) <= MAX_POWER_W / 1000 * elapsed_h + 1e-6


@settings(max_examples=150, deadline=None)
@given(steps)
def test_glitches_and_resets_lose_and_add_nothing(plan: list[Step]) -> None:
    clean, true_kwh = make_readings(plan, with_glitches=False, with_resets=False)
    tracker, energies = run(REGISTER, clean)
    assert abs(total(tracker, energies) - true_kwh) < 1e-4
    for glitches, resets in ((True, False), (False, True), (True, True)):
        dirty, _ = make_readings(plan, with_glitches=glitches, with_resets=resets)
        tracker_d, energies_d = run(REGISTER, dirty)
        assert abs(total(tracker_d, energies_d) - true_kwh) < 1e-4


@settings(max_examples=100, deadline=None)
@given(steps, st.lists(st.integers(min_value=0, max_value=200), max_size=8))
def test_any_batching_with_save_and_restore_gives_the_same_sessions(
    plan: list[Step], cuts: list[int]
) -> None:
    readings, _ = make_readings(plan, with_glitches=True, with_resets=True)
    for config in (REGISTER, POWER):
        whole, whole_energies = run(config, readings)
        tracker = SessionTracker(config)
        ended: dict[str, float] = {}
        bounds = sorted({min(c, len(readings)) for c in cuts} | {0, len(readings)})
        for low, high in itertools.pairwise(bounds):
            tracker = SessionTracker.from_dict(config, tracker.as_dict())
            for reading in readings[low:high]:
                for event in tracker.update(reading):
                    if isinstance(event, (SessionEnded, SessionCorrected)):
                        # Sessions restored from a dict are new objects: keep the last word.
                        ended[event.session.id] = event.session.energy_kwh
        assert list(ended.values()) == whole_energies
        assert tracker.as_dict() == whole.as_dict()


@dataclass(frozen=True)
class Event:
    """Something that happens while a car charges: a reading, or trouble."""

    kind: str  # read, unavailable, restart, crash, clock_back
    seconds: int
    power_w: float


events = st.lists(
    st.builds(
        Event,
        kind=st.sampled_from(
            ["read", "read", "read", "unavailable", "restart", "crash", "clock_back"]
        ),
        seconds=st.integers(1, 600),
        power_w=st.floats(0, MAX_POWER_W),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(events=events, clock_back_min=st.integers(1, 120))
def test_no_kwh_lost_to_restarts_crashes_clock_jumps_or_unavailability(
    events: list[Event], clock_back_min: int
) -> None:
    """A register wallbox: whatever happens between plug-in and unplug, the session gets the
    register's whole increase (a crash restores the last save: at plug-in and every 30 s)."""
    config = TrackerConfig(uses_connection=True, has_register=True)
    tracker = SessionTracker(config)
    raw = T0
    register = 1000.0
    tracker.update(Reading(time=raw, power_w=0.0, energy_kwh=register, connected=True))
    saved, saved_at = tracker.as_dict(), raw
    for event in events:
        raw += timedelta(seconds=event.seconds)
        register += event.power_w / 1000 * event.seconds / 3600
        if event.kind == "restart":  # a clean shutdown writes everything
            tracker = SessionTracker.from_dict(config, tracker.as_dict())
        elif event.kind == "crash":
            tracker = SessionTracker.from_dict(config, saved)
        elif event.kind == "clock_back":
            # Set back further than the time since the last reading (a jump back of less
            # than that is only a short interval, and judged as one).
            raw -= timedelta(seconds=event.seconds, minutes=clock_back_min)
        energy = None if event.kind == "unavailable" else register
        tracker.update(Reading(time=raw, power_w=event.power_w, energy_kwh=energy, connected=True))
        if raw - saved_at >= timedelta(seconds=30) or raw < saved_at:
            saved, saved_at = tracker.as_dict(), raw
    raw += timedelta(seconds=5)
    tracker.update(Reading(time=raw, power_w=0.0, energy_kwh=register, connected=False))
    session = tracker.last_ended
    assert session is not None
    assert tracker.active is None
    assert session.energy_kwh == pytest.approx(register - 1000.0, abs=0.02)
