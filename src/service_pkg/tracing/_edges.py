"""Tracing at the server edges: grpclib listeners (both sides) and Litestar's OTel plugin."""

from __future__ import annotations

from collections.abc import Collection
from contextvars import ContextVar
from typing import TYPE_CHECKING

from opentelemetry import context, propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from service_pkg.tracing._events import INSTRUMENTATION

if TYPE_CHECKING:
    from grpclib.client import Channel
    from grpclib.events import RecvRequest, RecvTrailingMetadata, SendRequest, SendTrailingMetadata
    from grpclib.server import Server
    from litestar.plugins.opentelemetry import OpenTelemetryPlugin

    from service_pkg.tracing._litestar import RouteSpanNames

__all__ = ("instrument_grpc_channel", "instrument_grpc_server_tracing", "litestar_tracing")

# Server codes that are the server's fault (semconv rpc spans: the others leave the status
# unset on a server span); every non-OK code is an error on a client span.
_SERVER_ERRORS = frozenset(
    {"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"}
)

# As for the metrics listeners: one grpclib task per stream runs both listeners, so the
# span and the context token set on RecvRequest are there when the trailers go out.
_SERVER: ContextVar[tuple[Span, object] | None] = ContextVar("service_pkg_grpc_span", default=None)
_CLIENT: ContextVar[Span | None] = ContextVar("service_pkg_grpc_client_span", default=None)


def _attributes(method_name: str) -> tuple[str, dict[str, str]]:
    full = method_name.lstrip("/")
    service, _, method = full.partition("/")
    return full, {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}


def instrument_grpc_server_tracing(
    server: Server, *, tracer_provider: TracerProvider | None = None
) -> None:
    """Give a grpclib server a ``SERVER`` span per call (listeners; before ``start()``).

    ``RecvRequest`` extracts the W3C ``traceparent`` (and ``tracestate``, baggage: the
    global propagator) from the request metadata, starts ``pkg.Svc/Method`` as its child and
    makes it current for the handler (so its logs carry the ids and its outbound calls are
    children); ``SendTrailingMetadata`` sets ``rpc.grpc.status_code`` and the status and
    ends it. A call cancelled by the server's close sends no trailers: its span is not ended.
    """
    from grpclib.events import RecvRequest, SendTrailingMetadata, listen  # noqa: PLC0415

    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    tracer = provider.get_tracer(INSTRUMENTATION)

    async def on_request(event: RecvRequest) -> None:
        parent = propagate.extract(event.metadata)
        name, attributes = _attributes(event.method_name)
        span = tracer.start_span(name, parent, SpanKind.SERVER, attributes)
        token = context.attach(trace.set_span_in_context(span, parent))
        _SERVER.set((span, token))

    async def on_trailers(event: SendTrailingMetadata) -> None:
        call = _SERVER.get()
        if call is None:
            return
        span, token = call
        _SERVER.set(None)
        code = event.status.name
        span.set_attribute("rpc.grpc.status_code", int(event.status.value))
        if code in _SERVER_ERRORS:
            span.set_status(Status(StatusCode.ERROR, code))
        span.end()
        context.detach(token)  # type: ignore[arg-type]  # the token attach() returned

    listen(server, RecvRequest, on_request)
    listen(server, SendTrailingMetadata, on_trailers)


def instrument_grpc_channel(
    channel: Channel, *, tracer_provider: TracerProvider | None = None
) -> None:
    """Give a grpclib client channel a ``CLIENT`` span per call and send ``traceparent``.

    ``SendRequest`` starts ``pkg.Svc/Method`` as a child of the current span and injects
    its context into the request metadata; ``RecvTrailingMetadata`` sets the status (any
    non-``OK`` code is an error) and ends it. A call that fails before trailers arrive
    (connection refused, the client's own deadline) leaves its span unended.
    """
    from grpclib.events import RecvTrailingMetadata, SendRequest, listen  # noqa: PLC0415

    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    tracer = provider.get_tracer(INSTRUMENTATION)

    async def on_request(event: SendRequest) -> None:
        name, attributes = _attributes(event.method_name)
        span = tracer.start_span(name, None, SpanKind.CLIENT, attributes)
        propagate.inject(event.metadata, context=trace.set_span_in_context(span))
        _CLIENT.set(span)

    async def on_trailers(event: RecvTrailingMetadata) -> None:
        span = _CLIENT.get()
        if span is None:
            return
        _CLIENT.set(None)
        span.set_attribute("rpc.grpc.status_code", int(event.status.value))
        if event.status.name != "OK":
            span.set_status(Status(StatusCode.ERROR, event.status.name))
        span.end()

    listen(channel, SendRequest, on_request)
    listen(channel, RecvTrailingMetadata, on_trailers)


def litestar_tracing(
    *,
    tracer_provider: TracerProvider | None = None,
    exclude: Collection[str] = ("/metrics", "/livez", "/readyz", "/healthz"),
) -> tuple[OpenTelemetryPlugin, RouteSpanNames]:
    """Litestar's own ``OpenTelemetryPlugin``, configured the kit's way, and a helper plugin.

    ``Litestar(plugins=[*litestar_tracing()])``. Server spans are named ``METHOD <route
    template>`` with ``http.route`` the template (Litestar's default names them after the raw
    path: one name per id), ``METHOD _OTHER`` when no route matched; probe and scrape paths
    are not traced; the ``receive``/``send`` sub-spans are dropped. The incoming
    ``traceparent`` is honoured (the global propagator). Needs
    ``opentelemetry-instrumentation-asgi`` (in the ``tracing`` extra) and Litestar.
    """
    from service_pkg.tracing._litestar import litestar_plugins  # noqa: PLC0415 - http extra

    return litestar_plugins(tracer_provider, exclude)
