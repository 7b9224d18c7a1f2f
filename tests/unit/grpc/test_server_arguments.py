"""GrpcServer refuses bad arguments at construction, before anything binds."""

from __future__ import annotations

from typing import Any

import pytest

from service_pkg.exceptions import ClosedResourceError, ConfigError
from service_pkg.grpc import GrpcServer, GrpcServerConfig
from service_pkg.grpc._testing import EchoService


@pytest.mark.parametrize("services", [[], "svc", [object()]])
def test_services_must_be_grpclib_servables(services: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        GrpcServer(services)
    assert caught.value.field == "services"


def test_runtime_must_be_a_runtime() -> None:
    with pytest.raises(ConfigError) as caught:
        GrpcServer([EchoService()], runtime=object())  # type: ignore[arg-type]
    assert caught.value.field == "runtime"


def test_the_port_is_unknown_before_the_start() -> None:
    server = GrpcServer([EchoService()], GrpcServerConfig(port=0))
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.port


def test_it_names_its_services() -> None:
    assert GrpcServer([EchoService()]).services == ("servicepkg.testing.v1.Echo",)


async def test_closing_an_unstarted_server_is_a_no_op_and_idempotent() -> None:
    server = GrpcServer([EchoService()])
    await server.aclose()
    await server.aclose()
    assert not server.serving


async def test_a_closed_server_cannot_start_again() -> None:
    server = GrpcServer([EchoService()])
    await server.aclose()
    with pytest.raises(ClosedResourceError):
        await server.__aenter__()
