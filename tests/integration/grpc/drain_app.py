"""A service with real servers, run as a child process by the SIGTERM drain test.

``python drain_app.py DRAIN_DELAY GRACEFUL_TIMEOUT [KIND ...]`` where each KIND names a server
to host (``grpc``, ``http``; default ``grpc``). Every server is registered in ``SERVERS``: a
function that adds its component to the container and returns how to read its port. The
child prints, one per line, flushed:

* ``READY <kind>=<port> ...`` once the application runs;
* ``EVENT <seconds since readiness went false> <what>`` for readiness changes (the signal
  handler turns it false at once) and each component's stop: the measured drain timeline.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable

from dependency_injector import containers, providers

from service_pkg import Application, Component, Priority
from service_pkg.app import Runtime
from service_pkg.events import (
    ComponentStopped,
    ComponentStopping,
    DrainEnded,
    Event,
    ReadinessChanged,
)
from service_pkg.grpc import GrpcServerConfig, grpc_server
from service_pkg.grpc._testing import EchoService

PortOf = Callable[[containers.DynamicContainer], int]


def add_grpc(container: containers.DynamicContainer, graceful_timeout: float) -> PortOf:
    container.echo = providers.Object(EchoService())
    container.grpc = Component(
        grpc_server,
        providers.List(container.echo),
        container.runtime,
        GrpcServerConfig(
            host="127.0.0.1", port=0, graceful_timeout=graceful_timeout, access_log=False
        ),
        priority=Priority.HIGH,
    )
    return lambda c: int(c.grpc().port)


def add_http(container: containers.DynamicContainer, graceful_timeout: float) -> PortOf:
    from service_pkg.http import HttpServerConfig, http_server  # noqa: PLC0415 - http kind only
    from tests.integration.http.apps import build_app  # noqa: PLC0415

    container.web_app = providers.Singleton(build_app)
    container.http = Component(
        http_server,
        container.web_app,
        container.runtime,
        HttpServerConfig(host="127.0.0.1", port=0, graceful_timeout=graceful_timeout),
        priority=Priority.HIGH,
    )
    return lambda c: int(c.http().port)


SERVERS: dict[str, Callable[[containers.DynamicContainer, float], PortOf]] = {
    "grpc": add_grpc,
    "http": add_http,
}


def main(drain_delay: float, graceful_timeout: float, kinds: list[str]) -> int:
    container = containers.DynamicContainer()
    container.runtime = providers.Dependency(instance_of=Runtime)
    ports = {kind: SERVERS[kind](container, graceful_timeout) for kind in kinds}
    app = Application(container, drain_delay=drain_delay, shutdown_timeout=graceful_timeout + 10)
    signalled: list[float] = []

    def emit(what: str) -> None:
        since = time.monotonic() - signalled[0] if signalled else 0.0
        print(f"EVENT {since:.4f} {what}", flush=True)

    def on_event(event: Event) -> None:
        if isinstance(event, ReadinessChanged):
            if not event.ready and not signalled:
                signalled.append(time.monotonic())  # the signal handler flips it at once
            emit(f"ready={event.ready} cause={event.cause}")
        elif isinstance(event, ComponentStopping | ComponentStopped):
            emit(f"{type(event).__name__} {event.component}")
        elif isinstance(event, DrainEnded):
            emit("DrainEnded")

    app.subscribe(on_event, ReadinessChanged, DrainEnded, ComponentStopping, ComponentStopped)

    async def serve() -> int:
        async def announce() -> None:
            await app.readiness.wait_ready()
            shown = " ".join(f"{k}={port_of(container)}" for k, port_of in ports.items())
            print(f"READY {shown}", flush=True)

        announcer = asyncio.create_task(announce())
        try:
            return await app.serve()
        finally:
            announcer.cancel()

    code = asyncio.run(serve())
    emit("exit")
    return code


if __name__ == "__main__":
    raise SystemExit(main(float(sys.argv[1]), float(sys.argv[2]), sys.argv[3:] or ["grpc"]))
