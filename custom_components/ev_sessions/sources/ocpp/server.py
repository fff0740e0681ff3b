"""EV Sessions' OCPP central system: one websocket server per port, shared by the charge points.

Charge points connect to ``ws://<home assistant>:<port>/<anything>/<charge point id>``. The
server is started by the first OCPP entry on a port and stopped with the last one. A charge
point that is not configured gets HTTP 404 and a discovered flow, so the user can accept it;
one with a password gets HTTP 401 unless it sends the right Basic credentials (OCPP security
profile 1). With a certificate and key the server speaks TLS (profile 2).

Against abuse: the server listens on every interface or on one address; an address that sent
LOGIN_ATTEMPTS wrong passwords within LOGIN_WINDOW_S gets HTTP 429 for LOGIN_WINDOW_S without
its credentials being checked; unknown ids start at most MAX_DISCOVERIES discovery flows at a
time (and are remembered up to MAX_ANNOUNCED); a frame above MAX_FRAME_BYTES closes the
connection with code 1009 (message too big) as soon as its header is read; a connection that has
not finished its HTTP request within HEADER_TIMEOUT (a half-open socket, a slow-loris client) is
closed, as is one left idle after an HTTP answer.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import hmac
import logging
import ssl
import time
from typing import Any, Protocol
from urllib.parse import unquote

from aiohttp import WSMsgType, web

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.const import CONF_PORT
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from ...const import (
    CONF_CHARGE_POINT_ID,
    CONF_LISTEN_ADDRESS,
    CONF_SSL_CERTIFICATE,
    CONF_SSL_KEY,
    DOMAIN,
)
from ..base import SourceError
from .const import PROTOCOL_16, PROTOCOLS

_LOGGER = logging.getLogger(__name__)

PING_S = 60.0
MAX_FRAME_BYTES = 256 * 1024  # OCPP frames are a few kB; DataTransfer may be more
LOGIN_ATTEMPTS = 5
LOGIN_WINDOW_S = 60.0
MAX_DISCOVERIES = 3
MAX_ANNOUNCED = 256
HEADER_TIMEOUT = timedelta(seconds=30)  # TLS handshake and HTTP request, from the first byte
SERVERS: HassKey[dict[int, OcppServer]] = HassKey(f"{DOMAIN}_ocpp_servers")


_CLOSED = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR)


class WebSocketLink:
    """The connection object the ``ocpp`` package expects (``recv`` and ``send``)."""

    def __init__(self, websocket: web.WebSocketResponse) -> None:
        """Wrap an aiohttp server websocket."""
        self.websocket = websocket

    async def recv(self) -> str:
        """The next text frame; ConnectionError when the websocket closes."""
        while True:
            message = await self.websocket.receive()
            if message.type == WSMsgType.TEXT:
                return str(message.data)
            if message.type == WSMsgType.BINARY:
                return bytes(message.data).decode("utf-8", errors="replace")
            if message.type in (
                WSMsgType.CLOSE,
                WSMsgType.CLOSING,
                WSMsgType.CLOSED,
                WSMsgType.ERROR,
            ):
                raise ConnectionError("websocket closed")

    async def send(self, text: str) -> None:
        """Send a text frame."""
        if self.websocket.closed:
            raise ConnectionError("websocket closed")
        await self.websocket.send_str(text)

    async def close(self) -> None:
        """Close the websocket."""
        await self.websocket.close()


def load_ssl_context(certificate: str, key: str) -> ssl.SSLContext:
    """A server TLS context from PEM files (blocking: run in the executor)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    return context


def _charge_point_id(path: str) -> str:
    return unquote(path.rstrip("/").rsplit("/", 1)[-1])


def _authorized(request: web.Request, charge_point_id: str, password: str) -> bool:
    """Basic auth with the charge point id as user name (OCPP security profile 1)."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, given = base64.b64decode(encoded).decode("utf-8").partition(":")
    except ValueError:  # not base64, not ASCII, not UTF-8
        return False
    return hmac.compare_digest(user.encode(), charge_point_id.encode()) & hmac.compare_digest(
        given.encode(), password.encode()
    )


class ServedChargePoint(Protocol):
    """What the server needs of a charge point it serves (the source)."""

    charge_point_id: str
    port: int
    password: str | None
    data: Mapping[str, Any]

    async def async_serve(self, websocket: WebSocketLink, protocol: str) -> None:
        """Talk to the charge point until the websocket closes."""


@dataclass
class OcppServer:
    """One listening port and the charge points registered on it."""

    hass: HomeAssistant
    port: int
    sources: dict[str, ServedChargePoint] = field(default_factory=dict)
    runner: web.AppRunner | None = None
    host: str | None = None  # None: every interface
    announced: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    failures: dict[str, list[float]] = field(default_factory=dict)  # by remote address
    # Connections not (yet) serving a charge point, by id of their handler: since when.
    waiting: dict[int, datetime] = field(default_factory=dict)
    serving: set[int] = field(default_factory=set)
    unsweep: CALLBACK_TYPE | None = None

    async def async_start(self, ssl_context: ssl.SSLContext | None) -> None:
        """Listen on the port (on every interface, or on the one address given)."""
        app = web.Application()
        app.router.add_get("/{path:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(
            runner, host=self.host, port=self.port, ssl_context=ssl_context, reuse_address=True
        )
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            raise SourceError(
                f"cannot listen on port {self.port}: {err}", "port_in_use", port=str(self.port)
            ) from err
        self.runner = runner
        self.unsweep = async_track_time_interval(self.hass, self._sweep, HEADER_TIMEOUT / 3)
        _LOGGER.info(
            "OCPP central system listening on %s port %s", self.host or "all addresses", self.port
        )

    async def async_stop(self) -> None:
        """Close every connection and stop listening."""
        if self.unsweep is not None:
            self.unsweep()
            self.unsweep = None
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    @callback
    def _sweep(self, now: datetime) -> None:
        """Close connections that never finished a request in time (half-open, slow-loris).

        Forget the addresses whose wrong passwords have expired.
        """
        server = None if self.runner is None else self.runner.server
        if server is None:  # pragma: no cover - the sweep stops with the runner
            return
        # Addresses whose wrong passwords are all older than the lock-out are forgotten: an
        # exposed port tried from address after address would otherwise keep every one.
        moment = time.monotonic()
        self.failures = {
            address: tries
            for address, tries in self.failures.items()
            if tries and moment - tries[-1] < LOGIN_WINDOW_S
        }
        handlers = server.connections
        alive = {id(handler) for handler in handlers}
        self.waiting = {key: since for key, since in self.waiting.items() if key in alive}
        self.serving &= alive
        now = dt_util.utcnow()
        for handler in handlers:
            key = id(handler)
            if key in self.serving:
                continue
            since = self.waiting.setdefault(key, now)
            if now - since >= HEADER_TIMEOUT:
                _LOGGER.debug("Closing a connection that sent no request in %s", HEADER_TIMEOUT)
                self.waiting.pop(key)
                handler.force_close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        charge_point_id = _charge_point_id(request.match_info["path"])
        source = self.sources.get(charge_point_id)
        if source is None:
            self._discovered(charge_point_id)
            return web.Response(status=404, text="Unknown charge point")
        if source.password and self._locked_out(request.remote):
            return web.Response(status=429, headers={"Retry-After": str(int(LOGIN_WINDOW_S))})
        if source.password and not _authorized(request, charge_point_id, source.password):
            self._failed(request.remote)
            if charge_point_id not in self.refused:
                self.refused.add(charge_point_id)
                _LOGGER.warning("Charge point %s sent a wrong password", charge_point_id)
            return web.Response(
                status=401, headers={"WWW-Authenticate": 'Basic realm="OCPP"'}, text="Unauthorized"
            )
        # Websocket pings find a box that vanished without closing (power cut, network).
        websocket = web.WebSocketResponse(
            protocols=PROTOCOLS, autoping=True, heartbeat=PING_S, max_msg_size=MAX_FRAME_BYTES
        )
        await websocket.prepare(request)
        key = id(request.protocol)
        self.serving.add(key)
        try:
            protocol = websocket.ws_protocol or PROTOCOL_16
            await source.async_serve(WebSocketLink(websocket), protocol)
            if not websocket.closed:
                await websocket.close()
        finally:
            self.serving.discard(key)
            self.waiting.pop(key, None)
        return websocket

    def _failed(self, address: str | None) -> None:
        """Count a wrong password from an address."""
        now = time.monotonic()
        key = address or ""
        recent = [t for t in self.failures.get(key, []) if now - t < LOGIN_WINDOW_S]
        self.failures[key] = [*recent, now]
        if len(self.failures[key]) == LOGIN_ATTEMPTS:
            _LOGGER.warning(
                "%s sent %s wrong OCPP passwords: refused for %s s",
                key or "An unknown address",
                LOGIN_ATTEMPTS,
                int(LOGIN_WINDOW_S),
            )

    def _locked_out(self, address: str | None) -> bool:
        """Whether an address sent too many wrong passwords lately."""
        now = time.monotonic()
        recent = [t for t in self.failures.get(address or "", []) if now - t < LOGIN_WINDOW_S]
        if not recent:
            self.failures.pop(address or "", None)
        return len(recent) >= LOGIN_ATTEMPTS

    def _discovered(self, charge_point_id: str) -> None:
        """Offer an unknown charge point to the user (once per run, a few at a time)."""
        if charge_point_id in self.announced or not charge_point_id:
            return
        pending = self.hass.config_entries.flow.async_progress_by_handler(
            DOMAIN, match_context={"source": SOURCE_INTEGRATION_DISCOVERY}
        )
        if len(pending) >= MAX_DISCOVERIES or len(self.announced) >= MAX_ANNOUNCED:
            _LOGGER.debug("Unknown charge point %s not offered: too many", charge_point_id)
            return
        self.announced.add(charge_point_id)
        _LOGGER.info("Unknown charge point %s knocked on port %s", charge_point_id, self.port)
        discovery_flow.async_create_flow(
            self.hass,
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data={CONF_CHARGE_POINT_ID: charge_point_id, CONF_PORT: self.port},
        )


async def async_register(
    hass: HomeAssistant, source: ServedChargePoint
) -> Callable[[], Awaitable[None]]:
    """Put a charge point on its port's server (starting it); return the release."""
    servers = hass.data.setdefault(SERVERS, {})
    server = servers.get(source.port)
    if server is None:
        context = None
        certificate = source.data.get(CONF_SSL_CERTIFICATE)
        key = source.data.get(CONF_SSL_KEY)
        if certificate and key:
            try:
                context = await hass.async_add_executor_job(load_ssl_context, certificate, key)
            except (OSError, ssl.SSLError) as err:
                raise SourceError(f"cannot load the certificate: {err}", "certificate") from err
        server = OcppServer(hass, source.port, host=source.data.get(CONF_LISTEN_ADDRESS) or None)
        await server.async_start(context)
        servers[source.port] = server
    if source.charge_point_id in server.sources:
        raise SourceError(
            f"charge point {source.charge_point_id} is already served",
            "already_served",
            name=source.charge_point_id,
        )
    server.sources[source.charge_point_id] = source

    async def release() -> None:
        server.sources.pop(source.charge_point_id, None)
        if not server.sources:
            servers.pop(source.port, None)
            await server.async_stop()

    return release
