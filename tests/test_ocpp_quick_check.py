"""The quick schema check accepts only calls the ocpp package's own check accepts.

It runs before the compiled check for the schemas it understands (closed objects, arrays,
strings with their enums and lengths, integers); anything it does not accept goes on to the
compiled check and the package's, which name the error.
"""

from __future__ import annotations

from copy import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings, strategies as st
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, MessageType, _validate_payload, get_validator
import pytest

from custom_components.ev_sessions.sources.ocpp import schema
from custom_components.ev_sessions.sources.ocpp.schema import (
    handled_actions,
    quick_check,
    validate_call,
)
from custom_components.ev_sessions.sources.ocpp.v16 import OcppLink16

TRACES = Path(__file__).parent / "fixtures" / "ocpp"
# The OCPP benchmark's MeterValues (register, power, currents).
_SAMPLED = [
    {"value": "1000.001", "unit": "Wh"},
    {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
    *({"value": "16", "measurand": "Current.Import", "phase": p} for p in ("L1", "L2", "L3")),
]
BENCHMARK_METER_VALUES = {
    "connectorId": 1,
    "transactionId": 5,
    "meterValue": [{"timestamp": "2026-12-06T06:00:00+00:00", "sampledValue": _SAMPLED}],
}


def _calls() -> list[tuple[str, dict[str, Any]]]:
    """Every call of the recorded 1.6 traces, the OCPP benchmark's MeterValues, and two
    calls the package refuses (to be mutated too)."""
    calls = [
        (frame[2], frame[3])
        for trace in sorted(TRACES.glob("*.jsonl"))
        for line in trace.read_text().splitlines()
        if line.strip() and (frame := json.loads(line)["frame"])[0] == 2
    ]
    calls.append(("MeterValues", BENCHMARK_METER_VALUES))
    calls.append(("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "A"}))
    calls.append(("StartTransaction", {"connectorId": 1, "idTag": "A", "meterStart": 0}))
    return calls


CALLS = _calls()
# By action, each as likely as the next (the traces are mostly MeterValues).
BY_ACTION = {
    action: [p for a, p in CALLS if a == action] for action in sorted({a for a, _ in CALLS})
}


def _package_accepts(action: str, payload: Any) -> bool:
    try:
        _validate_payload(Call(unique_id="1", action=action, payload=payload), "1.6")
    except OCPPError:
        return False
    return True


def _quick(action: str) -> Any:
    return quick_check(get_validator(MessageType.Call, action, "1.6").schema)


def test_every_answered_call_is_checked_quickly() -> None:
    """Every call a 1.6 box sends that EV Sessions answers has a quick check; each call of
    the recorded traces that the package accepts, the quick check accepts: real traffic takes
    the quick way."""
    actions = handled_actions(OcppLink16)
    assert "MeterValues" in actions
    for action in actions:
        assert _quick(action) is not None, action
    taken = 0
    for action, payload in CALLS:
        quick = _quick(action)
        if quick is None or not _package_accepts(action, payload):
            continue
        assert quick(payload), (action, payload)
        taken += 1
    assert taken >= 25


def test_validate_call_takes_the_quick_way_first() -> None:
    """A valid MeterValues never reaches the compiled check; an invalid one does."""
    payload = BENCHMARK_METER_VALUES
    validate_call(Call(unique_id="1", action="MeterValues", payload=payload), "1.6")
    quick, compiled = schema._checks[("1.6", "MeterValues")]
    assert quick is not None
    assert compiled is not None
    seen: list[Any] = []

    def _compiled(data: Any) -> Any:
        seen.append(data)
        return compiled(data)

    schema._checks[("1.6", "MeterValues")] = (quick, _compiled)
    try:
        validate_call(Call(unique_id="2", action="MeterValues", payload=payload), "1.6")
        assert seen == []
        broken = {**payload, "connectorId": "one"}
        with pytest.raises(OCPPError):
            validate_call(Call(unique_id="3", action="MeterValues", payload=broken), "1.6")
        assert seen == [broken]
    finally:
        schema._checks[("1.6", "MeterValues")] = (quick, compiled)


SAMPLE = {"value": "1000", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
METER = {"connectorId": 1, "meterValue": [{"timestamp": "t", "sampledValue": [SAMPLE]}]}
START = {"connectorId": 1, "idTag": "A" * 20, "meterStart": 0, "timestamp": "t"}


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("MeterValues", {**METER, "meterValue": []}),  # minItems
        ("MeterValues", {**METER, "meterValue": [{"timestamp": "t", "sampledValue": []}]}),
        ("MeterValues", {**METER, "meterValue": [{"timestamp": "t"}]}),  # required
        ("MeterValues", {**METER, "connectorId": 1.0}),  # draft 4: not an integer
        ("MeterValues", {**METER, "connectorId": True}),
        ("MeterValues", {**METER, "connectorId": "1"}),
        ("MeterValues", {**METER, "extra": 1}),  # a key the schema does not name
        (
            "MeterValues",
            {
                **METER,
                "meterValue": [{"timestamp": "t", "sampledValue": [{**SAMPLE, "unit": "MWh"}]}],
            },
        ),
        (
            "MeterValues",
            {**METER, "meterValue": [{"timestamp": "t", "sampledValue": [{"value": 1000}]}]},
        ),
        ("StartTransaction", {**START, "idTag": "A" * 21}),  # maxLength
        ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Dancing"}),
    ],
)
def test_near_misses_are_passed_on(action: str, payload: dict[str, Any]) -> None:
    """What the package refuses, the quick check does not accept; a valid call beside each."""
    assert not _package_accepts(action, payload)
    assert not _quick(action)(payload)
    valid = START if action == "StartTransaction" else METER
    if action != "StatusNotification":
        assert _package_accepts(action, valid)
        assert _quick(action)(valid)


@pytest.mark.parametrize(
    "part",
    [
        {"type": "string", "pattern": "^[A-Z]+$"},  # a keyword it does not know
        {"type": "number"},
        {"type": ["string", "null"]},
        {"$ref": "#/definitions/X"},
        {"type": "object", "properties": {}},  # open: any other key is allowed
        {"type": "integer", "minimum": 0},
        {"type": "string", "enum": ["A", 1]},
    ],
)
def test_what_it_does_not_know_is_left_to_the_others(part: dict[str, Any]) -> None:
    closed = {"type": "object", "properties": {"a": part}, "additionalProperties": False}
    assert quick_check(closed) is None
    in_a_list = {"type": "array", "items": part}
    assert quick_check({**closed, "properties": {"a": in_a_list}}) is None


def test_lists_of_strings_and_integers() -> None:
    """Lists whose items are not objects (none of the calls answered today has one)."""
    lists = {
        "units": {"type": "array", "items": {"type": "string", "enum": ["W", "kW"]}},
        "ids": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 2},
        "counts": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
        "short": {"type": "string", "enum": ["ab", "abcd"], "maxLength": 3},
    }
    quick = quick_check({"type": "object", "properties": lists, "additionalProperties": False})
    assert quick is not None
    assert quick({"units": ["W", "kW"], "ids": ["abc"], "counts": [1, 2], "short": "ab"})
    for wrong in (
        {"short": "abcd"},  # in the enum, but too long
        {"units": ["MW"]},
        {"units": "W"},
        {"ids": ["abcd"]},
        {"ids": ["a", "b", "c"]},
        {"ids": [1]},
        {"counts": []},
        {"counts": [1.0]},
        {"counts": [True]},
    ):
        assert not quick(wrong), wrong


# Near-misses as well as noise: the enum values of OCPP 1.6 and others like them.
WORDS = ["Wh", "kWh", "MWh", "L1", "L1-N", "L4", "Charging", "Dancing", "NoError", "Body"]
WORDS += ["Energy.Active.Import.Register", "Power.Active.Import", "Sample.Periodic", ""]
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=25)
    | st.sampled_from(WORDS)
)
JSON = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=12) | st.sampled_from(WORDS), inner, max_size=3)
    ),
    max_leaves=6,
)


def _deeper(data: st.DataObject) -> bool:
    """Whether a change goes inside a value rather than replace it (mostly: the values the
    checks weigh, the units, phases and numbers, lie four levels down)."""
    return data.draw(st.integers(0, 7)) > 0


def _mutated(data: st.DataObject, value: Any) -> Any:
    """The value with one thing changed somewhere inside it."""
    if isinstance(value, dict | list) and value and _deeper(data):
        # A key or a place in it: dropped, changed, or one more key or item beside it.
        slot = data.draw(st.sampled_from(sorted(value) if isinstance(value, dict) else value))
        slot = slot if isinstance(value, dict) else value.index(slot)
        changed = copy(value)
        # Mostly changed: each level that drops or adds ends the way down.
        how = data.draw(st.sampled_from(["change", "change", "change", "drop", "add"]))
        if how == "drop":
            del changed[slot]
        elif how == "change":
            changed[slot] = _mutated(data, value[slot])
        elif isinstance(changed, dict):
            changed[data.draw(st.text(max_size=12) | st.sampled_from(sorted(value)))] = data.draw(
                JSON
            )
        else:
            changed.append(data.draw(JSON | st.just(value[slot])))
        return changed
    if isinstance(value, int) and not isinstance(value, bool) and _deeper(data):
        return data.draw(st.sampled_from([float(value), value == 1, str(value), -value]))
    if isinstance(value, str) and _deeper(data):
        return data.draw(st.sampled_from(WORDS) | st.text(min_size=15, max_size=60))
    return data.draw(JSON)


@settings(max_examples=400, deadline=None)
@given(action=st.sampled_from(sorted(BY_ACTION)), data=st.data(), times=st.integers(1, 3))
def test_it_accepts_only_what_the_package_accepts(
    action: str, data: st.DataObject, times: int
) -> None:
    payload = data.draw(st.sampled_from(BY_ACTION[action]))
    quick = _quick(action)
    if quick is None:
        return
    changed: Any = payload
    for _ in range(times):
        changed = _mutated(data, changed)
    if quick(changed):
        assert _package_accepts(action, changed), (action, changed)
