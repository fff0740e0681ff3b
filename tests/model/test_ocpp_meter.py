"""OCPP meter values and timestamps as real chargers send them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.ev_sessions.model.ocpp_meter import (
    meter_samples,
    parse_moment,
    parse_time,
    wh_to_kwh,
)

RECEIVED = datetime(2026, 11, 2, 17, 0, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-02T17:00:00Z", datetime(2026, 11, 2, 17, 0, tzinfo=UTC)),
        ("2026-11-02T17:00:00.123Z", datetime(2026, 11, 2, 17, 0, 0, 123000, tzinfo=UTC)),
        ("2026-11-03T03:00:00+10:00", datetime(2026, 11, 2, 17, 0, tzinfo=UTC)),  # Growatt
        ("2026-11-02T17:00:00+0000", datetime(2026, 11, 2, 17, 0, tzinfo=UTC)),  # KEBA
        ("2026-11-02T18:00:00+0100", datetime(2026, 11, 2, 17, 0, tzinfo=UTC)),
        ("2026-11-02T17:00:00", datetime(2026, 11, 2, 17, 0, tzinfo=UTC)),  # naive: UTC
        # RFC 3339 (OCPP's date-time) allows a lower-case "t" and "z".
        ("2026-11-02t17:00:00.5z", datetime(2026, 11, 2, 17, 0, 0, 500000, tzinfo=UTC)),
        ("0000-00-00T00:00:00.000Z", RECEIVED),  # AcTEC
        ("yesterday", RECEIVED),
        (None, RECEIVED),
        ("2026-11-02T17:00:06Z", RECEIVED),  # 3 s ahead of the server (AcTEC skew)
    ],
)
def test_timestamps(text: str | None, expected: datetime) -> None:
    assert parse_time(text, RECEIVED) == expected


def test_departure_in_the_future_is_kept() -> None:
    assert parse_moment("2026-11-03T06:30:00Z") == datetime(2026, 11, 3, 6, 30, tzinfo=UTC)
    assert parse_moment(42) is None


def test_blink_defaults_wh_register() -> None:
    """No measurand, unit or context: the Wh import register."""
    (sample,) = meter_samples(
        [{"timestamp": "2026-11-02T17:00:00Z", "sampled_value": [{"value": "6500123"}]}], RECEIVED
    )
    assert sample.register_kwh == pytest.approx(6500.123)
    assert sample.power_w is None


def test_201_multiplier_units_and_ignored_values() -> None:
    values = [
        {"value": 7.4, "measurand": "Power.Active.Import", "unit_of_measure": {"unit": "kW"}},
        {"value": 21, "unit_of_measure": {"unit": "kWh", "multiplier": 3}},  # 21 MWh
        {"value": 50, "measurand": "Frequency"},
        {"value": 230, "measurand": "Voltage", "phase": "L1-N"},
        {"value": 12, "unit_of_measure": {"unit": "varh"}},  # not an energy unit we read
        {"value": "NaN", "measurand": "SoC"},
        {"value": 16, "measurand": "Current.Offered"},
        {"value": 10, "measurand": "Current.Import", "phase": "N"},
    ]
    (sample,) = meter_samples(
        [{"timestamp": "2026-11-02T17:00:00Z", "sampled_value": values}], RECEIVED
    )
    assert sample.power_w == pytest.approx(7400)
    assert sample.register_kwh == pytest.approx(21_000)
    assert sample.offered_a == 16
    assert sample.soc is None
    assert sample.phases is None


def test_per_phase_registers_without_total_and_one_phase_charging() -> None:
    values = [
        {"value": "1000", "phase": "L1", "unit": "Wh"},
        {"value": "2000", "phase": "L2", "unit": "Wh"},
        {"value": "3000", "phase": "L3", "unit": "Wh"},
        {"value": "16", "measurand": "Current.Import", "phase": "L1-N"},
        {"value": "0.2", "measurand": "Current.Import", "phase": "L2"},
        {"value": "0", "measurand": "Current.Import", "phase": "L3"},
        {"value": "80", "measurand": "SoC", "unit": "Percent"},
    ]
    (sample,) = meter_samples(
        [{"timestamp": "2026-11-02T17:00:00Z", "sampled_value": values}], RECEIVED
    )
    assert sample.register_kwh == pytest.approx(6.0)
    assert sample.phases == 1
    assert sample.soc == 80


def test_zaptec_one_measurand_per_element_same_timestamp_and_order() -> None:
    late = "2026-11-02T17:00:00Z"
    early = "2026-11-02T16:59:00Z"
    samples = meter_samples(
        [
            {"timestamp": late, "sampled_value": [{"value": "1200", "unit": "Wh"}]},
            {
                "timestamp": late,
                "sampled_value": [{"value": "3600", "measurand": "Power.Active.Import"}],
            },
            {"timestamp": early, "sampled_value": [{"value": "1100", "unit": "Wh"}]},
        ],
        RECEIVED,
    )
    assert [s.time for s in samples] == [
        RECEIVED - timedelta(minutes=1, seconds=3),
        RECEIVED - timedelta(seconds=3),
    ]
    assert samples[1].register_kwh == pytest.approx(1.2)
    assert samples[1].power_w == 3600


def test_signed_kwh_without_unit_next_to_a_wh_register() -> None:
    """KEBA: a signed value in kWh without unit, after a Wh register in the same message."""
    signed = {
        "signed_meter_data": "OCMF|{}",
        "signing_method": "",
        "encoding_method": "OCMF",
        "public_key": "",
    }
    values = [
        {"value": 2114135.6, "context": "Transaction.Begin"},
        {"value": 2125.1356, "context": "Transaction.End", "signed_meter_value": signed},
    ]
    (sample,) = meter_samples(
        [{"timestamp": "2026-11-02T17:00:00Z", "sampled_value": values}], RECEIVED, 2114.1356
    )
    assert sample.begin_register_kwh == pytest.approx(2114.1356)
    assert sample.register_kwh == pytest.approx(2125.1356)
    # Unsigned, the same number is Wh: a small per-transaction counter stays small.
    (plain,) = meter_samples(
        [{"timestamp": "2026-11-02T17:00:00Z", "sampled_value": [{"value": 4}]}], RECEIVED, 5.0
    )
    assert plain.register_kwh == pytest.approx(0.004)


def test_meter_start_and_stop() -> None:
    assert wh_to_kwh(532363) == pytest.approx(532.363)
    assert wh_to_kwh("x") is None
