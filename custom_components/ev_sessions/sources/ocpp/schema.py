"""Schema checks of the calls a charge point sends, on the event loop.

The ocpp package checks each call with ``jsonschema`` in the executor: a thread hop and
about 0.5 ms per message. Here each action's schema (the package's own files) is compiled
once with ``fastjsonschema``, which accepts a valid call in a few µs. A call it refuses is
checked again by the package's check, so the error a charge point gets back
(TypeConstraintViolation, ProtocolError, …) is exactly the package's.

Before that, a schema made only of what OCPP 1.6's calls use (closed objects, arrays,
strings with their enums and lengths, integers) gets a quicker check of its own
(``quick_check``): it accepts only what the schema accepts, and passes anything else on to
the checks above. A MeterValues with five sampled values takes 3 µs there against 7 µs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
import logging
from typing import Any, cast

import fastjsonschema
from ocpp.messages import Call, MessageType, _validate_payload, get_validator

_LOGGER = logging.getLogger(__name__)

type _Check = Callable[[Any], Any]
type _Quick = Callable[[Any], bool]
# Per (version, action): the quick check (None: none for this schema) and the compiled one
# (None: left to the package's check alone).
_checks: dict[tuple[str, str], tuple[_Quick | None, _Check | None]] = {}

# What a schema may say for the quick check; anything else leaves it to the others. A string's
# ``format`` is not checked (as the package does not), nor ``additionalProperties`` on it (it
# concerns objects alone); a title or a description says nothing.
_QUICK_KEYWORDS = frozenset(
    {
        "$schema",
        "title",
        "description",
        "type",
        "properties",
        "additionalProperties",
        "required",
        "items",
        "minItems",
        "maxItems",
        "enum",
        "maxLength",
        "format",
    }
)
# A value's check: the strings an enum allows, str or int for any of that type, or a function.
type _Leaf = frozenset[str] | type | _Quick


def _quick_value(schema: Any) -> _Leaf | None:
    """The check of one value of a schema (None: the schema says more than it knows)."""
    if not isinstance(schema, dict) or not schema.keys() <= _QUICK_KEYWORDS:
        return None
    kind = schema.get("type")
    if kind == "string":
        longest = schema.get("maxLength")
        if "enum" in schema:
            enum = schema["enum"]
            if not all(type(v) is str for v in enum):
                return None
            return frozenset(v for v in enum if longest is None or len(v) <= longest)
        if longest is not None:
            return lambda data: type(data) is str and len(data) <= longest
        return str
    if kind == "integer":
        return int if schema.keys() <= {"type", "description", "title"} else None
    if kind == "object":
        return _quick_object(schema)
    if kind == "array":
        return _quick_array(schema)
    return None


def _accepts(leaf: frozenset[str] | type, value: Any) -> bool:
    """A string of an enum, or any string or integer (draft 4: 1.0 and True are not)."""
    if type(leaf) is frozenset:
        return type(value) is str and value in leaf
    return type(value) is leaf


def _quick_object(schema: dict[str, Any]) -> _Quick | None:
    """A closed object's check: its required keys, no others, and each value's check."""
    if schema.get("additionalProperties", True) is not False:
        return None
    leaves: dict[str, _Leaf] = {}
    for name, value_schema in schema.get("properties", {}).items():
        if (leaf := _quick_value(value_schema)) is None:
            return None
        leaves[name] = leaf
    required = frozenset(schema.get("required", ()))
    leaf_of = leaves.get

    def _object(data: Any) -> bool:
        if type(data) is not dict or not required <= data.keys():
            return False
        for key, value in data.items():
            # _accepts, written out: this runs for every key of every sampled value.
            leaf = leaf_of(key)
            if leaf is None:
                return False
            if type(leaf) is frozenset:
                if type(value) is not str or value not in leaf:
                    return False
            elif leaf is str or leaf is int:
                if type(value) is not leaf:
                    return False
            elif not cast("_Quick", leaf)(value):
                return False
        return True

    return _object


def _quick_array(schema: dict[str, Any]) -> _Quick | None:
    """An array's check: its length, and each item's check."""
    leaf = _quick_value(schema.get("items"))
    if leaf is None:
        return None
    fewest, most = schema.get("minItems", 0), schema.get("maxItems")
    # An object's check is called as it is (the items of OCPP's arrays are mostly objects).
    each: _Quick = partial(_accepts, leaf) if isinstance(leaf, frozenset | type) else leaf

    def _array(data: Any) -> bool:
        if type(data) is not list or len(data) < fewest or (most is not None and len(data) > most):
            return False
        return all(map(each, data))

    return _array


def quick_check(schema: dict[str, Any]) -> _Quick | None:
    """A check that accepts only calls the schema accepts (None: none for this schema)."""
    if schema.get("type") != "object":
        return None
    return _quick_object(schema)


def _compile(action: str, version: str) -> tuple[_Quick | None, _Check | None]:
    """The action's call schema: its quick check, and compiled.

    None for either: none for this schema, or left to the package's check alone.
    """
    try:
        schema = get_validator(MessageType.Call, action, version).schema
        # The package checks every version's schema as draft 4, without formats; so here.
        compiled = fastjsonschema.compile(
            {**schema, "$schema": "http://json-schema.org/draft-04/schema#"},
            use_default=False,
            use_formats=False,
        )
    except Exception:
        _LOGGER.debug("No fast schema check for %s %s", version, action, exc_info=True)
        return None, None
    return quick_check(schema), compiled


def prepare_checks(version: str, actions: Iterable[str]) -> None:
    """Compile the checks of these actions' calls now.

    The ocpp package reads an action's schema from its file at first use: done here, in the
    executor, when a charge point is set up, not on the event loop at its first call of each
    action (Home Assistant reports file reads on the loop as blocking calls).
    """
    for action in actions:
        key = (version, action)
        if key not in _checks:
            _checks[key] = _compile(action, version)


def checks_ready(version: str, actions: Iterable[str]) -> bool:
    """Whether the checks of these actions' calls are all compiled already."""
    return all((version, action) in _checks for action in actions)


def handled_actions(link: type) -> list[str]:
    """The actions a charge point class answers (its ``on`` handlers)."""
    return sorted(
        action
        for name in dir(link)
        if isinstance(action := getattr(getattr(link, name, None), "_on_action", None), str)
    )


def validate_call(msg: Call, version: str) -> None:
    """Raise the ocpp package's error for a call that breaks its action's schema."""
    key = (version, msg.action)
    try:
        quick, check = _checks[key]
    except KeyError:
        quick, check = _checks[key] = _compile(msg.action, version)
    if quick is not None and quick(msg.payload):
        return
    if check is not None:
        try:
            check(msg.payload)
        except fastjsonschema.JsonSchemaException:
            pass  # refused: the package's own check names the error
        else:
            return
    _validate_payload(msg, version)
