"""SIGTERM to one process serving HTTP and gRPC with 50 requests and 50 calls in flight."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from service_pkg.grpc._testing import EchoRequest, EchoStub

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHILD = ROOT / "tests" / "integration" / "grpc" / "drain_app.py"
DRAIN_DELAY = 1.0
GRACEFUL = 10.0
IN_FLIGHT = 50


async def test_sigterm_drains_both_servers_refuses_new_work_after_the_delay_and_exits_0() -> None:
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        str(DRAIN_DELAY),
        str(GRACEFUL),
        "http",
        "grpc",
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    lines: list[str] = []
    limits = httpx.Limits(max_connections=IN_FLIGHT + 10, max_keepalive_connections=0)
    try:
        ready = (await _line_with(child.stdout, "READY", lines)).split()
        ports = {k: int(v) for k, v in (item.split("=") for item in ready[1:])}
        channel = Channel("127.0.0.1", ports["grpc"])
        stub = EchoStub(channel)
        await stub.echo(EchoRequest())  # the connection is up before the clock starts
        base = f"http://127.0.0.1:{ports['http']}"
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            requests = [
                asyncio.create_task(client.get("/sleep", params={"seconds": 0.2}))
                for _ in range(IN_FLIGHT)
            ]
            calls = [
                asyncio.create_task(stub.echo(EchoRequest(message=str(i), sleep_ms=200)))
                for i in range(IN_FLIGHT)
            ]
            # Each server keeps one long piece of work: whichever stops first waits for it in
            # its graceful phase, during which the other must refuse new work already.
            holder = asyncio.create_task(stub.echo(EchoRequest(message="held", sleep_ms=3000)))
            held_request = asyncio.create_task(client.get("/sleep", params={"seconds": 3}))
            await asyncio.sleep(0.05)
            sent = time.monotonic()
            child.send_signal(signal.SIGTERM)
            await _line_with(child.stdout, "ready=False", lines)
            during_delay = await client.get("/ping")
            await _line_with(child.stdout, "DrainEnded", lines)
            with pytest.raises(GRPCError) as refused_call:
                await stub.echo(EchoRequest(message="after the delay"))
            refused_at = time.monotonic() - sent
            connection_refused_at = await _until_connection_refused(client, sent)
            responses = await asyncio.gather(*requests)
            replies = await asyncio.gather(*calls)
            held = await holder
            held_response = await held_request
        channel.close()
        rest, _ = await asyncio.wait_for(child.communicate(), DRAIN_DELAY + GRACEFUL + 20)
        elapsed = time.monotonic() - sent
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert during_delay.status_code == 200
    assert refused_call.value.status is Status.UNAVAILABLE
    assert [r.status_code for r in responses] == [200] * IN_FLIGHT
    assert [r.message for r in replies] == [str(i) for i in range(IN_FLIGHT)]
    assert held.message == "held"
    assert held_response.status_code == 200
    # Both refusals come before either held piece of work (3 s) could have let a sequential
    # stop reach the second server.
    assert max(refused_at, connection_refused_at) < DRAIN_DELAY + 2.0
    assert child.returncode == 0
    # The measured timeline (docs/performance.md); shown with pytest -s.
    print(f"\nsigterm sent; exit seen after {elapsed:.3f} s\n{''.join(lines)}{rest.decode()}")  # noqa: T201


async def _until_connection_refused(client: httpx.AsyncClient, sent: float) -> float:
    """Seconds after ``sent`` when a new connection was first refused (uvicorn polls 0.1 s)."""
    for _ in range(100):
        try:
            await client.get("/ping")
        except httpx.ConnectError:
            return time.monotonic() - sent
        await asyncio.sleep(0.02)
    pytest.fail("the HTTP server kept accepting new connections after the drain ended")


async def _line_with(stream: asyncio.StreamReader, text: str, seen: list[str]) -> str:
    while True:
        line = (await asyncio.wait_for(stream.readline(), 20)).decode()
        seen.append(line)
        if not line:
            pytest.fail(f"the child ended before printing {text!r}; it printed:\n{''.join(seen)}")
        if text in line:
            return line
