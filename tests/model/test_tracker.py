"""SessionTracker: session detection and energy metering, scenario by scenario."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.ev_sessions.model.reading import Reading
from custom_components.ev_sessions.model.session import Session, spread_evenly
from custom_components.ev_sessions.model.tracker import (
    SessionCorrected,
    SessionEnded,
    SessionStarted,
    SessionTracker,
    TrackerConfig,
    TrackerEvent,
)

T0 = datetime(2026, 1, 10, 18, 0, tzinfo=UTC)
CONN_REG = TrackerConfig(uses_connection=True, has_register=True)
CONN_POWER = TrackerConfig(uses_connection=True, has_register=False)
POWER_ONLY = TrackerConfig(uses_connection=False, has_register=False, max_hold=timedelta(hours=1))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def feed(tracker: SessionTracker, readings: list[Reading]) -> list[TrackerEvent]:
    events: list[TrackerEvent] = []
    for reading in readings:
        events.extend(tracker.update(reading))
    return events


def ended(events: list[TrackerEvent]) -> list[Session]:
    return [e.session for e in events if isinstance(e, SessionEnded)]


def test_the_reading_that_ends_a_session_belongs_to_it() -> None:
    """One reading with the unplug, the last register and the car's last SoC: all count."""
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=100.0, connected=True, soc=40),
            Reading(time=at(60), power_w=0, energy_kwh=107.0, connected=False, soc=52, phases=3),
        ],
    )
    (session,) = ended(events)
    assert session.energy_kwh == pytest.approx(7.0)
    assert (session.soc_start, session.soc_end, session.phases) == (40, 52, 3)


def test_plug_in_to_unplug_with_register() -> None:
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=0, energy_kwh=100.0, connected=False),
            Reading(time=at(5), power_w=0, energy_kwh=100.0, connected=True),
            Reading(time=at(10), power_w=11000, energy_kwh=100.0, connected=True),
            Reading(time=at(70), power_w=11000, energy_kwh=111.0, connected=True),
            Reading(time=at(130), power_w=0, energy_kwh=122.0, connected=True),
            Reading(time=at(200), power_w=0, energy_kwh=122.0, connected=False),
        ],
    )
    assert [type(e) for e in events] == [SessionStarted, SessionEnded]
    (session,) = ended(events)
    assert session.start == at(5)
    assert session.end == at(200)
    assert session.energy_kwh == pytest.approx(22.0)
    assert session.first_charge == at(10)
    assert session.last_charge == at(130)
    assert session.charging_s(at(200)) == 120 * 60
    assert session.idle_s(at(200)) == (195 - 120) * 60
    assert session.peak_power_w == 11000
    assert session.average_power_w(at(200)) == pytest.approx(11000)
    assert sum(session.intervals.values()) == pytest.approx(22.0)
    assert tracker.energy_total_kwh == pytest.approx(22.0)


def test_energy_is_spread_over_quarter_hours() -> None:
    session = Session(id="x", start=at(0))
    session.add_energy(spread_evenly(3.0, at(0), at(45)))
    assert list(session.intervals.values()) == pytest.approx([1.0, 1.0, 1.0])
    session.add_energy(spread_evenly(1.0, at(50), at(50)))
    assert session.intervals[int(at(45).timestamp())] == pytest.approx(1.0)


def test_a_register_step_is_spread_like_the_power_measured_since_it_moved() -> None:
    """A register read once an hour: its step lands where the power was drawn."""
    tracker = SessionTracker(CONN_REG)
    feed(
        tracker,
        [
            Reading(time=at(0), power_w=0, energy_kwh=100.0, connected=True),
            Reading(time=at(30), power_w=8000, energy_kwh=100.0, connected=True),
            Reading(time=at(45), power_w=8000, energy_kwh=100.0, connected=True),
            Reading(time=at(60), power_w=0, energy_kwh=104.0, connected=True),
        ],
    )
    assert tracker.active is not None
    by_quarter = [
        tracker.active.intervals.get(int(at(m).timestamp()), 0.0) for m in (0, 15, 30, 45)
    ]
    assert by_quarter == pytest.approx([0.0, 0.0, 2.0, 2.0])


def test_register_glitch_to_zero_loses_and_adds_nothing() -> None:
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=532.0, connected=True),
            Reading(time=at(10), power_w=7000, energy_kwh=533.0, connected=True),
            Reading(time=at(11), power_w=7000, energy_kwh=0.0, connected=True),
            Reading(time=at(20), power_w=7000, energy_kwh=534.0, connected=True),
            Reading(time=at(30), power_w=0, energy_kwh=535.0, connected=False),
        ],
    )
    (session,) = ended(events)
    assert session.energy_kwh == pytest.approx(3.0)


def test_register_reset_on_charger_reboot_counts_from_zero() -> None:
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=5.0, connected=True),
            Reading(time=at(30), power_w=7000, energy_kwh=8.5, connected=True),
            Reading(time=at(31), power_w=0, energy_kwh=0.0, connected=True),
            Reading(time=at(41), power_w=7000, energy_kwh=1.0, connected=True),
            Reading(time=at(51), power_w=7000, energy_kwh=2.0, connected=True),
            Reading(time=at(52), power_w=0, energy_kwh=2.0, connected=False),
        ],
    )
    (session,) = ended(events)
    assert session.energy_kwh == pytest.approx(3.5 + 2.0)


def test_register_reset_to_a_small_value_counts_it() -> None:
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=5.0, connected=True),
            Reading(time=at(20), power_w=7000, energy_kwh=0.2, connected=True),
            Reading(time=at(30), power_w=7000, energy_kwh=1.3, connected=True),
            Reading(time=at(31), power_w=0, energy_kwh=1.3, connected=False),
        ],
    )
    assert ended(events)[0].energy_kwh == pytest.approx(1.3)


def test_spike_above_2_to_32_is_ignored() -> None:
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=1000.0, connected=True),
            Reading(time=at(10), power_w=7000, energy_kwh=4_296_944.685, connected=True),
            Reading(time=at(20), power_w=7000, energy_kwh=1002.0, connected=True),
            Reading(time=at(30), power_w=0, energy_kwh=1003.0, connected=False),
        ],
    )
    assert ended(events)[0].energy_kwh == pytest.approx(3.0)


def test_a_new_register_level_that_holds_becomes_the_base() -> None:
    """ABB Terra AC: session energy inside a transaction, lifetime outside it."""
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=2.0, connected=True),
            Reading(time=at(10), power_w=7000, energy_kwh=2500.0, connected=True),
            Reading(time=at(20), power_w=7000, energy_kwh=2501.0, connected=True),
            Reading(time=at(30), power_w=0, energy_kwh=2502.0, connected=False),
        ],
    )
    assert ended(events)[0].energy_kwh == pytest.approx(2.0)


def test_tiny_backwards_noise_is_ignored() -> None:
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=10.0, connected=True),
            Reading(time=at(10), power_w=7000, energy_kwh=11.0, connected=True),
            Reading(time=at(11), power_w=7000, energy_kwh=10.999, connected=True),
            Reading(time=at(20), power_w=0, energy_kwh=12.0, connected=False),
        ],
    )
    assert ended(events)[0].energy_kwh == pytest.approx(2.0)


def test_unavailable_register_then_back_counts_the_gap_once() -> None:
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=10.0, connected=True),
            Reading(time=at(10), power_w=None, energy_kwh=None, connected=None),
            Reading(time=at(60), power_w=7000, energy_kwh=17.0, connected=True),
            Reading(time=at(61), power_w=0, energy_kwh=17.0, connected=False),
        ],
    )
    (session,) = ended(events)
    assert session.energy_kwh == pytest.approx(7.0)


def test_late_register_update_after_unplug_is_added_to_the_session() -> None:
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=10.0, connected=True),
            Reading(time=at(60), power_w=0, energy_kwh=10.0, connected=False),
            Reading(time=at(61), power_w=0, energy_kwh=17.0, connected=False),
            Reading(time=at(70), power_w=0, energy_kwh=18.0, connected=False),
        ],
    )
    assert [type(e) for e in events] == [SessionStarted, SessionEnded, SessionCorrected]
    assert events[2].session.energy_kwh == pytest.approx(7.0)
    assert tracker.energy_total_kwh == pytest.approx(7.0)


def test_a_register_away_at_the_unplug_counts_for_that_session_however_late() -> None:
    """The energy entity was unavailable while the car left; it comes back 3 h later."""
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=10.0, connected=True),
            *(
                Reading(time=at(minute), power_w=7000, energy_kwh=None, connected=True)
                for minute in range(5, 60, 5)
            ),
            Reading(time=at(60), power_w=0, energy_kwh=None, connected=False),
            Reading(time=at(240), power_w=0, energy_kwh=17.0, connected=False),
            # Energy counted once the register had been seen after the unplug is not the car's.
            Reading(time=at(300), power_w=0, energy_kwh=17.5, connected=False),
        ],
    )
    assert [type(e) for e in events] == [SessionStarted, SessionEnded, SessionCorrected]
    session = events[2].session
    assert session.energy_kwh == pytest.approx(7.0)
    # Split as the power was measured: all of it while the car charged (18:00-19:00).
    assert session.energy_between(at(0), at(60)) == pytest.approx(7.0)
    assert session.energy_between(at(0), at(15)) == pytest.approx(1.75)


def test_a_late_register_without_power_is_kept_inside_the_session() -> None:
    """No power measured either: the late energy is spread over the session, not after it."""
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), energy_kwh=10.0, connected=True),
            Reading(time=at(60), energy_kwh=None, connected=False),
            Reading(time=at(240), energy_kwh=17.0, connected=False),
        ],
    )
    session = events[-1].session
    assert session.energy_between(at(0), at(60)) == pytest.approx(7.0)
    assert tracker.energy_total_kwh == pytest.approx(7.0)


def test_a_register_away_at_the_unplug_waits_for_no_new_session() -> None:
    """Once a new session has started, a late register counts for the new one only."""
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=10.0, connected=True),
            Reading(time=at(60), power_w=0, energy_kwh=None, connected=False),
            Reading(time=at(120), power_w=7000, energy_kwh=None, connected=True),
            Reading(time=at(180), power_w=0, energy_kwh=24.0, connected=False),
        ],
    )
    first, second = ended(events)
    assert (first.energy_kwh, second.energy_kwh) == (0.0, pytest.approx(14.0))


def test_power_integration_holds_the_last_value() -> None:
    tracker = SessionTracker(CONN_POWER)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=0, connected=True),
            Reading(time=at(1), power_w=7200, connected=True),
            Reading(time=at(11), power_w=3600, connected=True),
            Reading(time=at(21), power_w=0, connected=True),
            Reading(time=at(30), power_w=0, connected=False),
        ],
    )
    (session,) = ended(events)
    assert session.energy_method == "power"
    assert session.energy_kwh == pytest.approx(7.2 / 6 + 3.6 / 6)


def test_unavailable_power_mid_session_counts_nothing_and_keeps_the_session() -> None:
    tracker = SessionTracker(POWER_ONLY)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=6000),
            Reading(time=at(10), power_w=None),
            Reading(time=at(40), power_w=None),
            Reading(time=at(50), power_w=6000),
            Reading(time=at(60), power_w=0),
            Reading(time=at(75), power_w=0),
        ],
    )
    (session,) = ended(events)
    assert session.start == at(0)
    assert session.end == at(60)
    assert session.energy_kwh == pytest.approx(1.0 + 1.0)


def test_no_integration_across_a_long_gap() -> None:
    tracker = SessionTracker(CONN_POWER)
    feed(
        tracker,
        [
            Reading(time=at(0), power_w=6000, connected=True),
            Reading(time=at(120), power_w=6000, connected=True),
        ],
    )
    assert tracker.active is not None
    assert tracker.active.energy_kwh == 0


def test_power_only_grace_period_keeps_a_short_dip_in_one_session() -> None:
    tracker = SessionTracker(POWER_ONLY)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=50),
            Reading(time=at(1), power_w=7000),
            Reading(time=at(31), power_w=0),
            Reading(time=at(36), power_w=7000),
            Reading(time=at(66), power_w=20),
            Reading(time=at(75), power_w=20),
            Reading(time=at(76), power_w=20),
        ],
    )
    (session,) = ended(events)
    assert session.start == at(1)
    assert session.end == at(66)
    assert len(session.periods) == 2
    assert session.periods[0].end == at(31)
    assert session.energy_kwh == pytest.approx(3.5 + 3.5 + 20 / 1000 * 10 / 60, rel=1e-6)


def test_power_while_reported_disconnected_still_makes_a_session() -> None:
    """FoxESS reports Available with the cable still in."""
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=0, energy_kwh=1.0, connected=False),
            Reading(time=at(1), power_w=7000, energy_kwh=1.0, connected=False),
            Reading(time=at(61), power_w=0, energy_kwh=8.0, connected=False),
        ],
    )
    (session,) = ended(events)
    assert session.energy_kwh == pytest.approx(7.0)


def test_unknown_connection_changes_nothing() -> None:
    tracker = SessionTracker(CONN_REG)
    feed(
        tracker,
        [
            Reading(time=at(0), power_w=0, energy_kwh=1.0, connected=True),
            Reading(time=at(5), power_w=None, energy_kwh=None, connected=None),
        ],
    )
    assert tracker.active is not None


def test_a_clock_set_back_mid_session_loses_nothing() -> None:
    """The clock goes back an hour while charging: the session goes on from where it was,
    the register's rise is counted as it comes, and the unplug ends it at once."""
    tracker = SessionTracker(CONN_REG)
    readings = [
        Reading(time=at(minute), power_w=7000, energy_kwh=100 + 7 * minute / 60, connected=True)
        for minute in range(0, 61, 5)
    ]
    # 19:00 becomes 18:00 again; charging goes on for 30 minutes, then the car leaves.
    readings += [
        Reading(time=at(minute), power_w=7000, energy_kwh=107 + 7 * minute / 60, connected=True)
        for minute in range(5, 31, 5)
    ]
    readings.append(Reading(time=at(35), power_w=0, energy_kwh=110.5, connected=False))
    (session,) = ended(feed(tracker, readings))
    assert session.energy_kwh == pytest.approx(10.5)
    # On the session's own time: the jump itself takes no time (how long it really took is
    # unknowable), the 30 minutes after it do.
    assert session.end == at(90)
    assert tracker.ignored_readings == 1  # one jump back noted
    # Between sessions the clock is taken as it is.
    events = feed(tracker, [Reading(time=at(40), power_w=7000, energy_kwh=110.5, connected=True)])
    assert events[0].session.start == at(40)


def test_soc_user_and_phases_are_kept() -> None:
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=0, energy_kwh=1.0, connected=True, soc=0, user="card-1"),
            Reading(time=at(1), power_w=11000, energy_kwh=1.0, connected=True, soc=40, phases=3),
            Reading(time=at(61), power_w=0, energy_kwh=12.0, connected=True, soc=60, phases=1),
            Reading(time=at(62), power_w=0, energy_kwh=12.0, connected=False),
        ],
    )
    (session,) = ended(events)
    assert (session.soc_start, session.soc_end) == (40, 60)
    assert session.phases == 3
    assert session.user == "card-1"


def test_session_crossing_midnight_and_month_end_splits_energy() -> None:
    tracker = SessionTracker(CONN_REG)
    start = datetime(2026, 1, 31, 22, 0, tzinfo=UTC)
    events = feed(
        tracker,
        [
            Reading(time=start, power_w=4000, energy_kwh=0.0, connected=True),
            Reading(time=start + timedelta(hours=4), power_w=0, energy_kwh=16.0, connected=False),
        ],
    )
    (session,) = ended(events)
    february = datetime(2026, 2, 1, tzinfo=UTC)
    assert session.energy_between(start, february) == pytest.approx(8.0)
    assert session.energy_between(february, february + timedelta(days=28)) == pytest.approx(8.0)


def test_restore_mid_session_carries_on() -> None:
    tracker = SessionTracker(CONN_REG)
    feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=10.0, connected=True),
            Reading(time=at(30), power_w=7000, energy_kwh=13.5, connected=True),
        ],
    )
    restored = SessionTracker.from_dict(CONN_REG, tracker.as_dict())
    assert restored.as_dict() == tracker.as_dict()
    events = feed(
        restored,
        [
            Reading(time=at(45), power_w=None, energy_kwh=None, connected=None),
            Reading(time=at(60), power_w=7000, energy_kwh=17.0, connected=True),
            Reading(time=at(61), power_w=0, energy_kwh=17.0, connected=False),
        ],
    )
    assert ended(events)[0].energy_kwh == pytest.approx(7.0)
    assert restored.session_count == 1


def test_session_round_trips_through_its_dict() -> None:
    tracker = SessionTracker(CONN_REG)
    events = feed(
        tracker,
        [
            Reading(time=at(0), power_w=7000, energy_kwh=10.0, connected=True, soc=30),
            Reading(time=at(30), power_w=0, energy_kwh=13.5, connected=False, soc=45),
        ],
    )
    (session,) = ended(events)
    session.departure = at(600)
    session.target_energy_kwh = 20.0
    assert Session.from_dict(session.as_dict()) == session


def test_energy_spread_over_a_microsecond_adds_up() -> None:
    """Epoch seconds as floats are coarse: the parts must still add up to the energy (a
    transaction flushed in a burst gained 11 Wh on 8.1 kWh)."""
    parts = spread_evenly(8.1, at(0), at(0) + timedelta(microseconds=10))
    assert sum(parts.values()) == pytest.approx(8.1, abs=1e-12)
    across = spread_evenly(8.1, at(14.9999999), at(15.0000001))
    assert sum(across.values()) == pytest.approx(8.1, abs=1e-12)
