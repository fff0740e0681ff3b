"""One websocket connection to a charge point: what both protocol versions share."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
import hashlib
import json
import logging
from typing import Any, cast

from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import NotImplementedError as OcppNotImplementedError, OCPPError
from ocpp.messages import Call, CallError, CallResult
from ocpp.routing import on as ocpp_on
import orjson

from .charge_point import ChargePoint
from .const import MESSAGE_ID_MEMORY, OcppCommandError
from .schema import validate_call
from .server import WebSocketLink
from .window import MAX_PENDING

_LOGGER = logging.getLogger(__name__)
LOG_EXCERPT = 500


class _Excerpt(logging.Filter):
    """The ocpp package logs whole frames: never more than an excerpt of one."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if len(message) > LOG_EXCERPT:
            record.msg = f"{message[:LOG_EXCERPT]}… ({len(message)} characters)"
            record.args = ()
        return True


logging.getLogger("ocpp").addFilter(_Excerpt())


def handles[F: Callable[..., Any]](action: str) -> Callable[[F], F]:
    """The ocpp package's ``on`` decorator, typed."""
    return cast(Callable[[F], F], ocpp_on(action))


def _as_number(value: Any) -> Any:
    """A Decimal as a JSON number, as the ocpp package writes it (nothing else is expected)."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def frame_json(frame: list[Any]) -> str:
    """A frame as compact JSON, as the ocpp package writes it (orjson: a few times faster)."""
    try:
        return orjson.dumps(frame, default=_as_number).decode()
    except TypeError:  # what orjson refuses and Python writes (an integer past 64 bits)
        return json.dumps(frame, separators=(",", ":"), default=_as_number)


@lru_cache(maxsize=4096)
def _snake_key(key: str) -> str:
    """A camelCase key in snake_case, exactly as the ocpp package converts it."""
    return str(next(iter(camel_to_snake_case({key: None}))))


@lru_cache(maxsize=4096)
def _camel_key(key: str) -> str:
    """A snake_case key in camelCase, exactly as the ocpp package converts it."""
    return str(next(iter(snake_to_camel_case({key: None}))))


# What a payload's leaves mostly are: kept as they are without a call each.
_LEAVES = frozenset({str, int, float, bool, type(None)})


def _convert(data: Any, key_of: Callable[[str], str]) -> Any:
    if isinstance(data, dict):
        return {
            key_of(key): value if type(value) in _LEAVES else _convert(value, key_of)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [value if type(value) in _LEAVES else _convert(value, key_of) for value in data]
    return data


def keys_to_snake(data: Any) -> Any:
    """``camel_to_snake_case`` of the ocpp package, each key converted once."""
    return _convert(data, _snake_key)


def keys_to_camel(data: Any) -> Any:
    """``snake_to_camel_case`` of the ocpp package, each key converted once."""
    return _convert(data, _camel_key)


class OcppLink:
    """What the charge_point needs from a connection, whatever the protocol version."""

    def __init__(self, charge_point: ChargePoint, websocket: WebSocketLink) -> None:
        """Keep the websocket."""
        self.charge_point = charge_point
        self.websocket = websocket
        # Set when the websocket has closed: a command waiting for an answer fails at once.
        self.closed = asyncio.Event()

    async def start(self) -> None:
        """Serve until the websocket closes."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close the websocket."""
        await self.websocket.close()

    async def set_limit(self, amps: float) -> None:
        """Send a TxDefaultProfile with this limit."""
        raise NotImplementedError

    async def remote_start(self, id_tag: str) -> str:
        """Ask the charge point to start a transaction."""
        raise NotImplementedError

    async def remote_stop(self, transaction_id: str) -> str:
        """Ask the charge point to stop a transaction."""
        raise NotImplementedError

    async def reset(self, *, hard: bool) -> str:
        """Reset the charge point."""
        raise NotImplementedError

    async def change_availability(self, operative: bool) -> str:
        """Make the charge point available or not."""
        raise NotImplementedError

    async def trigger(self, message: str) -> str:
        """Ask for a status, meter values or boot notification now."""
        raise NotImplementedError

    async def unlock(self, connector: int) -> str:
        """Release the cable of a connector."""
        raise NotImplementedError


class ProtocolMixin:
    """Message-level robustness shared by both versions (mixed into the ocpp ChargePoints).

    A frame repeated verbatim (same message id, same content) gets the answer the first one
    got and changes nothing; a message id reused for other content (counters restart after a
    reboot) is a new message.
    """

    charge_point: ChargePoint
    route_map: dict[str, Any]
    _answering: str | None
    format_violation: str
    protocol: str

    def _setup_robustness(self) -> None:
        self._answering = None
        # The ocpp package checks each call, and then the answer made for it, against the
        # schema in the executor: two thread hops per message, a third of the CPU with 100
        # boxes. The call is checked here, on the loop, instead (see schema.py); the
        # answers are built from the package's typed payloads and are not checked again.
        for handlers in self.route_map.values():
            handlers["_skip_schema_validation"] = True

    async def _handle_call(self, msg: Call) -> None:
        """Answer a call as the ocpp package does, with less work per message.

        The call is checked against its schema here (see ``_setup_robustness``), and the
        payload's keys are converted between camelCase and snake_case with the package's own
        functions, remembered per key: the package converts every key of every message anew
        with two regular expressions, a tenth of the CPU per MeterValues. (EV Sessions has
        no after-hooks, which the package would run after the answer.)
        """
        # An action without a handler was answered NotImplemented in route_message.
        handler = self.route_map[msg.action]["_on_action"]
        validate_call(msg, self._ocpp_version)  # type: ignore[attr-defined]
        try:
            response = handler(**keys_to_snake(msg.payload))  # every handler answers at once
        except Exception as err:
            _LOGGER.exception("Error while handling request '%s'", msg)
            await self._send(msg.create_call_error(err).to_json())
            return
        payload = keys_to_camel(remove_nones(serialize_as_dict(response)))
        await self._send(frame_json([3, msg.unique_id, payload]))

    async def _call(self, payload: Any) -> Any:
        """Send a command; OcppCommandError when the charge point does not answer.

        A connection that closes while the command waits for its answer ends the wait at
        once, instead of after the response time-out.
        """
        closed: asyncio.Event = self.closed  # type: ignore[attr-defined]
        call = asyncio.ensure_future(self.call(payload))  # type: ignore[attr-defined]
        watch = asyncio.ensure_future(closed.wait())
        try:
            await asyncio.wait((call, watch), return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            if not call.done():
                call.cancel()
                await asyncio.wait((call,))
        try:
            return call.result()
        except TimeoutError as err:
            name = self.charge_point.charge_point_id
            raise OcppCommandError(f"{name} did not answer", "no_answer", name=name) from err
        except (ConnectionError, asyncio.CancelledError) as err:
            name = self.charge_point.charge_point_id
            raise OcppCommandError(f"{name} is not connected", "not_connected", name=name) from err

    async def route_message(self, raw_msg: str) -> None:
        """Answer malformed frames with a CALLERROR, a retried frame with the same answer.

        No frame drops the connection: a frame that is not a well-formed OCPP message (not
        JSON, nested too deep, an object where the action belongs, a message id that is not
        a string of 1-36 characters) gets a CALLERROR; an answer to no command of ours is
        dropped (the ocpp package would queue it for ever).
        """
        msg, problem, unique_id = read_frame(raw_msg)
        if msg is None:
            self.charge_point.rejected_messages += 1
            _LOGGER.debug("Malformed frame (%s): %.200s", problem, raw_msg)
            await self._send(frame_json([4, unique_id, self.format_violation, problem, {}]))
            return
        if not isinstance(msg, Call):
            call_lock: asyncio.Lock = self._call_lock  # type: ignore[attr-defined]
            if not call_lock.locked():
                _LOGGER.debug("Answer to no command dropped: %.200s", raw_msg)
                return
        else:
            if msg.action == "BootNotification":
                # A reboot restarts the box's message ids: nothing before it is a repeat.
                self.charge_point.answers.clear()
            # A frame with its own time in it (a transaction's start, stop and meter values, a
            # stamped status) is the same event when it comes again: a retry, answered as
            # before and applied once. One without (a Heartbeat, a status without a time) is
            # news when it comes again from a box that reuses message ids (Blink), answered
            # afresh (a Heartbeat's answer is the time the box sets its clock by). Known by a
            # digest of the frame: the memory holds answers, not whole frames.
            if '"timestamp"' in raw_msg:
                key = hashlib.sha256(raw_msg.encode()).hexdigest()
                if (answer := self.charge_point.answers.get(key)) is not None:
                    self.charge_point.repeated_messages += 1
                    await super()._send(answer)  # type: ignore[misc]
                    return
                self._answering = key
            window = self.charge_point.window
            if window.holding and msg.action in REPLAYED and len(window.frames) < MAX_PENDING:
                window.frames.append((self.protocol, raw_msg))
                if window.on_hold is not None:
                    window.on_hold()
            if msg.action not in self.route_map:
                # Not known here: NotImplemented, as the specification words it.
                error = OcppNotImplementedError(details={"cause": f"{msg.action} is not handled"})
                try:
                    await self._send(msg.create_call_error(error).to_json())
                finally:
                    self._answering = None
                return
        # What the ocpp package's route_message does, with the frame parsed once (it
        # would parse it again).
        if not isinstance(msg, Call):
            self._response_queue.put_nowait(msg)  # type: ignore[attr-defined]
            return
        try:
            await self._handle_call(msg)
        except OCPPError as error:
            _LOGGER.exception("Error while handling request '%s'", msg)
            await self._send(msg.create_call_error(error).to_json())
        finally:
            self._answering = None

    async def _send(self, message: str) -> None:
        # The first frame sent after a call came is its answer (every handler answers at
        # once), and only that one: a command sent while the answer waits on a slow socket
        # is not kept as the answer to a repeat of the call.
        if (key := self._answering) is not None:
            self._answering = None
            answers = self.charge_point.answers
            answers[key] = message
            while len(answers) > MESSAGE_ID_MEMORY:
                answers.popitem(last=False)
        await super()._send(message)  # type: ignore[misc]


# What is replayed after a crash while the reorder window held it (a StartTransaction is not:
# its id was given out; the meter values and stop of a transaction never seen are taken up).
REPLAYED = frozenset({"MeterValues", "StopTransaction", "StatusNotification", "TransactionEvent"})

MAX_ID_LENGTH = 36  # OCPP-J: a message id is a string of at most 36 characters


_KINDS: dict[int, type[Call | CallResult | CallError]] = {
    2: Call,
    3: CallResult,
    4: CallError,
}


def read_frame(raw: str) -> tuple[Call | CallResult | CallError | None, str, str]:
    """The message a frame holds, what is wrong with it if nothing, and its message id.

    One parse for the check, the message and the id (they were three); the id is "-1"
    when the frame has no usable one.
    """
    try:
        frame = orjson.loads(raw)  # strict JSON: no NaN; nesting past 1,024 is refused too
    except ValueError:
        return None, "not JSON", "-1"
    if not isinstance(frame, list) or len(frame) < 2:
        return None, "not an OCPP message", "-1"
    unique_id = frame[1]
    if not isinstance(unique_id, str) or not 0 < len(unique_id) <= MAX_ID_LENGTH:
        return None, "the message id is not a string of 1 to 36 characters", "-1"
    kind = _KINDS.get(frame[0]) if isinstance(frame[0], int) else None
    if kind is None:
        return None, "not an OCPP message", unique_id
    if kind is Call and (
        len(frame) != 4 or not isinstance(frame[2], str) or not isinstance(frame[3], dict)
    ):
        return None, "a CALL is [2, id, action, payload]", unique_id
    try:
        return kind(*frame[1:]), "", unique_id
    except TypeError:
        return None, "not an OCPP message", unique_id


def require_accepted(answer: Any, what: str) -> None:
    """A command's answer must be Accepted; else OcppCommandError with what it said."""
    status = answer_status(answer)
    if status != "Accepted":
        raise OcppCommandError(f"{what} {status}", "refused", answer=status)


def answer_status(answer: Any) -> str:
    """The status of a command's answer (None: the charge point answered with an error)."""
    if answer is None:
        raise OcppCommandError(
            "the charge point answered with an error", "refused", answer="CallError"
        )
    return str(answer.status)
