"""Schema checks of the calls a charge point sends, on the event loop.

The ocpp package checks each call with ``jsonschema`` in the executor: a thread hop and
about 0.5 ms per message. Here each action's schema (the package's own files) is compiled
once with ``fastjsonschema``, which accepts a valid call in a few µs. A call it refuses is
checked again by the package's check, so the error a charge point gets back
(TypeConstraintViolation, ProtocolError, …) is exactly the package's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
import logging
from typing import Any

import fastjsonschema
from ocpp.messages import Call, MessageType, _validate_payload, get_validator

_LOGGER = logging.getLogger(__name__)

type _Check = Callable[[Any], Any]
_checks: dict[tuple[str, str], _Check | None] = {}


def _compile(action: str, version: str) -> _Check | None:
    """The action's call schema, compiled (None: left to the package's check alone)."""
    try:
        schema = get_validator(MessageType.Call, action, version).schema
        # The package checks every version's schema as draft 4, without formats; so here.
        return fastjsonschema.compile(
            {**schema, "$schema": "http://json-schema.org/draft-04/schema#"},
            use_default=False,
            use_formats=False,
        )
    except Exception:
        _LOGGER.debug("No fast schema check for %s %s", version, action, exc_info=True)
        return None


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
        check = _checks[key]
    except KeyError:
        check = _checks[key] = _compile(msg.action, version)
    if check is not None:
        try:
            check(msg.payload)
        except fastjsonschema.JsonSchemaException:
            pass  # refused: the package's own check names the error
        else:
            return
    _validate_payload(msg, version)
