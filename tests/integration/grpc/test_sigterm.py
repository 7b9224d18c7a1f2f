"""SIGTERM to a child process serving gRPC: in-flight calls finish, new ones are refused."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse

from service_pkg.grpc._testing import EchoRequest, EchoStub

pytestmark = pytest.mark.integration

CHILD = Path(__file__).with_name("drain_app.py")
ROOT = Path(__file__).resolve().parents[3]
DRAIN_DELAY = 1.0
GRACEFUL = 10.0
IN_FLIGHT = 50


async def test_sigterm_lets_50_in_flight_calls_finish_refuses_new_ones_and_exits_0() -> None:
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        str(DRAIN_DELAY),
        str(GRACEFUL),
        "grpc",
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    lines: list[str] = []
    try:
        ready = (await _line_with(child.stdout, "READY", lines)).split()
        port = int(dict(item.split("=") for item in ready[1:])["grpc"])
        channel = Channel("127.0.0.1", port)
        stub = EchoStub(channel)
        health = HealthStub(channel)
        await stub.echo(EchoRequest())  # the connection is up before the clock starts

        # 50 calls of 200 ms plus one of 3 s that keeps the server in its graceful phase
        # long enough to see new calls refused after the drain delay.
        calls = [
            asyncio.create_task(stub.echo(EchoRequest(message=str(i), sleep_ms=200)))
            for i in range(IN_FLIGHT)
        ]
        holder = asyncio.create_task(stub.echo(EchoRequest(message="holder", sleep_ms=3000)))
        await asyncio.sleep(0.05)
        sent = time.monotonic()
        child.send_signal(signal.SIGTERM)

        status = await _health_after_signal(health)
        during_delay = await stub.echo(EchoRequest(message="during the delay"))
        await _line_with(child.stdout, "ComponentStopping grpc", lines)
        with pytest.raises(GRPCError) as refused:
            await stub.echo(EchoRequest(message="after the delay"))
        replies = await asyncio.gather(*calls)
        held = await holder
        channel.close()
        rest, _ = await asyncio.wait_for(child.communicate(), DRAIN_DELAY + GRACEFUL + 20)
        code = child.returncode
        elapsed = time.monotonic() - sent
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert status == HealthCheckResponse.NOT_SERVING
    assert during_delay.message == "during the delay"
    assert refused.value.status is Status.UNAVAILABLE
    assert [r.message for r in replies] == [str(i) for i in range(IN_FLIGHT)]
    assert held.message == "holder"
    assert code == 0
    # The measured timeline (docs/performance.md); shown with pytest -s.
    print(f"\nsigterm sent; exit seen after {elapsed:.3f} s\n{''.join(lines)}{rest.decode()}")  # noqa: T201


async def _health_after_signal(health: HealthStub) -> int:
    """The health answer once the child handled the signal (it flips at once)."""
    deadline = time.monotonic() + 10
    while True:
        reply = await health.Check(HealthCheckRequest(service=""), timeout=5)
        if reply.status == HealthCheckResponse.NOT_SERVING or time.monotonic() > deadline:
            return int(reply.status)
        await asyncio.sleep(0.01)


async def _line_with(stream: asyncio.StreamReader, text: str, seen: list[str]) -> str:
    while True:
        line = (await asyncio.wait_for(stream.readline(), 20)).decode()
        seen.append(line)
        if not line:
            pytest.fail(f"the child ended before printing {text!r}")
        if text in line:
            return line
