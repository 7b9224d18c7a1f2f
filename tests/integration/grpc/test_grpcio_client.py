"""The same contract seen by the official grpcio client (an independent implementation)."""

from __future__ import annotations

import json
import re

import pytest

from service_pkg.grpc import GrpcServer
from service_pkg.grpc._testing import EchoService
from service_pkg.testing import FakeRuntime

from .conftest import grpcio, loopback, serving

pytestmark = pytest.mark.integration

ECHO = "/servicepkg.testing.v1.Echo/Echo"


async def test_grpcio_gets_the_answer_and_the_correlation_id_in_initial_metadata() -> None:
    async with serving() as (server, _, _):
        [out] = await grpcio(server.port, "echo", json.dumps({"message": "hi"}), "io-1")
    assert out["code"] == "OK"
    assert out["message"] == "hi"
    assert out["seen_correlation_id"] == "io-1"
    assert out["initial"]["x-correlation-id"] == "io-1"


async def test_grpcio_sees_internal_with_the_go_message_and_no_exception_text() -> None:
    async with serving() as (server, _, _):
        [out] = await grpcio(server.port, "echo", json.dumps({"fail": True}), "io-2")
    assert out["code"] == "INTERNAL"
    assert out["details"] == f"internal server error ({ECHO})"
    assert "boom" not in json.dumps(out)
    assert out["trailing"]["x-correlation-id"] == "io-2"


async def test_grpcio_sees_resource_exhausted_for_a_large_response() -> None:
    async with serving(max_send_size=100) as (server, _, _):
        [out] = await grpcio(server.port, "echo", json.dumps({"reply_bytes": 1000}))
    assert out["code"] == "RESOURCE_EXHAUSTED"
    assert re.fullmatch(r"response too large: \d+ > 100; use paging/streaming", out["details"])


async def test_grpcio_sees_deadline_exceeded_past_call_timeout() -> None:
    async with serving(call_timeout=0.05) as (server, _, _):
        [out] = await grpcio(server.port, "echo", json.dumps({"sleep_ms": 3000}))
    assert out["code"] == "DEADLINE_EXCEEDED"


async def test_health_reports_serving_for_the_server_and_each_service() -> None:
    async with serving(runtime=FakeRuntime()) as (server, _, _):
        overall = await grpcio(server.port, "health", "")
        echo = await grpcio(server.port, "health", "servicepkg.testing.v1.Echo")
    assert overall == [{"status": "SERVING"}]
    assert echo == [{"status": "SERVING"}]


async def test_health_reports_not_serving_when_a_readiness_check_fails() -> None:
    runtime = FakeRuntime()
    runtime.set_health("db", "failed", error="down")
    async with serving(runtime=runtime) as (server, _, _):
        out = await grpcio(server.port, "health", "")
    assert out == [{"status": "NOT_SERVING"}]


async def test_health_of_an_unknown_service_is_not_found() -> None:
    async with serving(runtime=FakeRuntime()) as (server, _, _):
        out = await grpcio(server.port, "health", "no.such.Service")
    assert out[0]["code"] == "NOT_FOUND"


async def test_reflection_lists_and_describes_the_betterproto_service() -> None:
    async with serving(reflection=True) as (server, _, _):
        [out] = await grpcio(server.port, "reflect")
    assert "servicepkg.testing.v1.Echo" in out["services"]
    assert "grpc.health.v1.Health" in out["services"]
    assert out["described"]["servicepkg.testing.v1.Echo"] == {
        "Echo": ["servicepkg.testing.v1.EchoRequest", "servicepkg.testing.v1.EchoReply"],
        "EchoStream": ["servicepkg.testing.v1.EchoRequest", "servicepkg.testing.v1.EchoReply"],
    }


async def test_reflection_is_off_by_default() -> None:
    async with GrpcServer([EchoService()], loopback()) as server:
        [out] = await grpcio(server.port, "reflect")
    assert out == {"code": "UNIMPLEMENTED"}
