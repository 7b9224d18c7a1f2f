"""The gRPC listeners on a real grpclib server and the standalone exporter, on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.health.service import Health
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest
from grpclib.server import Server

from service_pkg.exceptions import BrokenResourceError
from service_pkg.metrics import (
    ExporterConfig,
    KitMetrics,
    MetricsExporter,
    instrument_grpc_server,
    metrics_exporter,
)
from tests.integration.redis_server import free_port

pytestmark = pytest.mark.integration

RPC = "rpc_server_call_duration_seconds_count"
METHOD = "grpc.health.v1.Health/Check"


@pytest.fixture(name="grpc_kit")
async def _grpc_kit() -> AsyncIterator[tuple[KitMetrics, Channel]]:
    kit = KitMetrics()
    server = Server([Health()])
    instrument_grpc_server(server, kit)
    port = free_port()
    await server.start("127.0.0.1", port)
    channel = Channel("127.0.0.1", port)
    yield kit, channel
    channel.close()
    server.close()
    await server.wait_closed()


async def test_a_call_is_measured_with_method_and_status(
    grpc_kit: tuple[KitMetrics, Channel],
) -> None:
    """Two OK calls: one series, count 2, no error_type."""
    kit, channel = grpc_kit
    stub = HealthStub(channel)
    for _ in range(2):
        await stub.Check(HealthCheckRequest())
    labels = {"rpc_system_name": "grpc", "rpc_method": METHOD, "rpc_status_code": "OK"}
    assert kit.registry.get_sample_value(RPC, {**labels, "error_type": ""}) == 2
    active = kit.registry.get_sample_value("rpc_server_active_calls", {"rpc_system_name": "grpc"})
    assert active == 0


async def test_an_error_status_is_its_own_series(grpc_kit: tuple[KitMetrics, Channel]) -> None:
    """NOT_FOUND (an unknown service) is labelled with the status and as error_type."""
    kit, channel = grpc_kit
    with pytest.raises(GRPCError) as caught:
        await HealthStub(channel).Check(HealthCheckRequest(service="nope"))
    assert caught.value.status is Status.NOT_FOUND
    labels = {"rpc_system_name": "grpc", "rpc_method": METHOD, "rpc_status_code": "NOT_FOUND"}
    assert kit.registry.get_sample_value(RPC, {**labels, "error_type": "NOT_FOUND"}) == 1


async def test_concurrent_calls_keep_their_own_timing(grpc_kit: tuple[KitMetrics, Channel]) -> None:
    """Twenty calls at once are twenty observations (per-stream state, not shared)."""
    kit, channel = grpc_kit
    stub = HealthStub(channel)
    async with asyncio.TaskGroup() as group:
        for _ in range(20):
            group.create_task(stub.Check(HealthCheckRequest()))
    labels = {"rpc_system_name": "grpc", "rpc_method": METHOD, "rpc_status_code": "OK"}
    assert kit.registry.get_sample_value(RPC, {**labels, "error_type": ""}) == 20


async def test_the_exporter_serves_the_exposition() -> None:
    """GET /metrics answers 200 in the Prometheus text format; other paths 404."""
    kit = KitMetrics()
    gen = metrics_exporter(kit, ExporterConfig(host="127.0.0.1", port=0))
    exporter = await anext(gen)
    async with httpx.AsyncClient() as client:
        scraped = await client.get(exporter.url)
        missing = await client.get(exporter.url.replace("/metrics", "/other"))
        posted = await client.post(exporter.url)
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE service_pkg_job_runs_total counter" in scraped.text
    assert missing.status_code == 404
    assert posted.status_code == 405
    await gen.aclose()


async def test_the_exporter_stops_listening_and_closes_twice() -> None:
    """After aclose the port refuses connections; a second aclose does nothing."""
    exporter = MetricsExporter(KitMetrics(), ExporterConfig(host="127.0.0.1", port=0))
    async with exporter:
        port = exporter.port
    await exporter.aclose()
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=1),
    ):
        pass


async def test_the_exporter_ends_a_client_that_never_sends_its_request() -> None:
    """A silent connection does not hold the stop: it is cancelled."""
    exporter = MetricsExporter(KitMetrics(), ExporterConfig(host="127.0.0.1", port=0))
    async with exporter:
        reader, writer = await asyncio.open_connection("127.0.0.1", exporter.port)
        await asyncio.sleep(0)
    async with asyncio.timeout(5):
        assert await reader.read() == b""
    writer.close()


async def test_a_taken_port_is_a_clear_start_error() -> None:
    """Binding a port in use raises BrokenResourceError naming the address."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        exporter = MetricsExporter(KitMetrics(), ExporterConfig(host="127.0.0.1", port=port))
        with pytest.raises(BrokenResourceError, match=f"127.0.0.1:{port}"):
            await exporter.__aenter__()
