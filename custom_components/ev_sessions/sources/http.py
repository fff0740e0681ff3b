"""JSON over HTTP for the wallboxes with a local API."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
import json
import logging
from typing import Any

import aiohttp

from ..const import SOURCE_GOE, SOURCE_OPENEVSE, SOURCE_TESLA_WALL_CONNECTOR
from .base import DeviceFacts, SourceError

_LOGGER = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True, slots=True)
class HttpWallbox:
    """How the config flow recognises one kind of wallbox and reads its serial."""

    title: str
    path: str
    serial_key: str
    with_auth: bool = False
    fallback_key: str | None = None  # proves the kind when old firmware has no serial


HTTP_WALLBOXES: dict[str, HttpWallbox] = {
    SOURCE_GOE: HttpWallbox("go-eCharger", "/api/status?filter=sse", "sse"),
    SOURCE_OPENEVSE: HttpWallbox(
        "OpenEVSE", "/config", "wifi_serial", with_auth=True, fallback_key="firmware"
    ),
    SOURCE_TESLA_WALL_CONNECTOR: HttpWallbox(
        "Tesla Wall Connector", "/api/1/version", "serial_number"
    ),
}


type AuthHeaders = dict[str, str]


def http_status(err: SourceError) -> int | None:
    """The HTTP status the wallbox answered with, when that is what went wrong."""
    cause = err.__cause__
    return cause.status if isinstance(cause, aiohttp.ClientResponseError) else None


class Identity:
    """What an HTTP wallbox says about itself: asked at start and after each reconnect.

    A wallbox that cannot say (old firmware, an error) keeps what is known; the readings do
    not wait for it.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Mapping[str, Any]]],
        parse: Callable[[Mapping[str, Any]], DeviceFacts],
    ) -> None:
        """Start from what the kind of wallbox tells by itself (``parse`` of nothing)."""
        self._fetch = fetch
        self._parse = parse
        self.facts = parse({})
        self._due = True

    async def async_read[T](self, read: Callable[[], Awaitable[T]]) -> T:
        """Read the wallbox; first ask who it is when due (at start, after it was away)."""
        if self._due:
            self._due = False
            try:
                self.facts = self._parse(await self._fetch())
            except SourceError as err:
                _LOGGER.debug("Wallbox did not say what it is: %s", err)
        try:
            return await read()
        except SourceError:
            self._due = True  # away: ask again once it answers
            raise


class SourceAuthError(SourceError):
    """The wallbox refused the credentials (HTTP 401)."""


def basic_auth(username: str, password: str) -> AuthHeaders:
    """The Authorization header for HTTP Basic auth (RFC 7617, UTF-8).

    aiohttp 3.13 deprecates ``BasicAuth`` and the ``auth`` parameter (gone in aiohttp 4);
    a header works on every version Home Assistant ships.
    """
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


async def async_request_json(
    session: aiohttp.ClientSession,
    host: str,
    path: str,
    *,
    method: str = "GET",
    payload: dict[str, Any] | None = None,
    auth: AuthHeaders | None = None,
) -> dict[str, Any]:
    """Send a request to a wallbox and return the JSON object it answers."""
    try:
        async with session.request(
            method, f"http://{host}{path}", json=payload, headers=auth, timeout=TIMEOUT
        ) as response:
            if response.status == 401:
                raise SourceAuthError(
                    f"{host}{path}: credentials refused", "auth_failed", name=host
                )
            response.raise_for_status()
            text = await response.text()
    except (aiohttp.ClientError, TimeoutError) as err:
        raise SourceError(f"{host}{path}: {err}", name=host) from err
    return _parse(host, path, text)


async def async_get_json(
    session: aiohttp.ClientSession,
    host: str,
    path: str,
    auth: AuthHeaders | None = None,
) -> dict[str, Any]:
    """GET a JSON object from a wallbox; SourceError for anything else."""
    return await async_request_json(session, host, path, auth=auth)


def _parse(host: str, path: str, text: str) -> dict[str, Any]:
    try:
        data = json.loads(text, parse_constant=_reject)
    except ValueError as err:
        raise SourceError(
            f"{host}{path}: invalid JSON ({err})", "invalid_answer", name=host
        ) from err
    if not isinstance(data, dict):
        raise SourceError(f"{host}{path}: not a JSON object", "invalid_answer", name=host)
    return data


def _reject(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")
