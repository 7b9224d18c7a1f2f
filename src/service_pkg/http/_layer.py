"""The kit's outer ASGI layer: one pure-ASGI callable around the user's Litestar app.

Litestar builds user middleware per route, so it never runs for a request the router does not
match (404/405, litestar #175). Everything that must hold for **every** response lives here,
fused into one callable (a chain of layers costs a call and a ``send`` wrapper each):

1. correlation id: read ``X-Correlation-ID`` (1 to 64 of ``[A-Za-z0-9._:-]``, else generate a
   Go-style xid), bind it to the context variable the JSON logs read, and set (replace) the
   response header;
2. probes and extra routes (``/livez``, ``/readyz``, ``/healthz``, e.g. ``/metrics``),
   answered before the app;
3. the Go drain middleware (503 + ``Retry-After``) when enabled and the application drains;
4. the request body limit (413);
5. the per-request timeout (504), bounding the time until the response **starts**;
6. a last-resort 500 for an exception that escapes the app (the app's own handler from
   :class:`~service_pkg.http.HttpPlugin` normally answers first);
7. the access line, written once the response is done.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar.exceptions import HTTPException

from service_pkg.http._access import AccessLog
from service_pkg.http._deadlines import Deadline, Deadlines
from service_pkg.http._probes import Probes
from service_pkg.logs import new_correlation_id
from service_pkg.logs._correlation import CORRELATION_ID, accepted_id_bytes

__all__ = ("ASGIApp", "KitLayer", "LayerSettings")

log = logging.getLogger("service_pkg.http")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Any, not the dict types above: Litestar and other frameworks annotate with their TypedDicts.
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
"""An ASGI 3 application: ``await app(scope, receive, send)``."""

HEADER = b"x-correlation-id"
_TEXT = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store")]
_JSON = [(b"content-type", b"application/json")]
_BODY_500 = b'{"error":"internal server error"}'
_BODY_504 = b'{"error":"request timed out"}'
_BODY_503 = b'{"error":"service is draining"}'
_BODY_413 = b'{"error":"request body too large"}'


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerSettings:
    """What the layer does; built by the server from its config."""

    probes: Probes
    livez: frozenset[str]
    readyz: str
    routes: Mapping[str, ASGIApp]
    access_log: AccessLog | None
    quiet: frozenset[str]
    """Paths never access-logged: the probes and the configured exclusions."""
    special: frozenset[str]
    """Paths answered without the app: the probes and the extra routes."""
    deadlines: Deadlines | None
    """Set when requests are bounded (``request_timeout``); the server sweeps it."""
    max_body_size: int | None
    draining: Callable[[], bool] | None
    """Set when the drain 503 is enabled: whether the application drains now."""
    retry_after: bytes


class _Exchange:
    """Per-request state the ``send`` wrapper and the layer share."""

    __slots__ = ("deadline", "started", "status")

    def __init__(self) -> None:
        self.started = False
        self.status = 0
        self.deadline: Deadline | None = None


class _BodyTooLargeError(HTTPException):
    status_code = 413
    detail = "request body too large"


_NO_BODY = -1
_CHUNKED = -2


def _incoming(headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, bytes | None, int]:
    """The incoming correlation id, user agent and body length in one pass.

    The length is ``Content-Length``, :data:`_CHUNKED` for a chunked body (its size is only
    known while reading), or :data:`_NO_BODY` (HTTP/1.1 has no other way to send one).
    """
    correlation = agent = None
    length = _NO_BODY
    for name, value in headers:
        if name == HEADER:
            correlation = value
        elif name == b"user-agent":
            agent = value
        elif name == b"content-length" and value.isdigit():
            length = int(value)
        elif name == b"transfer-encoding":
            length = _CHUNKED
    return correlation, agent, length


class KitLayer:
    """The outer ASGI callable the server runs; ``app`` is the user's Litestar app."""

    __slots__ = ("_app", "_s")

    def __init__(self, app: ASGIApp, settings: LayerSettings) -> None:
        self._app = app
        self._s = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope (lifespan and websockets pass straight through)."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        began = time.perf_counter()
        raw_id, agent, length = _incoming(scope["headers"])
        if raw_id is not None and accepted_id_bytes(raw_id):
            correlation_bytes, correlation = raw_id, raw_id.decode("ascii")
        else:
            correlation = new_correlation_id()
            correlation_bytes = correlation.encode("ascii")
        token = CORRELATION_ID.set(correlation)
        exchange = _Exchange()
        s = self._s
        deadlines = s.deadlines

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0].lower() != HEADER]
                headers.append((HEADER, correlation_bytes))
                message["headers"] = headers
                exchange.started = True
                exchange.status = message["status"]
                if exchange.deadline is not None:
                    # The timeout bounds the time to the first byte: streams run on.
                    deadlines.discard(exchange.deadline)  # type: ignore[union-attr]
            await send(message)

        path: str = scope["path"]
        try:
            if (
                path in s.special
                or (s.draining is not None and s.draining())
                or (s.max_body_size is not None and length > s.max_body_size)
            ):
                await self._short_circuit(scope, receive, send_with_id, path)
            else:
                if length == _CHUNKED and s.max_body_size is not None:
                    receive = _limited(receive, s.max_body_size)
                if deadlines is not None:
                    exchange.deadline = deadlines.add(began)
                await self._call_app(scope, receive, send_with_id, exchange)
        finally:
            CORRELATION_ID.reset(token)
            access = self._s.access_log
            if access is not None and path not in self._s.quiet and access.enabled():
                access.write(
                    scope["method"],
                    scope.get("path_template") or (path if path in self._s.routes else None),
                    path,
                    exchange.status or 500,
                    (time.perf_counter() - began) * 1000.0,
                    None if agent is None else agent.decode("latin-1"),
                    correlation,
                )

    async def _short_circuit(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """Answer without the app: a probe, an extra route, the drain 503 or a 413."""
        s = self._s
        if path in s.livez or path == s.readyz:
            await self._probe(scope, send, path)
            return
        route = s.routes.get(path)
        if route is not None:
            await route(scope, receive, send)
            return
        if s.draining is not None and s.draining():
            headers = [*_JSON, (b"retry-after", s.retry_after)]
            await _respond(send, 503, _BODY_503, headers)
            return
        await _respond(send, 413, _BODY_413, _JSON)

    async def _call_app(
        self, scope: Scope, receive: Receive, send: Send, exchange: _Exchange
    ) -> None:
        try:
            if exchange.deadline is None:
                await self._app(scope, receive, send)
            else:
                await self._bounded(scope, receive, send, exchange, exchange.deadline)
        except Exception:
            log.exception("unhandled error in request", extra={"http_path": scope["path"]})
            if not exchange.started:
                await _respond(send, 500, _BODY_500, _JSON)

    async def _bounded(
        self, scope: Scope, receive: Receive, send: Send, exchange: _Exchange, deadline: Deadline
    ) -> None:
        deadlines = self._s.deadlines
        assert deadlines is not None  # noqa: S101 - a deadline comes from it
        try:
            await self._app(scope, receive, send)
        except asyncio.CancelledError:
            # Only our own cancellation becomes a 504, and only when no other is pending
            # (a server shutdown cancels too): the asyncio.timeout() rule.
            if not deadline.expired or deadline.task.uncancel() > 0:
                raise
            log.warning(
                "request timed out before its response started",
                extra={"http_path": scope["path"], "http_timeout": deadlines.limit},
            )
            if not exchange.started:
                exchange.deadline = None
                await _respond(send, 504, _BODY_504, _JSON)
        finally:
            deadlines.discard(deadline)

    async def _probe(self, scope: Scope, send: Send, path: str) -> None:
        verbose = b"verbose" in scope.get("query_string", b"")
        probes = self._s.probes
        if path in self._s.livez:
            status, body = probes.livez(verbose=verbose)
        else:
            status, body = await probes.readyz(verbose=verbose)
        await _respond(send, status, body.encode(), _TEXT)


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that refuses a chunked body past ``limit`` bytes (Litestar answers 413)."""
    seen = 0

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLargeError
        return message

    return counting


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
