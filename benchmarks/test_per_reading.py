"""CPU per power reading: EV Sessions next to Home Assistant's own Riemann-sum helper.

Run: .venv/bin/python -m pytest benchmarks/test_per_reading.py -s -p no:randomly

One Home Assistant process, one stream of power-sensor state changes (a car charging at
11 kW, a reading every 10 s, the energy register every reading). Three sensors get the same
stream: one nobody listens to (what ``async_set`` itself costs), one the ``integration``
helper (left Riemann sum) integrates, and the wallbox EV Sessions follows, a reading to each
in turn. The figure per integration is the CPU above the bare stream of the same round, per
reading: the median of five rounds of 1,000 readings, with the rounds' range. The clock
moves just before the wallbox's reading, so EV Sessions' timers (the poll, the quarter hours,
the delayed writes) are counted as its own (up to 2026-12-05 the streams ran one after the
other, and the wallbox's poll, due while the other two streams ran, fell to the bare one).
The ratio is the one that matters (absolute times depend on the machine). Time moves on a light
clock (``LightClock``), not the test harness's freezegun, which makes every date and time operation
several times dearer than in a running Home Assistant and weighs on EV Sessions' side more than on
the helper's (``EV_SESSIONS_BENCH_CLOCK=freezegun`` measures under it, as up to 2026-12-05).

With ``EV_SESSIONS_BENCH_WRITES=1`` it also prints which entities write a state, and which are
told of a snapshot and looked at (what they show worked out), per reading; with
``EV_SESSIONS_BENCH_PARTS=1``, the µs per reading of each part of EV Sessions' work (``PARTS``).

Cases: an empty history with no tariff; a priced cheapest-hours plan (Nord Pool quarters,
grid fee, tax, VAT, a power fee); the same with ten years of daily sessions in the history.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Generator
import cProfile
from datetime import UTC, datetime, timedelta
import json
import logging
import os
from pathlib import Path
import pstats
import statistics
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant import util as ha_util
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import event as event_helper
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from benchmarks.test_history_load import _ten_years
from benchmarks.yardstick import set_up_helper
import custom_components.ev_sessions  # noqa: F401
from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.model.history import SessionHistory
from tests.conftest import ENERGY, PLUG, POWER, make_wallbox_entry
from tests.helpers import entities_looked_at, entities_told

READINGS = int(os.environ.get("EV_SESSIONS_BENCH_READINGS", "1000"))
# The clock the stream runs on: "light" (below), or "freezegun" (the test harness's own).
CLOCK = os.environ.get("EV_SESSIONS_BENCH_CLOCK", "light")
ROUNDS = 5
FIXTURES = Path(__file__).parent.parent / "tests" / "fixtures"
PRICES = json.loads(
    (FIXTURES / "derived_hacs_nordpool_attributes_SE3_2025-10-01_15min.json").read_text()
)["attributes"]
START = datetime(2025, 10, 1, 15, 0, tzinfo=UTC)  # 17:00 in Stockholm
PRICED = {
    "price_entity": "sensor.spot_price",
    "grid_fee": 0.244,
    "energy_tax": 0.36,
    "vat_percent": 25,
    "power_fee_per_kw": 36,
    "power_fee_peaks": 3,
    "charging_mode": "cheapest",
    "departure_time": "23:45:00",
    "target_energy_kwh": 60,
}
CASES = {  # id: (what, options, days of history)
    "empty": ("empty history, no tariff", {}, 0),
    "priced": ("priced, cheapest plan", PRICED, 0),
    "priced-10y": ("priced, cheapest plan, 10 years of history", PRICED, 3650),
}
# What the issue measured on its own machine (the Riemann helper took 15-23 µs there).
ISSUE_FIGURES = {
    "empty": "390-450 µs, 17-28x the helper",
    "priced": "1,330-1,430 µs, 58-90x; the plan path 1.6-2.8 ms (ev_smart_charging's 10-12 ms)",
    "priced-10y": "about 9,900 µs, growing with the history",
}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load this repository's integration."""


POWER_ATTRIBUTES = {"unit_of_measurement": "W", "device_class": "power"}
ENERGY_ATTRIBUTES = {"unit_of_measurement": "kWh", "device_class": "energy"}
# The three streams, each a power sensor and its energy register; EV Sessions' last.
STREAMS = {
    "sensor.bare": "sensor.bare_energy",
    "sensor.riemann_source": "sensor.riemann_source_energy",
    POWER: ENERGY,
}


async def _round(
    hass: HomeAssistant, freezer: Clock, count: int, streams: dict[str, str] = STREAMS
) -> dict[str, float]:
    """CPU seconds per stream for ``count`` power readings (and register steps).

    Each reading goes to the bare sensor, the helper's and the wallbox's in turn, each on
    its own (a burst in one loop iteration is one reading). The clock moves just before the
    last stream's (the wallbox's): what falls due then (EV Sessions' timers: the poll, the
    quarter hours, the delayed writes) is counted as EV Sessions', not as the bare stream's.
    """
    register = 1000.0
    HARNESS_WRITES[0] = 0.0
    cpu = dict.fromkeys(streams, 0.0)
    last = list(streams)[-1]
    for n in range(count):
        register += 11 / 360
        power = "11000" if n % 2 else "11050"
        energy = f"{register:.4f}"
        for entity_id, energy_id in streams.items():
            if entity_id == last:
                freezer.tick(timedelta(seconds=10))
            begin = time.process_time()
            hass.states.async_set(entity_id, power, POWER_ATTRIBUTES)
            hass.states.async_set(energy_id, energy, ENERGY_ATTRIBUTES)
            await hass.async_block_till_done()
            cpu[entity_id] += time.process_time() - begin
    # The test harness's stand-in for the disk (a JSON round trip and a walk looking for mocks,
    # on the loop, about 1 ms per save of the session every 30 s) is not EV Sessions' work: a
    # real store serialises in the executor. It is left out, and shown apart.
    if POWER in cpu:
        cpu[POWER] -= HARNESS_WRITES[0]
    return cpu


HARNESS_WRITES = [0.0]  # CPU seconds in the harness's storage writes during a stream
HARNESS_LOADS = [0.0]  # CPU seconds in the harness's storage loads (a deep copy on the loop)


@pytest.fixture(autouse=True)
def _time_harness_storage(hass: HomeAssistant) -> Generator[None]:
    """Time the storage mock's writes and loads (the hass fixture has put the mock in place,
    and takes it away after this fixture has put it back)."""
    harness_write = Store._async_write_data
    harness_load = Store._async_load

    async def _timed_write(store: Store[Any], *args: Any) -> None:
        begin = time.process_time()
        try:
            await harness_write(store, *args)
        finally:
            HARNESS_WRITES[0] += time.process_time() - begin

    async def _timed_load(store: Store[Any]) -> Any:
        begin = time.thread_time()
        try:
            return await harness_load(store)
        finally:
            HARNESS_LOADS[0] += time.thread_time() - begin

    with (
        patch.object(Store, "_async_write_data", _timed_write),
        patch.object(Store, "_async_load", _timed_load),
    ):
        yield


class LightClock:
    """Time that moves only when told, as freezegun's does, at a running system's cost.

    freezegun puts a Python class in place of ``datetime`` everywhere: every date and time
    operation becomes several times dearer than in a running Home Assistant, and EV
    Sessions does far more of them per reading than the Riemann helper. This clock sets
    only the sources of the time: Home Assistant's ``utcnow``, ``time.time`` (state and
    event times) and the event loop's clock (its timers), all moved on together.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start at the real time."""
        self._timestamp = time.time()
        self._now = datetime.fromtimestamp(self._timestamp, UTC)
        self._loop_zero = loop.time() - self._timestamp

    def utcnow(self) -> datetime:
        """Home Assistant's utcnow."""
        return self._now

    def time(self) -> float:
        """time.time."""
        return self._timestamp

    def loop_time(self) -> float:
        """The event loop's monotonic clock, moving with the others."""
        return self._loop_zero + self._timestamp

    def move_to(self, moment: datetime) -> None:
        """Set the time (the loop's clock stays where it is)."""
        self._loop_zero += self._timestamp - moment.timestamp()
        self._timestamp = moment.timestamp()
        self._now = moment.astimezone(UTC)

    def tick(self, delta: timedelta) -> None:
        """Let time pass."""
        self._timestamp += delta.total_seconds()
        self._now = datetime.fromtimestamp(self._timestamp, UTC)


type Clock = LightClock | FrozenDateTimeFactory


@pytest.fixture
def clock(request: pytest.FixtureRequest, hass: HomeAssistant) -> Generator[Clock]:
    """The benchmark's clock (see CLOCK)."""
    if CLOCK == "freezegun":
        yield request.getfixturevalue("freezer")
        return
    loop = hass.loop
    light = LightClock(loop)
    with (
        patch.object(time, "time", light.time),
        patch.object(dt_util, "utcnow", light.utcnow),
        patch.object(ha_util, "utcnow", light.utcnow),
        patch.object(event_helper, "time_tracker_utcnow", light.utcnow),
        patch.object(loop, "time", light.loop_time),
    ):
        yield light


async def _set_up_helper(hass: HomeAssistant) -> None:
    """The bare sensor and the Riemann helper's, with the helper set up."""
    await set_up_helper(hass, "sensor.bare", "sensor.riemann_source", "riemann")


async def test_helper_alone(hass: HomeAssistant, clock: Clock) -> None:
    """The Riemann helper on the same stream with EV Sessions left out of the process.

    Beside EV Sessions' stream the helper takes longer (EV Sessions' work between its
    readings makes its own dearer): this is the figure to set the ratios against for the
    cautious view (the OCPP benchmark's yardstick times the helper alone too, on a plain
    stream of power readings).
    """
    asyncio.get_running_loop().set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    await hass.config.async_update(time_zone="Europe/Stockholm", currency="SEK")
    clock.move_to(START)
    await _set_up_helper(hass)
    streams = {
        entity_id: STREAMS[entity_id] for entity_id in ("sensor.bare", "sensor.riemann_source")
    }
    await _round(hass, clock, 200, streams)
    figures = []
    for _ in range(ROUNDS):
        cpu_of = await _round(hass, clock, READINGS, streams)
        figures.append((cpu_of["sensor.riemann_source"] - cpu_of["sensor.bare"]) / READINGS * 1e6)
    helper = statistics.median(figures)
    print(
        f"\nthe Riemann helper alone (no EV Sessions in the process): {helper:.0f} µs per "
        f"reading (rounds {min(figures):.0f}-{max(figures):.0f}); the cautious ratios: each "
        "case's EV Sessions figure divided by this one"
    )
    assert hass.states.get("sensor.riemann") is not None


@pytest.mark.parametrize("case", list(CASES))
async def test_cpu_per_reading(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    clock: Clock,
    case: str,
) -> None:
    asyncio.get_running_loop().set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    await hass.config.async_update(time_zone="Europe/Stockholm", currency="SEK")
    freezer = clock
    freezer.move_to(START)
    what, options, days = CASES[case]
    hass.states.async_set("sensor.spot_price", "1", {"unit_of_measurement": "SEK/kWh", **PRICES})
    await _set_up_helper(hass)
    hass.states.async_set(POWER, "0", {"unit_of_measurement": "W"})
    hass.states.async_set(ENERGY, "1000", {"unit_of_measurement": "kWh"})
    hass.states.async_set(PLUG, "on", {"device_class": "plug"})
    entry: MockConfigEntry = make_wallbox_entry(**options)
    if days:
        history = SessionHistory(
            s for s in _ten_years() if s.end is not None and s.end < START - timedelta(days=1)
        )
        hass_storage[f"{DOMAIN}.{entry.entry_id}.history"] = {
            "version": 1,
            "minor_version": 1,
            "key": f"{DOMAIN}.{entry.entry_id}.history",
            "data": {"sessions": history.as_list()},
        }
    # The test harness's storage mock hands stored data over with a deep copy on the loop (a
    # real store reads and parses the file in the executor): that copy is timed and left out.
    entry.add_to_hass(hass)
    HARNESS_LOADS[0] = 0.0
    profile = cProfile.Profile() if os.environ.get("EV_SESSIONS_BENCH_PROFILE") else None
    if profile is not None:
        profile.enable()
    setup = time.thread_time()  # the event loop's thread: executor work is not counted
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    setup = time.thread_time() - setup
    harness = HARNESS_LOADS[0]
    if profile is not None:
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    assert entry.runtime_data.tracker.active is not None
    # At 17:00, for the 23:45 departure (later the clock has moved past the day's prices).
    plan_path = _plan_path(entry.runtime_data) if options else ""
    # Warm up, then measure the three streams together, ROUNDS times. Each round gives each
    # integration's figure against the bare stream of the same round; the median over the
    # rounds is shown (the machine's speed drifts between rounds more than the Riemann
    # helper's whole cost).
    await _round(hass, freezer, 200)
    rounds: dict[str, list[float]] = {"sensor.riemann_source": [], POWER: []}
    harness_writes = 0.0
    for _ in range(ROUNDS):
        cpu_of = await _round(hass, freezer, READINGS)
        harness_writes = max(harness_writes, HARNESS_WRITES[0])
        for entity_id, figures in rounds.items():
            figures.append((cpu_of[entity_id] - cpu_of["sensor.bare"]) / READINGS * 1e6)
    parts = ""
    if os.environ.get("EV_SESSIONS_BENCH_PARTS"):
        parts = await _time_parts(hass, freezer, entry, statistics.median(rounds[POWER]))
    if os.environ.get("EV_SESSIONS_BENCH_PROFILE"):
        profile = cProfile.Profile()
        profile.enable()
        await _round(hass, freezer, READINGS)
        profile.disable()
        profile.dump_stats(f"/tmp/ev_sessions_reading_{case}.prof")
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    # Which entities write a state, and how often per reading (a round of its own: the
    # counting is not in the figures).
    written: Counter[str] = Counter()

    @callback  # on the loop (a plain function would run in the executor)
    def _count(event: Event[EventStateChangedData]) -> None:
        written[event.data["entity_id"]] += 1

    stop = hass.bus.async_listen(EVENT_STATE_CHANGED, _count)
    with entities_told() as told, entities_looked_at() as looked_at:
        await _round(hass, freezer, READINGS)
    stop()
    ours = ("sensor.wallbox", "binary_sensor.wallbox")
    ours_only = {e: n for e, n in written.items() if e.startswith(ours)}
    ours_written = sum(ours_only.values()) / READINGS
    helper_written = written["sensor.riemann"] / READINGS
    if os.environ.get("EV_SESSIONS_BENCH_WRITES"):
        print(f"\nwrites per reading: {ours_written:.2f}")
        for entity_id, times in sorted(ours_only.items(), key=lambda item: -item[1]):
            print(f"  {entity_id}: {times / READINGS:.2f}")
        for kind, counted in (("told of", told), ("looked at", looked_at)):
            print(
                f"entities {kind} per reading: {sum(counted.values()) / READINGS:.2f} of "
                f"{len(entry.runtime_data._listeners)}"
            )
            for entity_id, times in counted.most_common():
                print(f"  {entity_id}: {times / READINGS:.2f}")
    riemann = statistics.median(rounds["sensor.riemann_source"])
    ours = statistics.median(rounds[POWER])
    print(
        f"\n{what}: EV Sessions {ours:.0f} µs per reading (rounds "
        f"{min(rounds[POWER]):.0f}-{max(rounds[POWER]):.0f}), Riemann helper {riemann:.0f} µs "
        f"({min(rounds['sensor.riemann_source']):.0f}-{max(rounds['sensor.riemann_source']):.0f}), "
        f"ratio {ours / riemann:.1f}x; set-up {(setup - harness) * 1000:.0f} ms of the event "
        f"loop. Left out, the test harness's stand-ins for the disk: its copy of the stored "
        f"data at set-up, {harness * 1000:.0f} ms; its writes, "
        f"{harness_writes / READINGS * 1e6:.0f} µs per reading{plan_path}. The issue "
        f"measured {ISSUE_FIGURES[case]}. States written per reading: EV Sessions "
        f"{ours_written:.2f}, the helper {helper_written:.2f}; CPU per state written: "
        f"{ours / ours_written:.0f} µs against {riemann / helper_written:.0f} µs "
        f"({ours / ours_written / (riemann / helper_written):.1f}x)"
    )
    if parts:
        print(f"\nwhere a reading's time goes ({ours:.0f} µs in all):{parts}")
    assert entry.runtime_data.tracker.active is not None
    assert entry.runtime_data.tracker.active.energy_kwh > 0
    assert await hass.config_entries.async_unload(entry.entry_id)


# The parts of a reading timed by EV_SESSIONS_BENCH_PARTS=1: (owner, method, part of the
# snapshot), by the coordinator's attribute that holds the owner ("" for the coordinator
# itself). The rest of a reading is Home Assistant's dispatch of the two state changes to
# EV Sessions' listener, the burst's task, and the timers that fall due.
PARTS = (
    ("source", "read", False),
    ("", "_process", False),
    ("", "_sync_device", False),
    ("", "_postpone_poll", False),
    ("", "_snapshot", False),
    ("costs", "session_cost", True),
    ("control", "plan", True),
    ("costs", "price_now", True),
    ("", "_finished_in_month", True),
    ("", "_running_kwh", True),
    ("control", "departure", True),
    ("", "_show", False),
)


async def _time_parts(
    hass: HomeAssistant, clock: Clock, entry: MockConfigEntry, total_us: float
) -> str:
    """µs per reading in each of PARTS over a round of its own (a wall-clock timer around each
    call, about 0.1 µs each), as lines to print. py-spy's sampling gave some of these parts'
    time to the wrong line of Python 3.13 code (an empty generator, a function's first line)."""
    coordinator = entry.runtime_data
    spent: Counter[str] = Counter()

    def _timed(original: Any, name: str) -> Any:
        def _call(*args: Any, **kwargs: Any) -> Any:
            begin = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - begin

        return _call

    # (owner, name, what the instance itself held: None for a method of its class)
    timed = [
        (owner, name, vars(owner).get(name))
        for owner, name in (
            (getattr(coordinator, held) if held else coordinator, name) for held, name, _ in PARTS
        )
    ]
    for owner, name, _ in timed:
        setattr(owner, name, _timed(getattr(owner, name), name))
    try:
        await _round(hass, clock, READINGS)
    finally:
        for owner, name, own in timed:
            if own is None:
                delattr(owner, name)  # the class's method again
            else:
                setattr(owner, name, own)  # a callable object of its own (_running_kwh)
    lines = "".join(
        f"\n  {'  ' if inside else ''}{name}: {spent[name] / READINGS * 1e6:.1f} µs"
        for _, name, inside in PARTS
    )
    named = sum(spent[name] for _, name, inside in PARTS if not inside)
    return (
        f"{lines}\n  the rest (Home Assistant's dispatch of the two state changes, the burst's "
        f"task, the timers): {total_us - named / READINGS * 1e6:.1f} µs"
    )


def _plan_path(coordinator: Any) -> str:
    """The whole plan path as a reading takes it (the plan to the departure, all-in prices, the
    power fee's month): with the plan kept (nothing changed materially), made again with the
    price lookups kept, and made again after new prices (nothing kept)."""
    control, costs = coordinator.control, coordinator.costs
    session = coordinator.tracker.active
    now = dt_util.utcnow()
    departure = control.departure(session.start, now)[0]
    base = coordinator.power.base_load_kw(coordinator.tracker)
    assert control.plan(session, now, departure, base).slots
    energy = control.needed_kwh(session)
    power = control.effective_power_kw(session, now)
    figures = []
    for case in ("kept", "made", "new prices"):
        cpu = time.process_time()
        for _ in range(200):
            if case == "kept":
                control.plan(session, now, departure, base)
                continue
            if case == "new prices":
                costs._price_cache.clear()
            control._make_plan(
                session, now, departure, base_load_kw=base, energy=energy, power=power
            )
        figures.append((time.process_time() - cpu) / 200 * 1e6)
    return (
        f"; the plan path {figures[0]:.0f} µs (kept), {figures[1]:.0f} µs (made again), "
        f"{figures[2]:.0f} µs (after new prices, {len(costs._price_cache)} quarters)"
    )
