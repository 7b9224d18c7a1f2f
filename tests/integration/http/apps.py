"""Litestar apps and a ``serve()`` helper shared by the HTTP integration tests."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from litestar import Litestar, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromQuery, JSONBody
from litestar.response import ServerSentEvent

from service_pkg.app import Runtime
from service_pkg.http import HttpPlugin, HttpServer, HttpServerConfig
from service_pkg.logs import get_correlation_id

__all__ = ("AccessLines", "build_app", "serve")


@get("/ping")
async def ping() -> str:
    return "pong"


@get("/cid")
async def cid() -> str:
    return str(get_correlation_id())


@get("/boom")
async def boom() -> str:
    raise ValueError("db password=hunter2 leaked into an error")


@get("/sleep")
async def sleep(seconds: FromQuery[float] = 0.2) -> str:
    await asyncio.sleep(seconds)
    return "slept"


@get("/count")
async def count(n: FromQuery[int]) -> dict[str, int]:
    return {"n": n}


@get("/private")
async def private() -> str:
    raise NotAuthorizedException("who are you")


@post("/echo")
async def echo(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return data


@get("/events")
async def events(n: FromQuery[int] = 3, gap: FromQuery[float] = 0.3) -> ServerSentEvent:
    async def generate() -> AsyncIterator[str]:
        for i in range(n):
            await asyncio.sleep(gap)
            yield f"event {i}"

    return ServerSentEvent(generate())


def build_app() -> Litestar:
    """The test app: the kit's plugin, handlers for every behaviour under test."""
    return Litestar([ping, cid, boom, sleep, count, private, echo, events], plugins=[HttpPlugin()])


class AccessLines(io.StringIO):
    """Captures access lines; :meth:`records` parses them."""

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.getvalue().splitlines() if line]


@contextlib.asynccontextmanager
async def serve(
    config: HttpServerConfig | None = None,
    *,
    runtime: Runtime | None = None,
    access: AccessLines | None = None,
    **kwargs: Any,
) -> AsyncIterator[tuple[HttpServer, httpx.AsyncClient]]:
    """Start the test app on a free loopback port and yield it with a client."""
    config = config or HttpServerConfig(host="127.0.0.1", port=0)
    server = HttpServer(build_app(), config, runtime=runtime, access_stream=access, **kwargs)
    async with server, httpx.AsyncClient(base_url=server.address, timeout=10) as client:
        yield server, client
