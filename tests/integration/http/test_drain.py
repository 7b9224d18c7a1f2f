"""SIGTERM to a real service process with 50 requests in flight: a graceful drain."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
DRAIN_DELAY = 1.0
GRACEFUL_TIMEOUT = 3.0
IN_FLIGHT = 50


def start_child() -> tuple[subprocess.Popen[str], dict[str, int]]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.http.drain_app",
            str(DRAIN_DELAY),
            str(GRACEFUL_TIMEOUT),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert child.stdout is not None
    seen = []
    for line in child.stdout:
        if line.startswith("READY "):
            return child, json.loads(line.removeprefix("READY "))
        seen.append(line)
    child.kill()
    output = "".join(seen[-20:])
    raise AssertionError(f"the child exited before READY (code {child.wait()}):\n{output}")


async def refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    await writer.wait_closed()
    return False


async def test_sigterm_drains_every_in_flight_request_and_exits_0() -> None:
    child, ports = start_child()
    port = ports["http"]
    base = f"http://127.0.0.1:{port}"
    limits = httpx.Limits(max_connections=IN_FLIGHT + 20, max_keepalive_connections=0)
    timeline: dict[str, float] = {}
    try:
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            assert (await client.get("/readyz")).status_code == 200
            in_flight = [
                asyncio.create_task(client.get("/sleep", params={"seconds": 0.2}))
                for _ in range(IN_FLIGHT)
            ]
            await asyncio.sleep(0.05)
            signalled = time.monotonic()
            child.send_signal(signal.SIGTERM)
            while (await client.get("/readyz")).status_code == 200:  # noqa: ASYNC110 - polls the child
                await asyncio.sleep(0.005)
            timeline["readyz_503"] = time.monotonic() - signalled
            # Still listening during the drain delay: a new request is served...
            served = await client.get("/ping")
            # ...and one that starts just before the listener closes finishes after it.
            await asyncio.sleep(max(0.0, DRAIN_DELAY - 0.15 - (time.monotonic() - signalled)))
            late = asyncio.create_task(client.get("/sleep", params={"seconds": 0.3}))
            responses = await asyncio.gather(*in_flight)
            while not await refused(port):  # noqa: ASYNC110 - polls the child's listener
                await asyncio.sleep(0.01)
            timeline["refused"] = time.monotonic() - signalled
            late_response = await late
        code = await asyncio.to_thread(child.wait, 30)
        timeline["exited"] = time.monotonic() - signalled
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    # The measured timeline for docs/performance.md (pytest -s shows it).
    print("drain timeline (s after SIGTERM):", json.dumps(timeline))  # noqa: T201
    assert [r.status_code for r in responses] == [200] * IN_FLIGHT
    assert served.status_code == 200
    assert late_response.status_code == 200
    assert timeline["refused"] >= DRAIN_DELAY - 0.05
    assert code == 0
    assert timeline["exited"] < DRAIN_DELAY + GRACEFUL_TIMEOUT + 10  # generous
