"""Serving ``/metrics``: a standalone exporter component and an ASGI app for HTTP servers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Self

from prometheus_client import CONTENT_TYPE_LATEST

from service_pkg._checks import seconds
from service_pkg.exceptions import BrokenResourceError, ConfigError
from service_pkg.metrics._edges import ASGIApp, Receive, Scope, Send
from service_pkg.metrics._registry import KitMetrics

__all__ = ("ExporterConfig", "MetricsExporter", "metrics_asgi_app", "metrics_exporter")

log = logging.getLogger("service_pkg.metrics")

_HEAD_LIMIT = 8192


@dataclass(frozen=True, slots=True, kw_only=True)
class ExporterConfig:
    """Where the standalone exporter listens.

    Raises:
        ConfigError: ``port`` is not 0..65535, ``host`` is empty, ``path`` does not start
            with ``/``, or ``read_timeout`` is not a positive number of seconds.

    .. versionadded:: 0.3.0
    """

    host: str = "0.0.0.0"  # noqa: S104 - Prometheus scrapes from another host (the pod's IP)
    """Address to bind; ``127.0.0.1`` keeps it local."""
    port: int = 9464
    """Port to bind (9464: the OpenTelemetry Prometheus exporter's); 0 picks a free one."""
    path: str = "/metrics"
    read_timeout: float = 5.0
    """Seconds a client may take to send its request head."""

    def __post_init__(self) -> None:
        """Validate the fields."""
        port: object = self.port
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:  # noqa: PLR2004
            raise ConfigError("port", port, "must be an int in 0..65535 (0: any free port)")
        host: object = self.host
        if not isinstance(host, str) or not host:
            raise ConfigError("host", host, "must be a host name or address")
        path: object = self.path
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError("path", path, "must start with /")
        seconds("read_timeout", self.read_timeout)


class MetricsExporter:
    """A small HTTP/1.1 listener answering ``GET <path>`` with the Prometheus exposition.

    ``async with MetricsExporter(kit, config):`` binds (start means bound: :attr:`port` is
    the real port); every request gets one answer and the connection is closed.
    :meth:`aclose` (idempotent) stops accepting, cancels requests still being read and
    waits for them. Other paths get 404, other methods 405.

    Raises (on enter):
        BrokenResourceError: the address cannot be bound (names host and port).

    .. versionadded:: 0.3.0
    """

    def __init__(self, kit: KitMetrics, config: ExporterConfig | None = None) -> None:
        self._kit = kit
        self._config = config or ExporterConfig()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __repr__(self) -> str:
        """Show the address."""
        return f"<MetricsExporter {self.url}>"

    @property
    def port(self) -> int:
        """The bound port (the configured one until started)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._config.port

    @property
    def url(self) -> str:
        """``http://host:port/path`` (no credentials exist to mask)."""
        return f"http://{self._config.host}:{self.port}{self._config.path}"

    async def __aenter__(self) -> Self:
        """Bind and start accepting."""
        c = self._config
        try:
            self._server = await asyncio.start_server(self._serve, c.host, c.port)
        except OSError as exc:
            address = f"{c.host}:{c.port}"
            raise BrokenResourceError(
                f"metrics exporter: cannot listen on {address}: {exc.strerror or exc}",
                address=address,
            ) from exc
        log.info("metrics exporter listening", extra={"url": self.url})
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop (see :meth:`aclose`)."""
        await self.aclose()

    async def aclose(self) -> None:
        """Stop accepting, end the requests in flight, and wait for them (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._server is not None:
            self._server.close()
        for task in tuple(self._handlers):
            task.cancel()
        # The handlers are asyncio.start_server's tasks: wait for the ones this stop cancelled.
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._answer(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # the client went away or was too slow: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            if task is not None:
                self._handlers.discard(task)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(self._config.read_timeout):
            head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _HEAD_LIMIT:
            writer.write(_response(431, b"request head too large\n"))
            return
        method, _, rest = head.partition(b" ")
        target = rest.partition(b" ")[0].partition(b"?")[0]
        if target != self._config.path.encode():
            writer.write(_response(404, b"not found\n"))
        elif method not in {b"GET", b"HEAD"}:
            writer.write(_response(405, b"method not allowed\n", allow=True))
        else:
            body = self._kit.exposition()
            writer.write(_response(200, body, head_only=method == b"HEAD"))
        await writer.drain()


_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 431: "Too Large"}


def _response(status: int, body: bytes, *, head_only: bool = False, allow: bool = False) -> bytes:
    kind = CONTENT_TYPE_LATEST if status == 200 else "text/plain; charset=utf-8"  # noqa: PLR2004
    lines = [
        f"HTTP/1.1 {status} {_REASONS[status]}",
        f"Content-Type: {kind}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if allow:
        lines.append("Allow: GET, HEAD")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return head if head_only else head + body


async def metrics_exporter(
    kit: KitMetrics, config: ExporterConfig | None = None
) -> AsyncGenerator[MetricsExporter, object]:
    """Component factory: a :class:`MetricsExporter` serving ``kit``, for services without HTTP.

    ``Component(metrics_exporter, metrics, ExporterConfig(port=9464))``. Start binds (start
    means ready); stop closes the listener. Give it a priority at most the metrics
    component's (``METRICS_PRIORITY`` is the default of neither: the default ``MEDIUM`` is
    fine), so it stops first.

    Raises:
        BrokenResourceError: the address is taken or cannot be bound.
    """
    async with MetricsExporter(kit, config) as exporter:
        yield exporter


def metrics_asgi_app(kit: KitMetrics) -> ASGIApp:
    """A plain ASGI app answering every HTTP request with ``kit``'s exposition.

    Mount it at ``/metrics`` in any ASGI framework; in Litestar:
    ``asgi("/metrics", is_mount=True, copy_scope=True)(metrics_asgi_app(kit))``. It serves
    :meth:`KitMetrics.exposition` (the fast rendering; prometheus-client's own ASGI app
    would render 500 histogram series in ~70 ms instead of ~7), uncompressed, in the text
    format ``0.0.4``; a ``HEAD`` gets the headers only.
    """

    # Annotated: Litestar reads a mounted handler's signature.
    async def metrics_app(scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG001 - the ASGI signature
        if scope["type"] != "http":
            return
        body = kit.exposition()
        headers = [
            (b"content-type", CONTENT_TYPE_LATEST.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        head = scope.get("method") == "HEAD"
        await send({"type": "http.response.body", "body": b"" if head else body})

    return metrics_app
