"""The drain inside a real Application: health first, then UNAVAILABLE, then the cancel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from dependency_injector import containers, providers
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse

from service_pkg import Application, Component
from service_pkg.app import Runtime, ShutdownReason
from service_pkg.events import DrainEnded
from service_pkg.grpc import GrpcServer, GrpcServerConfig, grpc_server
from service_pkg.grpc._testing import EchoRequest, EchoService, EchoStub
from service_pkg.testing import FakeRuntime, eventually

from .conftest import grpcio, grpcio_command, grpcio_env, loopback

pytestmark = pytest.mark.integration

SERVING = HealthCheckResponse.SERVING
NOT_SERVING = HealthCheckResponse.NOT_SERVING


class Service(containers.DeclarativeContainer):
    runtime = providers.Dependency(instance_of=Runtime)
    config: providers.Dependency[GrpcServerConfig] = providers.Dependency()
    echo: providers.Dependency[EchoService] = providers.Dependency()
    grpc = Component(grpc_server, providers.List(echo), runtime, config, stop_timeout=30)


@asynccontextmanager
async def running(
    *, drain_delay: float, **config: Any
) -> AsyncIterator[tuple[Application, GrpcServer, Channel, EchoService]]:
    service = EchoService()
    container = Service(config=providers.Object(loopback(**config)), echo=providers.Object(service))
    app = Application(container, drain_delay=drain_delay, install_signals=False)
    await app.start()
    server = container.grpc()
    channel = Channel("127.0.0.1", server.port)
    try:
        yield app, server, channel, service
    finally:
        channel.close()
        await app.stop()


async def health(channel: Channel) -> int:
    reply = await HealthStub(channel).Check(HealthCheckRequest(service=""), timeout=5)
    return int(reply.status)


async def test_health_is_not_serving_from_the_first_moment_of_the_drain() -> None:
    async with running(drain_delay=1.5) as (app, _, channel, _):
        assert await health(channel) == SERVING
        stopping = asyncio.create_task(app.stop())
        await asyncio.sleep(0)  # the stop began: readiness went false synchronously
        assert await health(channel) == NOT_SERVING
        await stopping


async def test_calls_are_still_served_during_the_drain_delay() -> None:
    async with running(drain_delay=1.5) as (app, _, channel, _):
        stopping = asyncio.create_task(app.stop())
        await eventually(lambda: _is(health(channel), NOT_SERVING), timeout=10)
        reply = await EchoStub(channel).echo(EchoRequest(message="still here"))
        await stopping
    assert reply.message == "still here"


async def test_grpcio_sees_serving_then_not_serving_on_drain() -> None:
    async with running(drain_delay=1.5) as (app, server, channel, _):
        before = await grpcio(server.port, "health", "")
        stopping = asyncio.create_task(app.stop())
        await eventually(lambda: _is(health(channel), NOT_SERVING), timeout=10)
        after = await grpcio(server.port, "health", "servicepkg.testing.v1.Echo")
        await stopping
    assert before == [{"status": "SERVING"}]
    assert after == [{"status": "NOT_SERVING"}]


async def test_a_grpcio_watch_sees_serving_then_not_serving_when_the_drain_begins() -> None:
    async with running(drain_delay=1.5) as (app, server, _, _):
        child = await asyncio.create_subprocess_exec(
            *grpcio_command(server.port, "watch", "", "2"),
            stdout=asyncio.subprocess.PIPE,
            env=grpcio_env(),
        )
        assert child.stdout is not None
        first = json.loads(await asyncio.wait_for(child.stdout.readline(), 40))
        stopping = asyncio.create_task(app.stop())
        second = json.loads(await asyncio.wait_for(child.stdout.readline(), 40))
        await asyncio.wait_for(child.wait(), 40)
        await stopping
    assert [first, second] == [{"status": "SERVING"}, {"status": "NOT_SERVING"}]


async def test_after_the_delay_new_calls_are_unavailable_and_in_flight_ones_finish() -> None:
    async with running(drain_delay=0.2, graceful_timeout=20) as (app, server, channel, _):
        stub = EchoStub(channel)
        in_flight = [
            asyncio.create_task(stub.echo(EchoRequest(message=str(i), sleep_ms=1500)))
            for i in range(10)
        ]
        await eventually(lambda: server.in_flight == 10, timeout=10)
        stopping = asyncio.create_task(app.stop())
        await eventually(lambda: not server.serving, timeout=10)
        with pytest.raises(GRPCError) as refused:
            await stub.echo(EchoRequest(message="late"))
        replies = await asyncio.gather(*in_flight)
        await stopping
    assert refused.value.status is Status.UNAVAILABLE
    assert [r.message for r in replies] == [str(i) for i in range(10)]


async def test_drain_ended_refuses_new_calls_before_the_servers_own_stop() -> None:
    runtime = FakeRuntime()
    async with GrpcServer([EchoService()], loopback(), runtime=runtime) as server:
        channel = Channel("127.0.0.1", server.port)
        stub = EchoStub(channel)
        before = await stub.echo(EchoRequest(message="before"))
        runtime.emit(DrainEnded(reason=ShutdownReason.SIGNAL, delay=1.0))
        with pytest.raises(GRPCError) as refused:
            await stub.echo(EchoRequest(message="after"))
        serving = server.serving
        channel.close()
    assert before.message == "before"
    assert refused.value.status is Status.UNAVAILABLE
    assert serving is False


async def test_calls_past_graceful_timeout_end_unavailable_and_the_stop_ends() -> None:
    async with running(drain_delay=0, graceful_timeout=0.2) as (app, server, channel, service):
        call = asyncio.create_task(EchoStub(channel).echo(EchoRequest(sleep_ms=20_000)))
        await eventually(lambda: server.in_flight == 1, timeout=10)
        await asyncio.wait_for(app.stop(), timeout=15)
        with pytest.raises(GRPCError) as ended:
            await asyncio.wait_for(call, timeout=15)
    assert ended.value.status is Status.UNAVAILABLE
    assert service.finished == 0


async def test_an_open_health_watch_does_not_hold_the_stop() -> None:
    async with running(drain_delay=0.3, graceful_timeout=30) as (app, _, channel, _):
        statuses: list[int] = []

        async def watch() -> None:
            async with HealthStub(channel).Watch.open() as stream:
                await stream.send_message(HealthCheckRequest(service=""), end=True)
                async for reply in stream:
                    statuses.append(int(reply.status))  # noqa: PERF401 - each counts as it comes

        watcher = asyncio.create_task(watch())
        await eventually(lambda: statuses == [SERVING], timeout=10)
        await asyncio.wait_for(app.stop(), timeout=15)
        with pytest.raises(GRPCError) as ended:
            await asyncio.wait_for(watcher, timeout=15)
    assert statuses == [SERVING, NOT_SERVING]
    assert ended.value.status is Status.UNAVAILABLE


async def _is(value: Any, expected: int) -> bool:
    return bool(await value == expected)
