"""The server edges: an ASGI middleware for HTTP and grpclib listeners for gRPC."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from service_pkg.exceptions import ConfigError
from service_pkg.metrics._aggregate import HistogramSeries
from service_pkg.metrics._registry import KitMetrics

if TYPE_CHECKING:
    from grpclib.events import RecvRequest, SendTrailingMetadata
    from grpclib.server import Server

__all__ = (
    "DEFAULT_EXCLUDED_PATHS",
    "OTHER",
    "HttpMetricsMiddleware",
    "instrument_grpc_server",
    "litestar_route",
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Any in the app's parameters: frameworks type their scopes more narrowly (Litestar's
# HTTPScope | WebSocketScope | LifeSpanScope), and any ASGI app must be accepted.
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

OTHER = "_OTHER"
"""The label value of an unknown method and of a request no route matched (semconv's
``_OTHER``): a flood of random paths stays one series."""

DEFAULT_EXCLUDED_PATHS = frozenset({"/metrics", "/livez", "/readyz", "/healthz"})
"""Probe and scrape paths: not measured (``prior-art-http-grpc.md`` §3.3)."""

_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)


def litestar_route(scope: Scope) -> str | None:
    """The route template Litestar's router stores in the scope (``scope["path_template"]``).

    ``None`` when no route matched (404, 405): the middleware then uses :data:`OTHER`.
    """
    template = scope.get("path_template")
    return template if isinstance(template, str) else None


class HttpMetricsMiddleware:
    """Plain ASGI middleware measuring every HTTP request but the excluded paths.

    It records ``http_server_request_duration_seconds`` and ``http_server_active_requests``.

    Wrap the whole application (``HttpMetricsMiddleware(litestar_app, kit)``), outside the
    framework, so 404s, 405s and errors raised before any handler are measured too (a
    Litestar middleware does not run for them). Labels: ``http_request_method`` (unknown →
    ``_OTHER``), ``http_route`` (the template ``route(scope)`` returns after the inner app
    ran, else ``_OTHER``; never the raw path), ``http_response_status_code``, ``error_type``
    (the exception's class when the app raised, the status for a 5xx, else empty).
    Lifespan and websocket scopes pass through untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        kit: KitMetrics,
        *,
        route: Callable[[Scope], str | None] = litestar_route,
        exclude: Collection[str] = DEFAULT_EXCLUDED_PATHS,
    ) -> None:
        if not callable(app):
            raise ConfigError("app", app, "must be an ASGI app")
        if not isinstance(kit, KitMetrics):
            raise ConfigError("kit", type(kit).__name__, "must be the KitMetrics")
        self.app = app
        self._route = route
        self._exclude = frozenset(exclude)
        self._duration = kit.http_duration
        self._active = kit.http_active.values
        self._children: dict[tuple[str, str, int, str], HistogramSeries] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Measure one request."""
        if scope["type"] != "http" or scope.get("path") in self._exclude:
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "")
        if method not in _METHODS:
            method = OTHER
        active, key = self._active, (method,)
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        error = ""
        active[key] = active.get(key, 0.0) + 1
        began = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        except BaseException as exc:
            error = type(exc).__qualname__
            raise
        finally:
            elapsed = time.perf_counter() - began
            active[key] -= 1
            if status == 0:
                status = 500  # nothing was sent: what the server answers for a crashed app
            if not error and status >= 500:  # noqa: PLR2004
                error = str(status)
            self._observe(method, self._route(scope) or OTHER, status, error, elapsed)

    def _observe(self, method: str, route: str, status: int, error: str, elapsed: float) -> None:
        key = (method, route, status, error)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._duration.child(method, route, str(status), error)
        child.observe(elapsed)


# gRPC: one request handler task per stream, and the listeners run in it, so a context
# variable set by RecvRequest is still there when SendTrailingMetadata fires after the
# handler returned (prior-art-http-grpc.md §2.3).
_CALL: ContextVar[tuple[str, float] | None] = ContextVar("service_pkg_grpc_call", default=None)


def instrument_grpc_server(server: Server, kit: KitMetrics) -> None:
    """Add ``rpc_server_call_duration_seconds`` to a grpclib server (before ``start()``).

    Two ``grpclib.events`` listeners: ``RecvRequest`` notes the method and the time,
    ``SendTrailingMetadata`` observes the duration with ``rpc_method`` (``pkg.Svc/Method``)
    and ``rpc_status_code`` (``OK``, ``DEADLINE_EXCEEDED``, …); ``error_type`` is the
    status for anything but ``OK``. ``rpc_server_active_calls`` counts calls in flight.
    Requests refused before a handler (unknown method) have no ``RecvRequest`` and are not
    measured.
    """
    from grpclib.const import Status  # noqa: PLC0415 - the grpc extra is optional
    from grpclib.events import RecvRequest, SendTrailingMetadata, listen  # noqa: PLC0415

    duration = kit.rpc_duration
    active, key = kit.rpc_active.values, ("grpc",)
    active.setdefault(key, 0.0)
    children: dict[tuple[str, Status], HistogramSeries] = {}

    async def on_request(event: RecvRequest) -> None:
        active[key] += 1
        _CALL.set((event.method_name.lstrip("/"), time.perf_counter()))

    async def on_trailers(event: SendTrailingMetadata) -> None:
        call = _CALL.get()
        if call is None:
            return
        _CALL.set(None)
        method, began = call
        active[key] -= 1
        status = (method, event.status)
        child = children.get(status)
        if child is None:
            name = event.status.name
            error = "" if event.status is Status.OK else name
            child = children[status] = duration.child("grpc", method, name, error)
        child.observe(time.perf_counter() - began)

    listen(server, RecvRequest, on_request)
    listen(server, SendTrailingMetadata, on_trailers)
