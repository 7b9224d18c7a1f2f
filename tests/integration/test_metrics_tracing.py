"""One trace across HTTP → gRPC: Litestar's plugin, the grpclib listeners on both sides.

The outbound call goes through the kit's own client, ``service_pkg.grpc.grpc_channel``, with
the tracing listeners given by its ``instrument=`` (as a service wires it).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from grpclib.client import Channel
from grpclib.health.service import Health
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest
from grpclib.server import Server
from litestar import Litestar, get
from litestar.params import FromPath
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, StatusCode

from service_pkg.grpc import GrpcChannelConfig, grpc_channel
from service_pkg.tracing import (
    instrument_grpc_channel,
    instrument_grpc_server_tracing,
    litestar_tracing,
)
from tests.integration.redis_server import free_port
from tests.unit.tracing.spans import Spans

pytestmark = pytest.mark.integration


@pytest.fixture(name="spans")
def _spans() -> Spans:
    return Spans()


@pytest.fixture(name="channel")
async def _channel(spans: Spans) -> AsyncIterator[Channel]:
    server = Server([Health()])
    instrument_grpc_server_tracing(server, tracer_provider=spans.provider)
    port = free_port()
    await server.start("127.0.0.1", port)
    hook = functools.partial(instrument_grpc_channel, tracer_provider=spans.provider)
    client = contextlib.asynccontextmanager(grpc_channel)
    async with client(GrpcChannelConfig(port=port), instrument=[hook]) as channel:
        yield channel
    server.close()
    await server.wait_closed()


def client_for(spans: Spans, channel: Channel) -> httpx.AsyncClient:
    @get("/check/{service:str}")
    async def check(service: FromPath[str]) -> str:
        reply = await HealthStub(channel).Check(HealthCheckRequest())
        return f"{service}: {reply.status}"

    app: Any = Litestar([check], plugins=[*litestar_tracing(tracer_provider=spans.provider)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_http_to_grpc_is_one_trace_with_parent_links(spans: Spans, channel: Channel) -> None:
    """HTTP server span → gRPC client span → gRPC server span, under the caller's traceparent."""
    caller = spans.provider.get_tracer("caller").start_span("caller")
    headers: dict[str, str] = {}
    propagate.inject(headers, context=trace.set_span_in_context(caller))
    async with client_for(spans, channel) as client:
        response = await client.get("/check/users", headers=headers)
    caller.end()
    assert response.status_code == 200

    http = spans.named("GET /check/{service}")
    client_span = next(s for s in spans.finished() if s.kind is SpanKind.CLIENT)
    server_span = next(s for s in spans.finished() if s.kind is SpanKind.SERVER and s is not http)
    assert http.kind is SpanKind.SERVER
    assert http.parent is not None
    assert http.parent.span_id == caller.get_span_context().span_id
    assert client_span.name == "grpc.health.v1.Health/Check"
    assert client_span.parent is not None
    assert client_span.parent.span_id == http.context.span_id
    assert server_span.name == "grpc.health.v1.Health/Check"
    assert server_span.parent is not None
    assert server_span.parent.span_id == client_span.context.span_id
    trace_ids = {s.context.trace_id for s in (http, client_span, server_span)}
    assert trace_ids == {caller.get_span_context().trace_id}


async def test_a_grpc_error_status_marks_both_rpc_spans(spans: Spans, channel: Channel) -> None:
    """NOT_FOUND: an error on the client span; not a server fault, so the server span is unset."""
    with pytest.raises(Exception, match="NOT_FOUND"):
        await HealthStub(channel).Check(HealthCheckRequest(service="nope"))
    client_span = next(s for s in spans.finished() if s.kind is SpanKind.CLIENT)
    server_span = next(s for s in spans.finished() if s.kind is SpanKind.SERVER)
    assert client_span.status.status_code is StatusCode.ERROR
    assert server_span.status.status_code is StatusCode.UNSET
    assert server_span.attributes is not None
    assert server_span.attributes["rpc.grpc.status_code"] == 5


async def test_probe_paths_are_not_traced(spans: Spans, channel: Channel) -> None:
    """/readyz makes no span (prior-art-http-grpc.md §3.3)."""

    @get("/readyz", sync_to_thread=False)
    def ready() -> str:
        return "ok"

    app: Any = Litestar([ready], plugins=[*litestar_tracing(tracer_provider=spans.provider)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/readyz")).status_code == 200
    assert spans.finished() == ()


async def test_a_request_no_route_matches_is_named_other(spans: Spans, channel: Channel) -> None:
    """A 404 of a random path is GET _OTHER, never the path."""
    async with client_for(spans, channel) as client:
        assert (await client.get("/no/such/4f2a9c")).status_code == 404
    (span,) = spans.finished()
    assert span.name == "GET _OTHER"
