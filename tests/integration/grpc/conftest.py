"""Shared helpers of the gRPC integration tests: servers on free loopback ports, clients."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from grpclib.client import Channel

from service_pkg.grpc import GrpcServer, GrpcServerConfig
from service_pkg.grpc._testing import ECHO_DESCRIPTORS, EchoService, EchoStub

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
GRPCIO_CLIENT = HERE / "grpcio_client.py"


def loopback(**fields: Any) -> GrpcServerConfig:
    """A config on 127.0.0.1 with a free port."""
    return GrpcServerConfig(host="127.0.0.1", port=0, **fields)


@asynccontextmanager
async def serving(
    service: EchoService | None = None, **config: Any
) -> AsyncIterator[tuple[GrpcServer, EchoStub, EchoService]]:
    """An Echo server on a free port and a grpclib stub calling it; both closed at exit."""
    service = service or EchoService()
    runtime = config.pop("runtime", None)
    access_stream = config.pop("access_stream", None)
    async with GrpcServer(
        [service],
        loopback(**config),
        runtime=runtime,
        descriptors=[ECHO_DESCRIPTORS],
        access_stream=access_stream or io.StringIO(),
    ) as server:
        channel = Channel("127.0.0.1", server.port)
        try:
            yield server, EchoStub(channel), service
        finally:
            channel.close()


def grpcio_env() -> dict[str, str]:
    """The environment the grpcio client child needs (the kit on its path)."""
    return dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}")


def grpcio_command(port: int, *args: str) -> list[str]:
    """The command line of the grpcio client child."""
    return [
        sys.executable,
        "-W",
        "error::DeprecationWarning",
        str(GRPCIO_CLIENT),
        str(port),
        *args,
    ]


async def grpcio(port: int, *args: str) -> list[dict[str, Any]]:
    """Run the grpcio client child; its JSON answers."""
    child = await asyncio.create_subprocess_exec(
        *grpcio_command(port, *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=grpcio_env(),
    )
    out, err = await asyncio.wait_for(child.communicate(), timeout=40)
    assert child.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]
