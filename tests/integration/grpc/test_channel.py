"""The grpc_channel component: correlation id out, health, ownership."""

from __future__ import annotations

import re
import socket

import pytest
from dependency_injector import containers, providers
from grpclib.client import Channel

from service_pkg import Component
from service_pkg.exceptions import BrokenResourceError
from service_pkg.grpc import GrpcChannelConfig, check_channel, grpc_channel
from service_pkg.grpc._testing import EchoRequest, EchoStub
from service_pkg.logs import bind_correlation_id
from service_pkg.testing import FakeRuntime, run_components

from .conftest import serving

pytestmark = pytest.mark.integration


class Client(containers.DeclarativeContainer):
    config: providers.Dependency[GrpcChannelConfig] = providers.Dependency()
    channel = Component(grpc_channel, config)


def client(port: int, **fields: object) -> Client:
    config = GrpcChannelConfig(host="127.0.0.1", port=port, **fields)  # type: ignore[arg-type]
    return Client(config=providers.Object(config))


async def test_calls_carry_the_bound_correlation_id() -> None:
    async with serving() as (server, _, _):
        container = client(server.port)
        async with run_components(container):
            with bind_correlation_id("from-http-17"):
                reply = await EchoStub(container.channel()).echo(EchoRequest())
    assert reply.correlation_id == "from-http-17"


async def test_without_a_bound_id_the_server_generates_one() -> None:
    async with serving() as (server, _, _):
        container = client(server.port)
        async with run_components(container):
            reply = await EchoStub(container.channel()).echo(EchoRequest())
    assert re.fullmatch(r"[0-9a-v]{20}", reply.correlation_id)


async def test_its_health_passes_while_the_server_serves() -> None:
    async with serving(runtime=FakeRuntime()) as (server, _, _):
        container = client(server.port)
        async with run_components(container) as app:
            report = await app.health()
    assert report["channel"].status == "ok"
    assert not report["channel"].affects_readiness


async def test_its_health_fails_naming_the_address_when_the_server_is_not_serving() -> None:
    runtime = FakeRuntime()
    runtime.set_health("db", "failed", error="down")
    async with serving(runtime=runtime) as (server, _, _):
        container = client(server.port)
        async with run_components(container):
            with pytest.raises(BrokenResourceError, match="answers NOT_SERVING") as caught:
                await check_channel(container.channel())
    assert caught.value.address == f"127.0.0.1:{server.port}"


async def test_its_health_fails_when_nothing_listens() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    container = client(port)
    async with run_components(container):
        with pytest.raises(BrokenResourceError, match=r"health check of 127\.0\.0\.1"):
            await check_channel(container.channel())


async def test_a_given_channel_is_used_and_never_closed() -> None:
    closed: list[bool] = []

    class Recording(Channel):
        def close(self) -> None:
            closed.append(True)
            super().close()

    async with serving() as (server, _, _):
        given = Recording("127.0.0.1", server.port)

        class Given(containers.DeclarativeContainer):
            channel = Component(grpc_channel, channel=providers.Object(given))

        container = Given()
        async with run_components(container):
            with bind_correlation_id("given-1"):
                reply = await EchoStub(container.channel()).echo(EchoRequest())
        assert closed == []
        given.close()
    assert reply.correlation_id == "given-1"
