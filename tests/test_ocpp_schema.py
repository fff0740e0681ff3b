"""The calls' schema check and key conversion answer exactly as the ocpp package's own."""

from __future__ import annotations

from decimal import Decimal
import json
from pathlib import Path
from typing import Any

from ocpp.charge_point import camel_to_snake_case, snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallResult, _validate_payload
import pytest

from custom_components.ev_sessions.sources.ocpp import schema
from custom_components.ev_sessions.sources.ocpp.link import frame_json, keys_to_camel, keys_to_snake
from custom_components.ev_sessions.sources.ocpp.schema import validate_call

SAMPLE = {"value": "1000", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
TX = {"transactionId": "T1"}
EVENT = {"eventType": "Started", "timestamp": "t", "triggerReason": "Authorized", "seqNo": 0}
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("1.6", "NoSuchAction", {}),  # no schema: the package's check alone
    (
        "1.6",
        "MeterValues",
        {"connectorId": 1, "meterValue": [{"timestamp": "x", "sampledValue": [SAMPLE]}]},
    ),
    ("1.6", "MeterValues", {"connectorId": 1, "transactionId": 7, "meterValue": []}),
    ("1.6", "MeterValues", {"connectorId": "one", "meterValue": []}),
    ("1.6", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "x"}]}),
    (
        "1.6",
        "MeterValues",
        {"connectorId": 1, "meterValue": [{"timestamp": "x", "sampledValue": [{"value": 5}]}]},
    ),
    (
        "1.6",
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [{"timestamp": "x", "sampledValue": [{**SAMPLE, "unit": "MWh"}]}],
        },
    ),
    ("1.6", "MeterValues", {"meterValue": []}),
    ("1.6", "MeterValues", {"connectorId": 1.0, "meterValue": []}),  # draft 4: not an integer
    ("1.6", "MeterValues", {"connectorId": True, "meterValue": []}),
    (
        "1.6",
        "StatusNotification",  # formats are not checked, as the package does not
        {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "soon"},
    ),
    (
        "1.6",
        "StartTransaction",
        {"connectorId": 1, "idTag": "A", "meterStart": 0, "timestamp": "t"},
    ),
    (
        "1.6",
        "StartTransaction",
        {"connectorId": 1, "idTag": "A" * 21, "meterStart": 0, "timestamp": "t"},
    ),
    ("1.6", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}),
    ("1.6", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Dancing"}),
    ("1.6", "Heartbeat", {}),
    ("1.6", "Heartbeat", {"extra": 1}),
    ("2.0.1", "Heartbeat", {}),
    ("2.0.1", "TransactionEvent", {**EVENT, "transactionInfo": TX}),
    ("2.0.1", "TransactionEvent", {**EVENT, "eventType": "Begun", "transactionInfo": TX}),
    ("2.0.1", "TransactionEvent", EVENT),  # no transactionInfo
    (
        "2.0.1",
        "MeterValues",
        {"evseId": 1, "meterValue": [{"timestamp": "t", "sampledValue": [{"value": 1.5}]}]},
    ),
    (
        "2.0.1",
        "MeterValues",
        {"evseId": 1, "meterValue": [{"timestamp": "t", "sampledValue": [{"value": "1.5"}]}]},
    ),
]


def _outcome(check: Any, version: str, action: str, payload: dict[str, Any]) -> str:
    try:
        check(Call(unique_id="1", action=action, payload=payload), version)
    except OCPPError as err:
        return type(err).__name__
    return "accepted"


@pytest.mark.parametrize(("version", "action", "payload"), CASES)
def test_same_answer_as_the_package(version: str, action: str, payload: dict[str, Any]) -> None:
    assert _outcome(validate_call, version, action, payload) == _outcome(
        _validate_payload, version, action, payload
    )


def test_each_schema_is_compiled_once_and_used() -> None:
    """A valid call is accepted by the compiled check, without the package's."""
    payload = CASES[1][2]
    assert _outcome(validate_call, "1.6", "MeterValues", payload) == "accepted"
    validate_call(Call(unique_id="1", action="MeterValues", payload=payload), "1.6")
    quick, check = checks = schema._checks[("1.6", "MeterValues")]
    assert quick is not None
    assert quick(payload)
    assert check is not None
    assert check(payload) == payload
    validate_call(Call(unique_id="2", action="MeterValues", payload=payload), "1.6")
    assert schema._checks[("1.6", "MeterValues")] is checks


def test_keys_are_converted_exactly_as_the_package_does() -> None:
    """Every payload of the recorded charge-point traces, both ways."""
    payloads = [
        json.loads(line)["frame"][-1]
        for trace in sorted((Path(__file__).parent / "fixtures" / "ocpp").glob("*.jsonl"))
        for line in trace.read_text().splitlines()
        if line.strip()
    ]
    payloads = [p for p in payloads if isinstance(p, dict)]
    assert len(payloads) > 20
    for payload in [*payloads, *(case[2] for case in CASES)]:
        snake = camel_to_snake_case(payload)
        assert keys_to_snake(payload) == snake
        assert keys_to_camel(snake) == snake_to_camel_case(snake)


def test_frames_are_written_as_the_package_writes_them() -> None:
    """What the package's ``to_json`` writes (compact, Decimals as numbers) for every payload
    of the recorded traces, also where orjson refuses (an integer past 64 bits)."""
    payloads = [
        json.loads(line)["frame"][-1]
        for trace in sorted((Path(__file__).parent / "fixtures" / "ocpp").glob("*.jsonl"))
        for line in trace.read_text().splitlines()
        if line.strip()
    ]
    extra = [{"interval": 2**70}, {"limit": Decimal("6.5"), "text": "Laddbox på gården"}]
    for payload in [p for p in payloads if isinstance(p, dict)] + extra:
        frame = [3, "id-1", payload]
        written = frame_json(frame)
        assert json.loads(written) == json.loads(CallResult("id-1", payload).to_json())
    assert frame_json([3, "a", {"n": 2**70}]) == '[3,"a",{"n":1180591620717411303424}]'
    assert frame_json([3, "a", {"limit": Decimal("6.5")}]) == '[3,"a",{"limit":6.5}]'
    with pytest.raises(TypeError):
        frame_json([3, "a", {"what": object()}])
