"""Guards of the gRPC server, seen by grpclib's client over loopback."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.events import RecvRequest, SendTrailingMetadata, listen
from grpclib.exceptions import GRPCError
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest
from grpclib.server import Server

from service_pkg.exceptions import StartError
from service_pkg.grpc import GrpcServer
from service_pkg.grpc._testing import EchoReply, EchoRequest, EchoService, EchoStub

from .conftest import loopback, serving

pytestmark = pytest.mark.integration

XID = re.compile(r"[0-9a-v]{20}")
ECHO = "/servicepkg.testing.v1.Echo/Echo"


async def test_a_call_is_answered() -> None:
    async with serving() as (_, stub, _):
        reply = await stub.echo(EchoRequest(message="hi"))
    assert reply.message == "hi"


async def test_a_valid_incoming_correlation_id_is_bound_and_echoed() -> None:
    async with serving() as (server, _, _):
        channel = Channel("127.0.0.1", server.port)
        try:
            async with channel.request(
                ECHO, Cardinality.UNARY_UNARY, EchoRequest, EchoReply, metadata=cid("req:42-a.b")
            ) as stream:
                await stream.send_message(EchoRequest(message="x"), end=True)
                reply = await stream.recv_message()
                initial = stream.initial_metadata
        finally:
            channel.close()
    assert reply is not None
    assert reply.correlation_id == "req:42-a.b"
    assert initial is not None
    assert initial["x-correlation-id"] == "req:42-a.b"


@pytest.mark.parametrize("incoming", ["a" * 65, "bad id", "semi;colon", "sl/ash"])
async def test_an_invalid_correlation_id_is_replaced_by_a_generated_one(incoming: str) -> None:
    async with serving() as (_, stub, _):
        reply = await stub.echo(EchoRequest(), metadata=cid(incoming))
    assert XID.fullmatch(reply.correlation_id)


async def test_a_call_without_correlation_id_gets_a_generated_one() -> None:
    async with serving() as (_, stub, _):
        first = await stub.echo(EchoRequest())
        second = await stub.echo(EchoRequest())
    assert XID.fullmatch(first.correlation_id)
    assert first.correlation_id != second.correlation_id


async def test_an_unexpected_exception_is_internal_with_the_go_message() -> None:
    async with serving() as (_, stub, _):
        with pytest.raises(GRPCError) as caught:
            await stub.echo(EchoRequest(fail=True))
    assert caught.value.status is Status.INTERNAL
    assert caught.value.message == f"internal server error ({ECHO})"


async def test_an_unexpected_exception_is_logged_once_with_its_stack(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with serving() as (_, stub, _):
        with caplog.at_level(logging.INFO), pytest.raises(GRPCError):
            await stub.echo(EchoRequest(fail=True))
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert "boom-7f3a" in str(errors[0].exc_info[1])


async def test_the_error_response_carries_the_correlation_id_in_its_trailers() -> None:
    async with serving() as (server, _, _):
        channel = Channel("127.0.0.1", server.port)
        try:
            async with channel.request(
                ECHO, Cardinality.UNARY_UNARY, EchoRequest, EchoReply, metadata=cid("err-1")
            ) as stream:
                await stream.send_message(EchoRequest(fail=True), end=True)
                with pytest.raises(GRPCError):
                    await stream.recv_message()
                trailing = stream.trailing_metadata
        finally:
            channel.close()
    assert trailing is not None
    assert trailing["x-correlation-id"] == "err-1"


# 1025 bytes: 1000 of payload, a 20-character generated correlation id, and field headers.
async def test_a_response_over_max_send_size_is_resource_exhausted() -> None:
    async with serving(max_send_size=100) as (_, stub, _):
        with pytest.raises(GRPCError) as caught:
            await stub.echo(EchoRequest(reply_bytes=1000))
    assert caught.value.status is Status.RESOURCE_EXHAUSTED
    assert caught.value.message == "response too large: 1025 > 100; use paging/streaming"


async def test_a_response_at_max_send_size_passes() -> None:
    async with serving(max_send_size=1025) as (_, stub, _):
        reply = await stub.echo(EchoRequest(reply_bytes=1000))
    assert len(reply.payload) == 1000


async def test_a_request_over_max_receive_size_is_resource_exhausted() -> None:
    async with serving(max_receive_size=50) as (_, stub, _):
        with pytest.raises(GRPCError) as caught:
            await stub.echo(EchoRequest(message="m" * 100))
    assert caught.value.status is Status.RESOURCE_EXHAUSTED
    assert caught.value.message == "received message larger than max (102 vs. 50)"


async def test_a_call_past_call_timeout_is_deadline_exceeded() -> None:
    async with serving(call_timeout=0.05) as (_, stub, _):
        with pytest.raises(GRPCError) as caught:
            await stub.echo(EchoRequest(sleep_ms=5000))
    assert caught.value.status is Status.DEADLINE_EXCEEDED
    assert caught.value.message is not None
    assert "longer than 0.05 s" in caught.value.message


async def test_the_clients_deadline_still_ends_the_call_deadline_exceeded() -> None:
    async with serving(call_timeout=30) as (_, stub, service):
        with pytest.raises((GRPCError, asyncio.TimeoutError)) as caught:
            await stub.echo(EchoRequest(sleep_ms=5000), timeout=0.1)
    if isinstance(caught.value, GRPCError):
        assert caught.value.status is Status.DEADLINE_EXCEEDED
    assert service.finished == 0


async def test_a_taken_port_is_a_start_error_naming_the_address() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = GrpcServer([EchoService()], loopback().__class__(host="127.0.0.1", port=port))
        with pytest.raises(StartError, match=f"cannot listen on 127.0.0.1:{port}"):
            await server.__aenter__()


@pytest.fixture
def _access_logger_at_info() -> Iterator[None]:
    """Tests run without ``logs.configure()``: let the access logger's level allow INFO."""
    logger = logging.getLogger("service_pkg.grpc.access")
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(logging.NOTSET)


def access_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.usefixtures("_access_logger_at_info")
async def test_one_access_line_per_call_with_method_status_and_duration() -> None:
    stream = io.StringIO()
    async with serving(access_stream=stream) as (_, stub, _):
        await stub.echo(EchoRequest(), metadata=cid("log-1"))
        with pytest.raises(GRPCError):
            await stub.echo(EchoRequest(fail=True), metadata=cid("log-2"))
    lines = access_lines(stream)
    assert [(r["rpc.method"], r["rpc.status_code"]) for r in lines] == [
        (ECHO, "OK"),
        (ECHO, "INTERNAL"),
    ]
    assert [r["correlation_id"] for r in lines] == ["log-1", "log-2"]
    assert all(r["duration_ms"] >= 0 for r in lines)
    assert all(str(r["peer"]).startswith("127.0.0.1:") for r in lines)


@pytest.mark.usefixtures("_access_logger_at_info")
async def test_an_access_line_has_the_json_log_keys_first() -> None:
    stream = io.StringIO()
    async with serving(access_stream=stream) as (_, stub, _):
        await stub.echo(EchoRequest(), metadata=cid("keys-1"))
    [line] = access_lines(stream)
    assert list(line)[:5] == ["timestamp", "level", "logger", "message", "correlation_id"]
    assert (line["level"], line["logger"], line["message"]) == (
        "INFO",
        "service_pkg.grpc.access",
        "call completed",
    )


@pytest.mark.usefixtures("_access_logger_at_info")
async def test_the_access_log_can_be_turned_off() -> None:
    stream = io.StringIO()
    async with serving(access_log=False, access_stream=stream) as (_, stub, _):
        await stub.echo(EchoRequest())
    assert stream.getvalue() == ""


async def test_raising_the_access_logger_level_turns_the_access_log_off() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("service_pkg.grpc.access")
    logger.setLevel(logging.WARNING)
    try:
        async with serving(access_stream=stream) as (_, stub, _):
            await stub.echo(EchoRequest())
    finally:
        logger.setLevel(logging.NOTSET)
    assert stream.getvalue() == ""


@pytest.mark.usefixtures("_access_logger_at_info")
async def test_health_calls_are_not_access_logged() -> None:
    stream = io.StringIO()
    async with serving(access_stream=stream) as (server, _, _):
        channel = Channel("127.0.0.1", server.port)
        await HealthStub(channel).Check(HealthCheckRequest())
        channel.close()
    assert stream.getvalue() == ""


async def test_instrument_hooks_add_listeners_that_see_the_final_status() -> None:
    seen: list[tuple[str, Status]] = []
    methods: list[str] = []

    def instrument(server: Server) -> None:
        async def on_request(event: RecvRequest) -> None:
            methods.append(event.method_name)

        async def on_trailers(event: SendTrailingMetadata) -> None:
            seen.append(("trailers", event.status))

        listen(server, RecvRequest, on_request)
        listen(server, SendTrailingMetadata, on_trailers)

    async with GrpcServer([EchoService()], loopback(), instrument=[instrument]) as server:
        channel = Channel("127.0.0.1", server.port)
        stub = EchoStub(channel)
        await stub.echo(EchoRequest())
        with pytest.raises(GRPCError):
            await stub.echo(EchoRequest(fail=True))
        channel.close()
    assert methods == [ECHO, ECHO]
    assert seen == [("trailers", Status.OK), ("trailers", Status.INTERNAL)]


# -- helpers ------------------------------------------------------------------------------


def cid(value: str) -> dict[str, str]:
    return {"x-correlation-id": value}
