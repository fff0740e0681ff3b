"""OCPP meter values (1.6 and 2.0.1) as plain samples, with every quirk seen in real traffic.

Input is the ``meterValue`` list of a MeterValues, StopTransaction (``transactionData``) or
TransactionEvent message, with snake_case keys as the ``ocpp`` package hands them over.

* A sampled value without measurand is ``Energy.Active.Import.Register``; without unit an
  energy value is Wh and a power value W (1.6 and 2.0.1 say so; Blink relies on it).
  2.0.1 units carry a power-of-ten ``multiplier``.
* A unit-less signed energy value that is really kWh (KEBA's OCMF readings in a 2.0.1
  Ended event) is recognised by being closer to the previous register as kWh than as Wh.
  Unsigned unit-less values are always Wh: a small per-transaction counter must not be
  mistaken for kWh.
* ``Transaction.Begin`` values are the start meter, never the current register: Growatt
  repeats its start register next to the periodic one in every message.
* Phase values count only when there is no total; ``L1-N`` is L1. Values measured in the
  charger's ``Body`` are not the car's. Voltage, frequency and the rest are ignored.
* ``SoC`` 0 is what AC boxes send without ISO 15118 data: unknown.
* Several meter values with one timestamp (one measurand each, Zaptec) are one sample.
* Timestamps: ``Z``, ``+0000``, ``+10:00``, with or without fractions; a naive time is UTC;
  an unreadable one (``0000-00-00T00:00:00Z``) or one in the future (clock skew) is the
  time the message arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .units import parse_number

REGISTER = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
CURRENT_OFFERED = "Current.Offered"
SOC = "SoC"
BEGIN = "Transaction.Begin"
PHASES = ("L1", "L2", "L3")
CHARGING_CURRENT_A = 1.0

_ENERGY_KWH = {"Wh": 0.001, "kWh": 1.0}
_POWER_W = {"W": 1.0, "kW": 1000.0}
MAX_POWER_W = 1_000_000.0  # 1 MW: above every charge point there is
MAX_CURRENT_A = 1_000.0


def parse_moment(value: object) -> datetime | None:
    """An OCPP date-time as aware UTC (naive means UTC); None when unreadable."""
    if not isinstance(value, str):
        return None
    try:
        # Python's parser takes the forms chargers send: "Z", "+0100", fractions of any length.
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            # RFC 3339 (OCPP's date-time) allows a lower-case "t" and "z", Python does not.
            moment = datetime.fromisoformat(value.strip().upper())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        return None


def parse_time(value: object, received: datetime) -> datetime:
    """A charger's timestamp; the arrival time when unreadable or in the future (skew)."""
    moment = parse_moment(value)
    return received if moment is None else min(moment, received)


@dataclass(frozen=True, slots=True)
class MeterSample:
    """What one timestamp of meter values says (None: not in the message)."""

    time: datetime
    register_kwh: float | None = None
    begin_register_kwh: float | None = None
    power_w: float | None = None
    phases: int | None = None
    offered_a: float | None = None
    soc: float | None = None


def _unit(value: Mapping[str, Any]) -> tuple[str | None, float]:
    """The unit and the 2.0.1 multiplier factor of a sampled value."""
    if "unit_of_measure" in value:
        measure = value["unit_of_measure"] or {}
        multiplier = measure.get("multiplier", 0)
        factor = 10.0 ** int(multiplier) if isinstance(multiplier, int) else 1.0
        return measure.get("unit"), factor
    return value.get("unit"), 1.0


def _phase(value: Mapping[str, Any]) -> str | None:
    phase = value.get("phase")
    if not isinstance(phase, str):
        return None
    return phase.split("-", 1)[0]  # L1-N is L1


class _Collector:
    """Values of one timestamp, by measurand, total and per phase."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.phases: dict[str, dict[str, float]] = {}
        self.begin: float | None = None

    def add(self, measurand: str, phase: str | None, value: float) -> None:
        if phase is None:
            self.totals[measurand] = value
        elif phase in PHASES:
            self.phases.setdefault(measurand, {})[phase] = value

    def value(self, measurand: str) -> float | None:
        if measurand in self.totals:
            return self.totals[measurand]
        per_phase = self.phases.get(measurand)
        return sum(per_phase.values()) if per_phase else None


def _energy_kwh(
    number: float, unit: str | None, factor: float, previous_kwh: float | None, *, signed: bool
) -> float | None:
    if unit is None:
        as_wh = number * factor / 1000
        if (
            signed
            and previous_kwh is not None
            and abs(number * factor - previous_kwh) < abs(as_wh - previous_kwh)
        ):
            return number * factor  # a signed kWh reading without its unit
        return as_wh
    scale = _ENERGY_KWH.get(unit)
    return None if scale is None else number * factor * scale


def _sample(time: datetime, collector: _Collector) -> MeterSample:
    soc = collector.totals.get(SOC)
    currents = collector.phases.get(CURRENT, {})
    charging_phases = sum(1 for amps in currents.values() if amps >= CHARGING_CURRENT_A)
    power = collector.value(POWER)
    offered = collector.value(CURRENT_OFFERED)
    return MeterSample(
        time=time,
        register_kwh=collector.value(REGISTER),
        begin_register_kwh=collector.begin,
        # Beyond what any charge point delivers: a broken value, not a reading.
        power_w=None if power is None or power > MAX_POWER_W else max(0.0, power),
        phases=charging_phases or None,
        offered_a=None if offered is None or not 0 <= offered <= MAX_CURRENT_A else offered,
        soc=soc if soc is not None and 0 < soc <= 100 else None,
    )


def meter_samples(
    meter_values: Iterable[Mapping[str, Any]],
    received: datetime,
    previous_kwh: float | None = None,
) -> list[MeterSample]:
    """Samples in time order from a meterValue list; previous_kwh is the last register known."""
    by_time: dict[datetime, _Collector] = {}
    for meter_value in meter_values:
        time = parse_time(meter_value.get("timestamp"), received)
        collector = by_time.setdefault(time, _Collector())
        for sampled in meter_value.get("sampled_value") or ():
            number = parse_number(sampled.get("value"))
            if number is None or sampled.get("location") == "Body":
                continue
            measurand = sampled.get("measurand") or REGISTER
            unit, factor = _unit(sampled)
            phase = _phase(sampled)
            if measurand == REGISTER:
                signed = bool(sampled.get("signed_meter_value"))
                kwh = _energy_kwh(number, unit, factor, previous_kwh, signed=signed)
                if kwh is None:
                    continue
                if sampled.get("context") == BEGIN:
                    collector.begin = kwh
                    continue
                if phase is None:
                    previous_kwh = kwh
                collector.add(measurand, phase, kwh)
            elif measurand == POWER:
                scale = _POWER_W.get(unit or "W")
                if scale is not None:
                    collector.add(measurand, phase, number * factor * scale)
            elif measurand in (CURRENT, CURRENT_OFFERED, SOC):
                collector.add(measurand, phase, number * factor)
    return [_sample(time, by_time[time]) for time in sorted(by_time)]


def wh_to_kwh(value: object) -> float | None:
    """A 1.6 ``meterStart`` / ``meterStop`` (integer Wh) in kWh."""
    number = parse_number(value)
    return None if number is None else number / 1000
