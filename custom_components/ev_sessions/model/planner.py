"""Plan the cheapest charging before departure.

The time from now to departure is cut into 15-minute slots (the first and last ones
partial). Each slot can take at most the effective power times its length. Slots are ranked
by their all-in price per kWh; ties go to the earlier slot, so a plan never waits for
nothing. The cheapest slots are filled until the energy is planned; the last one taken may
be partial, and charges from its start. Slots need not be adjacent. Negative prices rank
first but never make the plan charge more than asked. A slot without any known price still
counts (it is ranked after every priced slot and its price is marked estimated), so a
missing price never puts the departure at risk. When even every slot is not enough, all are
used and the shortfall is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache

from .session import INTERVAL, interval_start
from .tariff import MonthFee

type PriceAt = Callable[[datetime], tuple[float | None, bool]]
"""All-in price per kWh at a moment, and whether it is an estimate (None: nothing known)."""


# A plan this much short of its target (rounding) still reaches it.
SHORTFALL_TOLERANCE_KWH = 0.01


@dataclass(frozen=True, slots=True)
class Slot:
    """A stretch of time the plan charges in."""

    start: datetime
    end: datetime
    energy_kwh: float
    price: float | None
    estimated: bool

    @property
    def cost(self) -> float:
        """What the slot's energy costs (0 when its price is unknown)."""
        return self.energy_kwh * (self.price or 0.0)


@dataclass(frozen=True, slots=True)
class Plan:
    """When to charge: the chosen slots (in time order), energy, shortfall and cost."""

    slots: tuple[Slot, ...]
    energy_kwh: float
    shortfall_kwh: float
    power_kw: float

    @property
    def cost(self) -> float:
        """Planned cost (VAT included, as the prices are all in)."""
        return sum(slot.cost for slot in self.slots)

    @property
    def estimated(self) -> bool:
        """Whether any slot's price is an estimate."""
        return any(slot.estimated for slot in self.slots)

    @property
    def falls_short(self) -> bool:
        """Whether the target cannot be reached by the departure (more than 10 Wh short)."""
        return self.shortfall_kwh > SHORTFALL_TOLERANCE_KWH

    @property
    def start(self) -> datetime | None:
        """When charging starts."""
        return self.slots[0].start if self.slots else None

    @property
    def end(self) -> datetime | None:
        """When the last planned charging ends."""
        return self._charging_end(self.slots[-1]) if self.slots else None

    def _charging_end(self, slot: Slot) -> datetime:
        # A plan with slots always has power (plans without power have no slots).
        needed = timedelta(hours=slot.energy_kwh / self.power_kw)
        return min(slot.end, slot.start + needed)

    def charging_at(self, moment: datetime) -> bool:
        """Whether the plan charges at a moment (a partial slot from its start)."""
        for slot in self.slots:  # in time order: none after one that starts later counts
            if slot.start > moment:
                return False
            if moment < self._charging_end(slot):
                return True
        return False


@lru_cache(maxsize=1024)
def iso_in(moment: datetime, zone: tzinfo | None) -> str:
    """A moment in ISO 8601, in ``zone`` (None: as it is).

    Remembered: the same quarter-hour bounds are shown in plan after plan, and a session's
    start at every reading.
    """
    return (moment.astimezone(zone) if zone else moment).isoformat()


def plan_slots(plan: Plan, zone: tzinfo | None = None) -> list[dict[str, object]]:
    """The plan's slots in the public shape (ISO times in ``zone``, energy, all-in price)."""
    return [
        {
            "start": iso_in(slot.start, zone),
            "end": iso_in(slot.end, zone),
            "energy_kwh": round(slot.energy_kwh, 4),
            "price": None if slot.price is None else round(slot.price, 5),
        }
        for slot in plan.slots
    ]


def candidate_slots(start: datetime, departure: datetime) -> list[tuple[datetime, datetime]]:
    """Quarter-hour slots from start to departure, the first and last ones cut to fit."""
    slots = []
    cursor = start
    boundary = datetime.fromtimestamp(interval_start(start), start.tzinfo) + INTERVAL
    while cursor < departure:
        end = min(boundary, departure)
        slots.append((cursor, end))
        cursor = end
        boundary += INTERVAL
    return slots


def plan_cheapest(
    *,
    start: datetime,
    departure: datetime,
    energy_kwh: float,
    power_kw: float,
    price_at: PriceAt,
) -> Plan:
    """The cheapest slots that deliver energy_kwh between start and departure."""
    if energy_kwh <= 0 or power_kw <= 0 or departure <= start:
        return Plan((), 0.0, max(0.0, energy_kwh), power_kw)
    ranked = []
    for index, (slot_start, slot_end) in enumerate(candidate_slots(start, departure)):
        price, estimated = price_at(slot_start)
        capacity = power_kw * (slot_end - slot_start).total_seconds() / 3600
        unknown = price is None
        ranked.append(
            (
                (unknown, price or 0.0, index),
                slot_start,
                slot_end,
                capacity,
                price,
                estimated or unknown,
            )
        )
    ranked.sort(key=lambda item: item[0])
    remaining = energy_kwh
    chosen = []
    for _, slot_start, slot_end, capacity, price, estimated in ranked:
        if remaining <= 1e-9:
            break
        energy = min(capacity, remaining)
        remaining -= energy
        chosen.append(Slot(slot_start, slot_end, energy, price, estimated))
    chosen.sort(key=lambda slot: slot.start)
    planned = energy_kwh - max(0.0, remaining)
    return Plan(tuple(chosen), planned, max(0.0, remaining), power_kw)


def plan_immediate(
    *,
    start: datetime,
    departure: datetime | None,
    energy_kwh: float,
    power_kw: float,
    price_at: PriceAt,
) -> Plan:
    """Charge at once until the energy is in (priced slot by slot for the plan's cost)."""
    if energy_kwh <= 0 or power_kw <= 0:
        return Plan((), 0.0, max(0.0, energy_kwh), power_kw)
    finish = start + timedelta(hours=energy_kwh / power_kw)
    end = finish if departure is None else min(finish, departure)
    chosen = []
    for slot_start, slot_end in candidate_slots(start, end):
        price, estimated = price_at(slot_start)
        energy = power_kw * (slot_end - slot_start).total_seconds() / 3600
        chosen.append(Slot(slot_start, slot_end, energy, price, estimated or price is None))
    planned = sum(slot.energy_kwh for slot in chosen)
    return Plan(tuple(chosen), planned, max(0.0, energy_kwh - planned), power_kw)


def plan_with_power_fee(
    *,
    start: datetime,
    departure: datetime,
    energy_kwh: float,
    power_kw: float,
    price_at: PriceAt,
    fee: MonthFee,
    month_hours: Mapping[int, float],
    zone: tzinfo,
    vat_rate: float,
    base_load_kw: float = 0.0,
) -> Plan:
    """The cheapest plan counting the power fee: keep under the month's peak unless it pays.

    Compares the plan capped at the month's current peak level less the household's own load
    (``base_load_kw``, measured; 0 when the month's hours are the charger's alone), which raises
    no fee, with the uncapped plan plus the fee increase it causes, and takes the cheaper in
    total. A capped plan that would miss the target is never taken.
    """

    def total(plan: Plan) -> float:
        charged = fee.bucket({int(s.start.timestamp()): s.energy_kwh for s in plan.slots})
        # The household draws its base load in the planned hours too, with or without the car.
        without = dict(month_hours)
        for key in charged:
            without[key] = without.get(key, 0.0) + base_load_kw
        added = dict(without)
        for key, kwh in charged.items():
            added[key] += kwh
        increase = fee.month_fee(added, zone) - fee.month_fee(without, zone)
        return plan.cost + increase * (1 + vat_rate)

    def plan_at(power: float) -> Plan:
        return plan_cheapest(
            start=start,
            departure=departure,
            energy_kwh=energy_kwh,
            power_kw=power,
            price_at=price_at,
        )

    free = plan_at(power_kw)
    level = fee.peak_level(month_hours, zone) - max(0.0, base_load_kw)
    if level >= power_kw:
        return free
    if level <= 0:
        return free  # any charging raises the peak: only the free plan can reach the target
    capped = plan_at(level)
    if capped.shortfall_kwh > free.shortfall_kwh + 1e-9:
        return free
    return capped if total(capped) <= total(free) else free
